"""Handing out engines: a private sandbox per visitor, a warm pool, expiry, or a shared engine.

Only the worker calls this module (it needs root to make sandboxes); the web process reads the
Sandbox and RunnerStatus rows it writes.
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import secrets
import shutil
import socket
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.db.models import Q
from django.utils import timezone

from . import rows
from . import sandbox as engines
from .addresses import client_net, too_many_sandboxes
from .images import build_demo_images
from .models import Run, RunnerStatus, Sandbox
from .swarm import Ping, ping

log = logging.getLogger(__name__)
STARTING_TIMEOUT = 120  # a sandbox "starting" for longer than this was abandoned by a dead worker
# Disk a new sandbox needs (measured: about 125 MB, nearly all of it swarm's raft log, which
# preallocates 64 MB segments), and what a command that changes a swarm needs (task layers, logs).
SANDBOX_DISK_BYTES = 160 * 1024 * 1024
RUN_DISK_BYTES = 32 * 1024 * 1024


class EngineUnavailable(Exception):
    """No engine can be had for this run; the message says why, for people."""


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def check_engine() -> tuple[bool, str]:
    """Can runs execute here? Probed by the worker, recorded for the web process."""
    mode = settings.RUNNER_MODE
    if mode == "off":
        return False, "Running commands is switched off on this site."
    if mode == "shared":
        try:
            version = _shared_version()
        except Exception as exc:  # any failure to reach the engine is explained, not raised
            return False, (
                f"The shared engine at {settings.RUNNER_SHARED_DOCKER_HOST} does not answer "
                f"({exc.__class__.__name__}). Start Docker there, or fix DOCKER_HOST."
            )
        return True, f"Runs go to the shared, trusted engine (Docker {version})."
    return engines.engine_available(base_dir=settings.RUNNER_BASE_DIR)


def record_status() -> RunnerStatus:
    """Write the worker's heartbeat: whether it can run, and why not."""
    available, explanation = check_engine()
    status, _ = RunnerStatus.objects.update_or_create(
        pk=1,
        defaults={
            "available": available,
            "mode": settings.RUNNER_MODE,
            "explanation": explanation,
            "worker": worker_id(),
            "checked_at": timezone.now(),
        },
    )
    return status


def _shared_version() -> str:
    import docker

    client = docker.APIClient(base_url=settings.RUNNER_SHARED_DOCKER_HOST, timeout=5)
    try:
        return str(client.version()["Version"])
    finally:
        client.close()


def _answers(row: Sandbox) -> bool:
    """Does the sandbox's engine answer a ping? (It may have crashed or been killed.)"""
    return ping(row.docker_host)


def _images() -> list:
    return build_demo_images(out_dir=settings.RUNNER_IMAGES_DIR)


def _new_name() -> str:
    return "sbx-" + secrets.token_hex(3)


def _live() -> Q:
    return Q(status__in=[Sandbox.Status.STARTING, Sandbox.Status.READY])


def sandbox_limits() -> engines.SandboxLimits:
    """One sandbox's budget, however many nodes it has: CPU for its engines and tasks
    together, memory and processes for all its tasks (see runner.sandbox.SandboxLimits)."""
    return engines.SandboxLimits(
        memory_mb=settings.RUNNER_SANDBOX_MEMORY_MB,
        pids=settings.RUNNER_SANDBOX_PIDS,
        cpu_percent=settings.RUNNER_SANDBOX_CPU_PERCENT,
    )


def _start(row: Sandbox) -> Sandbox:
    """Start the engine for a row in STARTING; mark it READY or FAILED."""
    try:
        _check_disk()  # fail before anything is written, not half-way through
        engine = engines.start_sandbox(
            base_dir=settings.RUNNER_BASE_DIR,
            name=row.name,
            nodes=row.nodes,
            images=_images(),
            userns_remap=settings.RUNNER_USERNS_REMAP,
            limits=sandbox_limits(),
        )
        row.docker_host = engine.docker_host
        row.engine_version = engine.version()
    except Exception as exc:
        log.exception("sandbox %s failed to start", row.name)
        row.status = Sandbox.Status.FAILED
        row.error = str(exc)[:2000]
        row.removed_at = timezone.now()
        row.save(update_fields=["status", "error", "removed_at"])
        if _disk_full(exc):
            raise EngineUnavailable(
                "Your sandbox could not be started: the disk that holds the sandboxes is full, "
                "so nothing was run. Try again later; the site's operator can see this in the "
                "admin."
            ) from exc
        raise EngineUnavailable(
            "Your sandbox could not be started: the engine did not come up. Try again in a "
            "minute; if it keeps failing, the site's operator can see why in the admin."
        ) from exc
    now = timezone.now()
    row.status = Sandbox.Status.READY
    row.ready_at = now
    row.last_used_at = now
    row.save(update_fields=["status", "ready_at", "last_used_at", "docker_host", "engine_version"])
    return row


def free_disk() -> int:
    """Bytes free on the filesystem that holds the sandboxes."""
    path = Path(settings.RUNNER_BASE_DIR)
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def disk_full(*, needed: int = RUN_DISK_BYTES) -> bool:
    """Too little disk left under RUNNER_BASE_DIR for `needed` more bytes?"""
    return settings.RUNNER_MODE == "sandbox" and free_disk() < needed


def _check_disk() -> None:
    free = free_disk()
    if free < SANDBOX_DISK_BYTES:
        raise OSError(
            errno.ENOSPC,
            f"No space left on device for a new sandbox: {free // 2**20} MiB free under "
            f"{settings.RUNNER_BASE_DIR}, a sandbox needs about {SANDBOX_DISK_BYTES // 2**20} MiB",
        )


def _disk_full(exc: BaseException) -> bool:
    """Did starting fail for want of disk space (ours, or dockerd's as it reports it)?"""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno == errno.ENOSPC:
            return True
        if "no space left on device" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _shared_sandbox() -> Sandbox:
    row, _ = Sandbox.objects.get_or_create(
        name="shared",
        defaults={
            "shared": True,
            "status": Sandbox.Status.READY,
            "docker_host": settings.RUNNER_SHARED_DOCKER_HOST,
        },
    )
    if not row.engine_version:
        try:
            row.engine_version = _shared_version()
            row.save(update_fields=["engine_version"])
        except Exception as exc:
            raise EngineUnavailable(
                f"The shared engine at {row.docker_host} does not answer; start Docker there."
            ) from exc
    return row


@functools.cache
def _ready_sandbox_sql(alias: str) -> str:
    quote = connections[alias].ops.quote_name
    sandbox, run = Sandbox._meta, Run._meta
    visitor = quote(sandbox.get_field("visitor").column)
    return (
        f"SELECT {rows.columns(Sandbox, alias, table='s')} FROM {quote(sandbox.db_table)} s"  # noqa: S608
        f" JOIN {quote(run.db_table)} r"
        f" ON r.{quote(run.get_field('visitor').column)} = s.{visitor}"
        f" WHERE r.{quote(run.pk.column)} = %s AND s.{quote(sandbox.get_field('status').column)}"
        f" = %s ORDER BY s.{quote(sandbox.pk.column)} LIMIT 1"
    )


@dataclass
class PendingSandbox:
    """A visitor's ready sandbox whose engine was sent a ping that is not read yet."""

    sandbox: Sandbox
    ping: Ping

    def answers(self) -> bool:
        """Whether its engine answered the ping (read once); marks the sandbox used if so."""
        if not self.ping.answered():
            return False
        _touch(self.sandbox)
        return True

    def close(self) -> None:
        self.ping.close()


def ready_sandbox_for_run(run_id: int) -> PendingSandbox | None:
    """The sandbox of the run's visitor when it is ready, with a ping on its way to its
    engine: the worker claims the run while the engine answers, then reads the answer
    (``answers()``). Quick, in one query written once: it never starts, waits for or
    replaces a sandbox (sandbox_for does)."""
    if settings.RUNNER_MODE != "sandbox":
        return None
    alias = Sandbox.objects.db
    found = rows.fetch(
        Sandbox, _ready_sandbox_sql(alias), [run_id, Sandbox.Status.READY], using=alias
    )
    mine = found[0] if found else None
    if mine is None or not mine.visitor:
        return None
    return PendingSandbox(mine, Ping(mine.docker_host))


def sandbox_for(visitor: str, *, nodes: int | None = None, wait: float = 60) -> Sandbox:
    """The visitor's ready engine: theirs, a pooled one, or a new one. Raises EngineUnavailable."""
    if settings.RUNNER_MODE == "off":
        raise EngineUnavailable("Running commands is switched off on this site.")
    if settings.RUNNER_MODE == "shared":
        return _shared_sandbox()
    wanted_nodes = nodes or settings.RUNNER_NODES
    if not 1 <= wanted_nodes <= settings.RUNNER_MAX_NODES:
        raise EngineUnavailable(
            f"A sandbox has between 1 and {settings.RUNNER_MAX_NODES} nodes here, "
            f"not {wanted_nodes}."
        )
    deadline = time.monotonic() + wait
    while True:
        mine = Sandbox.objects.filter(_live(), visitor=visitor).first()
        if mine is not None and mine.status == Sandbox.Status.READY:
            if _answers(mine):
                _touch(mine)
                return mine
            _forget(mine, error="The engine had stopped; a fresh sandbox replaces it.")
            continue
        if mine is not None:  # another worker is starting it for this visitor: wait for it
            if time.monotonic() > deadline:
                raise EngineUnavailable("Your sandbox is still starting; try again in a moment.")
            time.sleep(0.2)
            continue
        address = _asking_address(visitor)  # a new sandbox for them: capped per address too
        claimed = _claim_from_pool(visitor, wanted_nodes, address)
        if claimed is not None:
            return claimed
        row = _reserve(visitor, wanted_nodes, address)
        if row is None:
            continue  # lost a race with another worker for this visitor
        return _start(row)


def stop_worker(row: Sandbox, index: int) -> None:
    """Kill a worker node of a visitor's sandbox outright, as a failed machine would stop."""
    engines.stop_node(engines.load_sandbox(row.name, base_dir=settings.RUNNER_BASE_DIR), index)


def start_worker(row: Sandbox, index: int) -> None:
    """Restart a stopped worker node; it rejoins the swarm from its saved state."""
    engines.start_node(engines.load_sandbox(row.name, base_dir=settings.RUNNER_BASE_DIR), index)


# Idle TTLs are counted in minutes: a sandbox used this recently needs no new "last used" write
# before every run (each run also writes it when it ends).
TOUCH_SECONDS = 60


def _touch(row: Sandbox) -> None:
    now = timezone.now()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > TOUCH_SECONDS:
        Sandbox.objects.filter(pk=row.pk).update(last_used_at=now)
        row.last_used_at = now


def _asking_address(visitor: str) -> str | None:
    """The network address of the visitor's run this worker is carrying out (claimed, so
    running; a visitor's runs go one at a time), which a sandbox started for it belongs to;
    None when there is none (a sandbox asked for outside a run)."""
    running = Run.objects.filter(visitor=visitor, status=Run.Status.RUNNING).order_by("-id")
    return running.values_list("remote_addr", flat=True).first()


# Any number of our own, shared by every process: pg_advisory_xact_lock takes a 64-bit key.
RESERVATION_LOCK = 0x636E_7362  # "cnsb"


def _one_reservation_at_a_time() -> None:
    """Within a transaction, wait until no other process is between counting live sandboxes
    and adding one, so the limits (per address, site-wide) hold however many workers start
    sandboxes at once. SQLite's IMMEDIATE transactions already write one at a time; on
    PostgreSQL (read committed) two could both count 2 of 3 and both add one, hence the lock,
    released at commit."""
    connection = connections[Sandbox.objects.db]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [RESERVATION_LOCK])


def _check_address(address: str | None) -> None:
    """Refuse a new sandbox to an address with RUNNER_SANDBOXES_PER_ADDRESS live ones already
    (the web process refuses the run first, runs._check_rate; this holds against races)."""
    if address is None:
        return
    net = client_net(address)  # an IPv6 client's whole /64 counts as one
    live = Sandbox.objects.filter(_live(), client_net=net, shared=False).count()
    if live >= settings.RUNNER_SANDBOXES_PER_ADDRESS:
        raise EngineUnavailable(too_many_sandboxes(live))


def _claim_from_pool(visitor: str, nodes: int, address: str | None = None) -> Sandbox | None:
    """Hand a warm pooled sandbox over to the visitor, as theirs and their address's."""
    with transaction.atomic():
        _one_reservation_at_a_time()
        _check_address(address)
        pooled = (
            Sandbox.objects.select_for_update(skip_locked=True)
            .filter(visitor="", status=Sandbox.Status.READY, shared=False, nodes=nodes)
            .order_by("created_at")
            .first()
        )
        if pooled is None:
            return None
        pooled.visitor = visitor
        pooled.remote_addr = address
        pooled.last_used_at = timezone.now()
        pooled.save(update_fields=["visitor", "remote_addr", "last_used_at"])
    if not _answers(pooled):
        _forget(pooled, error="A pooled engine had stopped.")
        return None
    return pooled


def _reserve(visitor: str, nodes: int, address: str | None = None) -> Sandbox | None:
    """Create the STARTING row that reserves a sandbox, within the site-wide limit and the
    limit per address (RUNNER_SANDBOXES_PER_ADDRESS)."""
    try:
        with transaction.atomic():
            _one_reservation_at_a_time()
            _check_address(address)
            live = Sandbox.objects.filter(_live(), shared=False).count()
            if live >= settings.RUNNER_MAX_SANDBOXES:
                raise EngineUnavailable(
                    f"All {settings.RUNNER_MAX_SANDBOXES} sandboxes are in use right now; "
                    "try again in a few minutes (idle ones expire after "
                    f"{settings.RUNNER_IDLE_TTL // 60} minutes)."
                )
            return Sandbox.objects.create(
                name=_new_name(), visitor=visitor, nodes=nodes, remote_addr=address
            )
    except IntegrityError:
        return None


def _forget(row: Sandbox, *, error: str = "") -> None:
    """Tear down a sandbox's engine and mark its row removed. Why is written first, with
    "stopping": a run that loses its engine meanwhile reads it there (runs._removed_meanwhile)."""
    Sandbox.objects.filter(pk=row.pk).update(status=Sandbox.Status.STOPPING, error=error)
    try:
        engines.stop_sandbox(row.name, base_dir=settings.RUNNER_BASE_DIR)
    except Exception:
        log.exception("stopping sandbox %s failed; the reaper will try again", row.name)
        return
    Sandbox.objects.filter(pk=row.pk).update(status=Sandbox.Status.GONE, removed_at=timezone.now())


RESET_ERROR = "Reset by its visitor."  # a reset sandbox's error; runs it cut short say so


def reset(visitor: str) -> int:
    """Tear down every sandbox of the visitor; the next run starts a fresh one."""
    theirs = list(Sandbox.objects.filter(_live(), visitor=visitor, shared=False))
    for row in theirs:
        _forget(row, error=RESET_ERROR)
    return len(theirs)


def stop_all(*, error: str) -> tuple[int, list[str]]:
    """Tear down every live private sandbox (visitors' and the pool's), giving ``error`` as
    the reason; returns how many were removed and the names of those that could not be (the
    reaper tries them again)."""
    rows = list(Sandbox.objects.filter(_live(), shared=False).order_by("pk"))
    for row in rows:
        _forget(row, error=error)
    left = Sandbox.objects.filter(pk__in=[row.pk for row in rows]).exclude(
        status=Sandbox.Status.GONE
    )
    names = list(left.values_list("name", flat=True))
    return len(rows) - len(names), names


def reap() -> list[str]:
    """Remove expired sandboxes, abandoned starts, and any engine on disk with no live row."""
    now = timezone.now()
    removed: list[str] = []
    idle_cutoff = now - timedelta(seconds=settings.RUNNER_IDLE_TTL)
    hard_cutoff = now - timedelta(seconds=settings.RUNNER_HARD_TTL)
    expired = Sandbox.objects.filter(shared=False).filter(
        Q(status=Sandbox.Status.READY, last_used_at__lt=idle_cutoff, visitor__gt="")
        | Q(status=Sandbox.Status.READY, created_at__lt=hard_cutoff)
        | Q(
            status=Sandbox.Status.STARTING, created_at__lt=now - timedelta(seconds=STARTING_TIMEOUT)
        )
        | Q(status=Sandbox.Status.STOPPING)
    )
    for row in expired:
        # A teardown that failed half-way is tried again, for the reason it was started for.
        stuck = row.status == Sandbox.Status.STOPPING and row.error
        _forget(row, error=row.error if stuck else Sandbox.EXPIRED)
        removed.append(row.name)
    if settings.RUNNER_MODE == "sandbox":
        keep = set(Sandbox.objects.filter(_live(), shared=False).values_list("name", flat=True))
        removed += engines.reap_sandboxes(base_dir=settings.RUNNER_BASE_DIR, keep=keep)
    return removed


def fill_pool() -> int:
    """Start pooled sandboxes until the warm pool holds RUNNER_POOL_SIZE; returns how many."""
    if settings.RUNNER_MODE != "sandbox":
        return 0
    started = 0
    while True:
        with transaction.atomic():
            _one_reservation_at_a_time()
            pooled = Sandbox.objects.filter(_live(), visitor="", shared=False).count()
            live = Sandbox.objects.filter(_live(), shared=False).count()
            if pooled >= settings.RUNNER_POOL_SIZE or live >= settings.RUNNER_MAX_SANDBOXES:
                return started
            row = Sandbox.objects.create(name=_new_name(), visitor="", nodes=settings.RUNNER_NODES)
        try:
            _start(row)
        except EngineUnavailable:
            return started
        started += 1
