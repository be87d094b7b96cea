"""Waking the task worker the moment work is queued, instead of at its next poll.

The database queue is polled (``run_worker --interval``); a short interval makes runs start
sooner but takes SQLite's write lock many times a second for nothing. So every worker also
listens on a Unix datagram socket in ``RUNNER_WAKEUP_DIR`` (one per worker process), and every
enqueue, once its transaction commits, sends each of them one byte. A worker then polls at
once. A lost or refused wake-up costs nothing but the wait for the next poll, so the poll
stays the guarantee and this is only a shortcut: it works where web and worker share a
machine (as with ``make run``); across machines the interval alone applies.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import select
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from .processes import worker_alive

log = logging.getLogger(__name__)
SUFFIX = ".sock"


def wakeup_dir() -> Path:
    return Path(settings.RUNNER_WAKEUP_DIR)


def listening(directory: Path | None = None) -> Iterator[tuple[Path, int]]:
    """The workers' wake-up sockets in ``directory`` (default: RUNNER_WAKEUP_DIR), with the
    pid each is named for. Raises OSError if the directory cannot be read."""
    for path in (directory or wakeup_dir()).glob(f"worker-*{SUFFIX}"):
        pid = path.name.removeprefix("worker-").removesuffix(SUFFIX)
        if pid.isdigit():
            yield path, int(pid)


def others_alive() -> bool:
    """Is a worker other than this process listening here, and alive?"""
    try:
        return any(pid != os.getpid() and worker_alive(pid) for _, pid in listening())
    except OSError:
        return False


def wake_workers() -> int:
    """Send every listening worker a wake-up; returns how many got one. Never raises."""
    try:
        paths = [p for p in wakeup_dir().iterdir() if p.name.endswith(SUFFIX)]
    except OSError:
        return 0
    woken = 0
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        for path in paths:
            try:
                sock.sendto(b"!", str(path))
                woken += 1
            except OSError as exc:  # gone, not listening, or its queue is full (awake anyway)
                if exc.errno not in {errno.ENOENT, errno.ECONNREFUSED, errno.EAGAIN}:
                    log.info("could not wake the worker at %s: %s", path, exc)
    return woken


def on_task_enqueued(sender: Any, **kwargs: Any) -> None:
    """django-tasks' task_enqueued signal: wake the workers once the task row is committed."""
    transaction.on_commit(wake_workers)


class Alarm:
    """A worker's end: ``wait(timeout)`` sleeps until a wake-up arrives or the timeout passes."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or wakeup_dir()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / f"worker-{os.getpid()}{SUFFIX}"
        self._remove_stale()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self.sock.bind(str(self.path))
        # The web process may run as another user; a wake-up only makes the worker poll now.
        self.path.chmod(0o666)

    def _remove_stale(self) -> None:
        """Sockets of workers that died without closing: nobody answers on them."""
        for path, pid in listening(self.directory):
            if not worker_alive(pid):
                with contextlib.suppress(OSError):
                    path.unlink()

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds; True if woken. Wake-ups sent meanwhile all count
        as this one (they are drained), since one poll serves them all."""
        ready, _, _ = select.select([self.sock], [], [], timeout)
        while ready:
            try:
                self.sock.recv(64)
            except BlockingIOError:
                break
        return bool(ready)

    def close(self) -> None:
        self.sock.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def __enter__(self) -> Alarm:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
