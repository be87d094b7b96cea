"""The worker's side of the swarm picture: read a sandbox's swarm and keep it in the database.

The web process never talks to an engine; it draws what this module stores: the latest picture
on the Sandbox (rewritten while a run is in flight), a before/after snapshot on each Run, and a
Run's structured progress while it converges.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.utils import timezone

from .models import Run, Sandbox
from .picture import picture_to_data, progress_of
from .swarm import SwarmPicture, read_swarm

log = logging.getLogger(__name__)
REFRESH_SECONDS = 2.0  # rewrite an unchanged picture this often, so "read at" stays honest


def read(sandbox: Sandbox) -> SwarmPicture | None:
    """The sandbox's swarm now, or None when it cannot be read (no swarm, engine gone)."""
    try:
        return read_swarm(sandbox.docker_host, timeout=5)
    except Exception as exc:
        log.info("could not read the swarm of %s: %s", sandbox.name, exc.__class__.__name__)
        return None


def store(sandbox: Sandbox, picture: SwarmPicture) -> dict:
    """Keep a picture as the sandbox's latest; returns its data (for a run's snapshot)."""
    data = picture_to_data(picture, at=timezone.now())
    Sandbox.objects.filter(pk=sandbox.pk).update(picture=data)
    sandbox.picture = data
    return data


def record(sandbox: Sandbox) -> dict | None:
    """Read and store the sandbox's picture; None when it cannot be read."""
    picture = read(sandbox)
    return None if picture is None else store(sandbox, picture)


class Tracker:
    """Stores the pictures a waiting loop reads: when they change, and every few seconds."""

    def __init__(self, run: Run, sandbox: Sandbox, *, service: str, kind: str) -> None:
        self.run, self.sandbox, self.service, self.kind = run, sandbox, service, kind
        self._last: dict | None = None
        self._stored_at = 0.0

    def __call__(self, picture: SwarmPicture) -> None:
        data = picture_to_data(picture, at=timezone.now())
        unchanged = self._last is not None and _same(data, self._last)
        if unchanged and time.monotonic() - self._stored_at < REFRESH_SECONDS:
            return
        self._last, self._stored_at = data, time.monotonic()
        Sandbox.objects.filter(pk=self.sandbox.pk).update(picture=data)
        self.sandbox.picture = data
        progress = progress_of(picture, self.service, kind=self.kind, at=timezone.now()).to_data()
        if _same(progress, self.run.progress or {}):
            return
        self.run.progress = progress
        Run.objects.filter(pk=self.run.pk).update(progress=progress)


def wait(
    sandbox: Sandbox,
    *,
    done: Callable[[SwarmPicture], bool],
    seconds: float,
    on_read: Callable[[SwarmPicture], None] | None = None,
    interval: float = 0.5,
) -> SwarmPicture | None:
    """Read the swarm until done(picture) or the time is up; the last picture read, or None
    when the engine stopped answering."""
    deadline = time.monotonic() + seconds
    picture = None
    while True:
        picture = read(sandbox)
        if picture is None:
            return None
        if on_read is not None:
            on_read(picture)
        if done(picture) or time.monotonic() > deadline:
            return picture
        time.sleep(interval)


def kind_of(argv: list[str]) -> str:
    """The kind of progress a command shows: a rolling update, a rollback, or converging."""
    words = [a for a in argv[1:4] if not a.startswith("-")]
    if words[:2] == ["service", "update"]:
        return "update"
    if words[:2] == ["service", "rollback"]:
        return "rollback"
    return "converge"


def _same(a: dict, b: dict) -> bool:
    return {k: v for k, v in a.items() if k != "at"} == {k: v for k, v in b.items() if k != "at"}
