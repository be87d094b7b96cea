"""Asking for runs and carrying them out: the write side of the runner.

``request_runs`` runs in the web process: it checks permission-independent limits, asks the
policy about each line, records every run (refused ones too, for the audit trail) and queues
the allowed ones. ``execute_runs`` runs in the worker: it gets the visitor's sandbox, executes
the policy's argv with the real docker CLI, and waits (bounded) for the swarm to converge.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import (
    DatabaseError,
    OperationalError,
    connection,
    connections,
    models,
    router,
    transaction,
)
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from talks.models import SnippetLine

from . import provider, rows, snapshots
from .addresses import client_net, too_many_sandboxes
from .execute import run_docker
from .models import Run, Sandbox
from .picture import (
    PAUSED,
    TERMINAL,
    UPDATING,
    newest_error,
    news,
    node_settled,
    picture_from_data,
    removed_tasks_gone,
    settled,
    still_moving,
    stuck_tasks,
    summary,
    task_failure,
    update_words,
)
from .policy import Decision, PolicyLimits, check_command
from .processes import worker_alive
from .swarm import SwarmPicture, read_swarm

log = logging.getLogger(__name__)
CONVERGING = {"service create", "service scale", "service update", "service rollback"}
# Commands after which the swarm moves tasks on its own: wait for it to settle, then snapshot.
SETTLING = {"node update", "service rm"}
SETTLE_SECONDS = 30
# What a block's lines after one that failed or was refused say: like a notebook, it stops there.
SKIPPED = "Skipped: an earlier line of this block did not succeed."
DISK_FULL = (
    "The disk that holds the sandboxes is full, so this command was not run (it would hang "
    "waiting for space). Commands that only read, such as `docker service ls`, still work; try "
    "again later."
)
# Commands that only read the swarm (no "before" snapshot is kept for them).
READ_ONLY = frozenset(
    {"service ls", "service ps", "service inspect", "service logs"}
    | {"node ls", "node ps", "node inspect"}
)


class RunRefused(Exception):
    """The request as a whole is refused (rate limit, quota); ``status`` is the HTTP status."""

    def __init__(self, message: str, *, status: int = 429) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Visitor:
    key: str
    user_id: int | None
    remote_addr: str | None

    @property
    def net(self) -> str | None:
        """What the per-address limits count for this visitor (runner.addresses.client_net)."""
        return client_net(self.remote_addr)


def limits() -> PolicyLimits:
    return PolicyLimits(max_replicas=settings.RUNNER_MAX_REPLICAS)


def owner_label(visitor_key: str) -> str:
    """The owner label's value: a digest of the visitor's key, not part of the key itself
    (every Executed: line on the shared day page shows it)."""
    return "v-" + hashlib.sha256(f"confnotes-owner:{visitor_key}".encode()).hexdigest()[:16]


def decide(line: str, visitor_key: str) -> Decision:
    return check_command(line, owner=owner_label(visitor_key), limits=limits())


def refusals(commands: Sequence[str]) -> list[tuple[str, str]]:
    """The commands the policy would refuse, each with the reason Run would give: for
    editors, before anyone presses Run (the import preview, the snippet admin)."""
    owner, bounds = owner_label("editor-check"), limits()  # whose does not change a reason
    decisions = (check_command(command, owner=owner, limits=bounds) for command in commands)
    return [(decision.line, decision.reason) for decision in decisions if not decision.allowed]


@functools.cache
def _rate_sql(alias: str) -> str:
    """The three counts behind the rate limits in one query, written once per database: the
    visitor's and the address's runs of the last minute, and the visitor's runs in flight.
    Each is an index range (run_visitor_recent, run_net_recent, run_visitor_status), so the
    check costs the same however many runs a visitor has made before."""
    quote = connections[alias].ops.quote_name
    column = {name: quote(Run._meta.get_field(name).column) for name in RATE_FIELDS}
    visitor, addr, created, status = (column[name] for name in RATE_FIELDS)
    count = f"SELECT COUNT(*) FROM {quote(Run._meta.db_table)} WHERE"  # noqa: S608
    return (
        f"SELECT ({count} {visitor} = %s AND {created} >= %s),"
        f" ({count} {addr} = %s AND {created} >= %s),"
        f" ({count} {visitor} = %s AND {status} IN (%s, %s))"
    )


RATE_FIELDS = ("visitor", "client_net", "created_at", "status")


@functools.cache
def _address_sql(alias: str) -> str:
    """The counts behind the per-address limits, which follow the rate counts (``_rate_sql``)
    in the same query: the address's runs in flight, the address's live sandboxes, and the
    visitor's own live sandboxes (one at most). Index ranges too (run_net_status,
    sandbox_net_status, the sandbox's visitor index)."""
    quote = connections[alias].ops.quote_name
    run, sandbox = Run._meta, Sandbox._meta
    count = "SELECT COUNT(*) FROM {} WHERE {} = %s AND {} IN (%s, %s)"

    def counted(meta, field: str) -> str:
        column = quote(meta.get_field(field).column)
        return count.format(quote(meta.db_table), column, quote(meta.get_field("status").column))

    return (
        f", ({counted(run, 'client_net')}), ({counted(sandbox, 'client_net')}),"
        f" ({counted(sandbox, 'visitor')})"
    )


# What one network address may have, as a multiple of a visitor's limits (runs a minute, runs
# in flight): a few visitors may share an address, but a client dropping its cookie gets no more.
PER_ADDRESS = 3


# Any number of our own, shared by every process: pg_advisory_xact_lock takes a 64-bit key.
REQUEST_LOCK = 0x636E_7271  # "cnrq"


def _one_request_at_a_time() -> None:
    """Within a transaction, wait until no other process is between counting a visitor's runs
    and adding theirs, so the limits hold however many requests arrive at once. SQLite's
    IMMEDIATE transactions already write one at a time; on PostgreSQL (read committed) two
    could both count 7 of 8 and both add one, hence the lock, released at commit (a few
    milliseconds: one count and the inserts)."""
    connection = connections[Run.objects.db]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [REQUEST_LOCK])


def _check_rate(visitor: Visitor, wanted: int) -> None:
    """Per-visitor and per-address limits, counted in the database (one query) so every
    process sees the same numbers.

    A request of ``wanted`` runs fits a limit when the runs already counted plus ``wanted``
    stay within it. A block's Run all is one job that one worker runs line after line, so
    a block longer than a limit is not refused for its length alone: it fits when nothing
    else counts against that limit (no run in flight for the in-flight limits, none in the
    last minute for the rates). Otherwise the message says why, and what to do.

    A visitor is a cookie the client may drop, so the address (runner.addresses; an IPv6
    client's /64, which it may draw new addresses from at will) has limits of its own:
    ``PER_ADDRESS`` times a visitor's runs a minute and runs in flight, and, for a visitor
    who has no sandbox yet (so would get a new one), RUNNER_SANDBOXES_PER_ADDRESS live
    sandboxes. A visitor whose address is unknown is held
    by their own limits only."""
    connection = connections[Run.objects.db]
    ops = connection.ops
    since = ops.adapt_datetimefield_value(timezone.now() - timedelta(seconds=60))
    addr = visitor.net  # None matches no row
    key = visitor.key
    live = (Sandbox.Status.STARTING, Sandbox.Status.READY)
    rate = [key, since, addr, since, key, *Run.IN_FLIGHT]
    with connection.cursor() as cursor:
        cursor.execute(
            _rate_sql(connection.alias) + _address_sql(connection.alias),
            [*rate, addr, *Run.IN_FLIGHT, addr, *live, key, *live],
        )
        recent, from_addr, in_flight, addr_in_flight, addr_sandboxes, own_sandboxes = (
            cursor.fetchone()
        )
    per_minute = settings.RUNNER_RATE_PER_MINUTE
    most = settings.RUNNER_MAX_IN_FLIGHT
    if _over(recent, wanted, per_minute):
        if wanted > per_minute > 0:
            raise RunRefused(
                f"This block has {wanted} lines, more than the {per_minute} runs a minute a "
                f"visitor may start, so Run all starts it only when you have started no other "
                f"run in the last minute ({_runs(recent)} so far). Wait a minute and press Run "
                "all again."
            )
        raise RunRefused(
            f"Too many runs: at most {per_minute} a minute per visitor. Wait a minute and try "
            "again."
        )
    if _over(from_addr, wanted, PER_ADDRESS * per_minute):
        raise RunRefused("Too many runs from your network address; wait a minute and try again.")
    if _over(in_flight, wanted, most):
        if wanted > most > 0:
            raise RunRefused(
                f"This block has {wanted} lines, more than the {most} runs you may have waiting "
                f"at once, so Run all starts it only when none of yours is waiting or running; "
                f"you have {_runs(in_flight)} waiting or running. Let them finish, then press "
                "Run all again."
            )
        raise RunRefused(
            f"You already have {_runs(in_flight)} waiting or running (at most {most} at "
            "once); let them finish first."
        )
    most_from_addr = PER_ADDRESS * most
    if _over(addr_in_flight, wanted, most_from_addr):
        if wanted > most_from_addr > 0:
            raise RunRefused(
                f"This block has {wanted} lines, more than the {most_from_addr} runs one network "
                "address may have waiting at once, so Run all starts it only when none from "
                f"your address is waiting or running; your address has {_runs(addr_in_flight)} "
                "waiting or running. Let them finish, then press Run all again."
            )
        raise RunRefused(
            f"Too many runs waiting or running from your network address ({addr_in_flight}, "
            f"at most {most_from_addr} at once); let them finish first."
        )
    if (
        settings.RUNNER_MODE == "sandbox"
        and addr is not None
        and not own_sandboxes
        and addr_sandboxes >= settings.RUNNER_SANDBOXES_PER_ADDRESS
    ):
        raise RunRefused(too_many_sandboxes(addr_sandboxes))


def _over(counted: int, wanted: int, limit: int) -> bool:
    """Would ``wanted`` more runs break the limit? A request larger than the limit by itself
    (a long block, run as one job in order) fits when nothing else is counted; a limit of 0
    allows nothing."""
    return counted + wanted > limit and not (wanted > limit > 0 and counted == 0)


def _runs(count: int) -> str:
    return f"{count} run{'s' if count != 1 else ''}"


def request_runs(*, lines: Sequence[SnippetLine], visitor: Visitor) -> list[Run]:
    """Record one run per line, in order, and queue the allowed ones as one job. A line the
    policy refuses ends the block there, as a line that fails does (execute_runs): the lines
    after it are skipped, not run after it.

    Raises RunRefused when a limit forbids the whole request; then nothing is written.
    """
    from .tasks import execute_runs

    batch = secrets.token_hex(8) if len(lines) > 1 else ""
    now = timezone.now()
    runs: list[Run] = []
    with transaction.atomic():
        # Counted and written in one transaction, one request at a time: counted apart, 20
        # requests sent at once all found 0 runs in flight and all went in (limit 8).
        _one_request_at_a_time()
        _check_rate(visitor, len(lines))
        for line in lines:
            run = Run(
                snippet_line=line,
                batch=batch,
                visitor=visitor.key,
                user_id=visitor.user_id,
                remote_addr=visitor.remote_addr,
                line=line.command,
                created_at=now,
            )
            if runs and runs[-1].status in {Run.Status.REFUSED, Run.Status.SKIPPED}:
                run.status, run.reason, run.finished_at = Run.Status.SKIPPED, SKIPPED, now
            elif (decision := decide(line.command, visitor.key)).allowed:
                run.argv = list(decision.argv)
                run.note = decision.note
            else:
                run.status = Run.Status.REFUSED
                run.reason = decision.reason
                run.finished_at = now
            rows.insert(run, using=router.db_for_write(Run))  # save() with less to build
            runs.append(run)
        queued = [run.pk for run in runs if run.status == Run.Status.QUEUED]
        if queued and isinstance(execute_runs.get_backend(), DatabaseBackend):
            execute_runs.enqueue(run_ids=queued)  # the task row commits with the runs
        elif queued:  # a backend that runs the task at once must not run it in here
            transaction.on_commit(lambda: execute_runs.enqueue(run_ids=queued))
    return runs


def _claim(run: Run) -> bool:
    """Move a queued run to running; False if someone else took or closed it."""
    claimed = _claim_queued(run.pk, None)
    if claimed is None and _wait_for_turn(run.pk):  # after the visitor's earlier runs
        claimed = _claim_queued(run.pk, None)
    if claimed is None:
        run.refresh_from_db()
        return False
    run.status, run.started_at, run.worker = claimed.status, claimed.started_at, claimed.worker
    return True


@functools.cache
def _claim_queued_sql(alias: str) -> str:
    """Claim a queued run, but only in its turn: while an earlier run of the same visitor is
    queued or running (another worker has it), nothing is claimed. So one visitor's runs go
    in the order asked for, however many workers there are."""
    quote = connections[alias].ops.quote_name
    column = {field.name: quote(field.column) for field in Run._meta.concrete_fields}
    status, version, table = column["status"], column["engine_version"], quote(Run._meta.db_table)
    earlier = (
        f"SELECT 1 FROM {table} earlier WHERE earlier.{column['visitor']} = {table}."  # noqa: S608
        f"{column['visitor']} AND earlier.{column['id']} < {table}.{column['id']}"
        f" AND earlier.{status} IN (%s, %s)"
    )
    return (
        f"UPDATE {table} SET {status} = %s,"  # noqa: S608
        f" {column['started_at']} = %s, {column['worker']} = %s, {column['sandbox']} = %s,"
        f" {version} = COALESCE(%s, {version}) WHERE {column['id']} = %s AND {status} = %s"
        f" AND NOT EXISTS ({earlier}) RETURNING {rows.columns(Run, alias)}"
    )


def _claim_queued(pk: int, sandbox: Sandbox | None) -> Run | None:
    """``_claim`` for a run known by its id, in ``sandbox`` if it is known already: one
    statement that claims it and returns it (None if someone else took or closed it). It is
    on the way of every run, where loading, then claiming, then saving the sandbox were
    three queries (bench/bench_runner.py)."""
    connection = connections[Run.objects.db]
    ops = connection.ops
    now = timezone.now()
    params = [
        Run.Status.RUNNING,
        ops.adapt_datetimefield_value(now),
        provider.worker_id(),
        sandbox.pk if sandbox else None,
        sandbox.engine_version if sandbox else None,
        pk,
        Run.Status.QUEUED,
        *Run.IN_FLIGHT,
    ]
    claimed = rows.fetch(Run, _claim_queued_sql(connection.alias), params, using=connection.alias)
    if not claimed:
        return None
    run = claimed[0]
    run.started_at = now  # as written, not as read back (SQLite keeps no time zone)
    if sandbox is not None:
        run.sandbox = sandbox
    return run


# How long a run waits for the visitor's earlier runs (taken by other workers) at most; a run
# left queued longer than recover_stuck_runs allows is closed by the housekeeping before that.
TURN_WAIT_SECONDS = 15 * 60
TURN_POLL_SECONDS = 0.2


def _wait_for_turn(pk: int) -> bool:
    """Wait while an earlier run of the same visitor is in flight (another worker has it);
    True once this run, still queued, may go; False when it was taken, closed or deleted."""
    visitor = Run.objects.filter(pk=pk).values("visitor")[:1]
    deadline = time.monotonic() + TURN_WAIT_SECONDS
    while time.monotonic() < deadline:
        if not Run.objects.filter(pk=pk, status=Run.Status.QUEUED).exists():
            return False
        earlier = Run.objects.filter(visitor=visitor, pk__lt=pk, status__in=Run.IN_FLIGHT)
        if not earlier.exists():
            return True
        time.sleep(TURN_POLL_SECONDS)
    return False


# A run's final status and output must survive a database that is busy past its own timeout
# (SQLite) or briefly unreachable (PostgreSQL restarting): keep trying this long.
SAVE_RETRY_SECONDS = 60.0


def _retrying(write: Callable[[], object]) -> None:
    """Do a database write, retrying on OperationalError (outside transactions) for a while."""
    deadline = time.monotonic() + SAVE_RETRY_SECONDS
    delay = 0.1
    while True:
        try:
            write()
            return
        except OperationalError as exc:
            if connection.in_atomic_block or time.monotonic() + delay > deadline:
                raise
            log.warning("database unavailable (%s); retrying in %.1f s", exc, delay)
            connection.close()  # a broken connection is replaced by the next query
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def _finish(run: Run, status: str, *, reason: str = "", picture_later: bool = False, **fields):
    """Save the run's end. The "after" picture of the swarm is read first, so it is there
    with the result; ``picture_later`` (for commands that only read, which change nothing)
    saves the result first and adds the picture a moment later, as it costs a swarm read."""
    wants_picture = run.exit_code is not None and run.sandbox is not None and run.snapshot is None
    if wants_picture and not picture_later:
        run.snapshot = _after_picture(run)
    run.status = status
    run.reason = reason or run.reason
    run.finished_at = timezone.now()
    for name, value in fields.items():
        setattr(run, name, value)
    _retrying(run.save)
    if wants_picture and picture_later:
        run.snapshot = _after_picture(run)
        if run.snapshot is not None:
            _retrying(lambda: run.save(update_fields=["snapshot"]))


def _after_picture(run: Run) -> dict | None:
    try:
        return snapshots.record(run.sandbox)
    except DatabaseError:
        log.warning("run %s: its after-picture was not stored", run.pk, exc_info=True)
        return None


def execute_run(run: Run, sandbox: Sandbox | None = None) -> bool:
    """Carry out a claimed run (in ``sandbox`` when it was ready); True when it succeeded."""
    decision = decide(run.line, run.visitor)
    if not decision.allowed or list(decision.argv) != list(run.argv):
        # The policy changed between queueing and running: the stricter answer wins.
        _finish(run, Run.Status.REFUSED, reason=decision.reason or "The policy changed; not run.")
        return False
    if sandbox is None:  # none yet, or it stopped answering: a pooled, new or fresh one
        try:
            sandbox = provider.sandbox_for(run.visitor)
        except provider.EngineUnavailable as exc:
            _finish(run, Run.Status.ENGINE_UNAVAILABLE, reason=str(exc))
            return False
        run.sandbox = sandbox
        run.engine_version = sandbox.engine_version
        run.save(update_fields=["sandbox", "engine_version"])
    quota = _quota_problem(decision, sandbox)
    if quota:
        _finish(run, Run.Status.REFUSED, reason=quota)
        return False
    if decision.subcommand not in READ_ONLY and provider.disk_full():
        _finish(run, Run.Status.ENGINE_UNAVAILABLE, reason=DISK_FULL)
        return False
    read_only = decision.subcommand in READ_ONLY
    if not read_only:
        run.snapshot_before = snapshots.record(sandbox)
        run.save(update_fields=["snapshot_before"])
    result = run_docker(
        run.argv,
        docker_host=sandbox.docker_host,
        timeout=settings.RUNNER_TIMEOUT,
        max_output=settings.RUNNER_MAX_OUTPUT,
    )
    run.exit_code = result.exit_code
    run.stdout, run.stderr, run.truncated = result.stdout, result.stderr, result.truncated
    if result.timed_out:
        _finish(
            run,
            Run.Status.TIMED_OUT,
            reason=f"Stopped after {settings.RUNNER_TIMEOUT} s: the command did not finish.",
            picture_later=read_only,
        )
        return False
    if not result.ok:
        reason = (
            f"The docker command ran out of memory (it may use at most "
            f"{settings.RUNNER_CLI_MEMORY_MB} MB here) and was stopped: its output would be "
            "too large. Ask for less, e.g. a --format template that repeats less."
            if result.out_of_memory
            else _failure_reason(result.stderr, sandbox)
        )
        _finish(run, Run.Status.FAILED, reason=reason, picture_later=read_only)
        return False
    converging = decision.subcommand in CONVERGING and decision.service_name
    if converging or decision.subcommand in SETTLING:  # show the output while it waits
        _retrying(lambda: run.save(update_fields=["exit_code", "stdout", "stderr", "truncated"]))
    if converging:
        problem = _wait_for_convergence(run, sandbox, decision.service_name)
        if problem:
            _finish(run, Run.Status.FAILED, reason=problem)
            return False
    elif decision.subcommand in SETTLING:
        _wait_until_settled(run, sandbox, decision)
    _finish(run, Run.Status.SUCCEEDED, picture_later=read_only)
    _retrying(lambda: Sandbox.objects.filter(pk=sandbox.pk).update(last_used_at=timezone.now()))
    return True


def _failure_reason(stderr: str, sandbox: Sandbox) -> str:
    if "Cannot connect to the Docker daemon" in stderr or "connection refused" in stderr:
        cost = "its engine was gone before the command finished"
        return _removed_meanwhile(sandbox, cost=cost) or (
            "The sandbox's engine stopped answering. Reset your sandbox to get a fresh one."
        )
    return "The engine refused or failed the command; its own message is below."


def _removed_meanwhile(sandbox: Sandbox, *, cost: str) -> str:
    """Why a run lost its engine when the sandbox was removed while it ran, and what that
    cost it; "" when it was not removed (the engine stopped on its own)."""
    row = Sandbox.objects.filter(pk=sandbox.pk).values("status", "error").first()
    if row is None or row["status"] not in {Sandbox.Status.STOPPING, Sandbox.Status.GONE}:
        return ""
    # A removal writes its reason with "stopping", before the teardown (provider._forget).
    if row["error"] == provider.RESET_ERROR:  # not "reset your sandbox": the visitor just did
        return f"Your sandbox was reset while this ran, so {cost}."
    return (
        f"Your sandbox was removed while this ran, so {cost}; your next run starts in a fresh one."
    )


def _quota_problem(decision: Decision, sandbox: Sandbox) -> str:
    """Per-sandbox quotas that need the engine's state: services count."""
    if not decision.creates_service or sandbox.shared:
        return ""
    try:
        services = read_swarm(sandbox.docker_host).services
    except Exception:
        return ""  # the command itself will report an unreachable engine
    if len(services) >= settings.RUNNER_MAX_SERVICES:
        return (
            f"Your sandbox already has {len(services)} services, the most it may have. Remove "
            "one with `docker service rm NAME` or reset your sandbox."
        )
    return ""


def _convergence_text(picture, service_name: str) -> tuple[str, bool]:
    service = next((s for s in picture.services if s.name == service_name), None)
    if service is None:
        return f"Service {service_name} no longer exists.", True
    done, total = picture.update_progress(service_name)
    running = len(picture.running_tasks(service_name))
    state = service.update_state
    updating = state in UPDATING
    text = f"{service_name}: {running}/{total} tasks running; {done}/{total} on {service.image}"
    if state:
        words = update_words(state)
        text += f"; {words}"
        if updating and (message := news(service.update_message or "", words)):
            text += f" ({message})"
    converged = done == total and running == total and not updating
    if state in PAUSED:
        converged = False  # a failure: _convergence_problem says so
    return text + ".", converged


def _convergence_problem(
    picture: SwarmPicture,
    service_name: str,
    *,
    since: datetime | None = None,
    rolls_back: bool = False,
) -> str:
    """Why waiting for this service to converge is pointless, quoting the engine's error;
    "" while it may still converge. An update the engine paused (or rolled back, when the
    command did not ask for a rollback) has failed; so have tasks that keep failing
    (picture.task_failure: a single failure that the swarm replaces is not one)."""
    service = next((s for s in picture.services if s.name == service_name), None)
    if service is None:
        return ""
    state = service.update_state or ""
    error = newest_error(picture, service_name) or (service.update_message or "")
    if state in PAUSED:
        what = "update" if state == "paused" else "rollback"
        return f"{service_name}: the engine paused the {what} because a new task failed: {error}"
    if state == "rollback_completed" and not rolls_back:
        return f"{service_name}: the update failed, so the engine rolled it back: {error}"
    failure = task_failure(picture, service_name, since=since)
    return failure.text if failure else ""


# A job queued this long found no worker free: every worker is busy.
YIELD_AFTER_SECONDS = 3.0
# After a run stops waiting for a swarm that is still moving, its picture goes on following the
# swarm this long, read every FOLLOW_EVERY seconds by a job of a few milliseconds each time.
FOLLOW_SECONDS = 300
FOLLOW_EVERY = 2.0


def follow_later(sandbox: Sandbox, *, until: float | None = None) -> None:
    """Read the sandbox's swarm again in FOLLOW_EVERY seconds (follow_swarm), unless a read is
    already due or ``until`` (a time.time()) has passed. A worker waiting for a swarm held
    itself; this holds none, so the picture keeps up with a swarm no one waits for."""
    from .tasks import follow_swarm

    until = time.time() + FOLLOW_SECONDS if until is None else until
    if time.time() >= until or not follow_swarm.get_backend().supports_defer:
        return
    due = DBTaskResult.objects.filter(
        status=TaskResultStatus.READY,
        task_path=follow_swarm.module_path,
        args_kwargs__kwargs__sandbox_id=sandbox.pk,
    )
    if due.exists():  # another run left one: one follower a sandbox
        return
    later = timezone.now() + timedelta(seconds=FOLLOW_EVERY)
    follow_swarm.using(run_after=later).enqueue(sandbox_id=sandbox.pk, until=until)


def follow_swarm(sandbox_id: int, until: float) -> None:
    """Store the sandbox's picture now; come back later while its swarm has not settled."""
    sandbox = Sandbox.objects.filter(pk=sandbox_id, status=Sandbox.Status.READY).first()
    if sandbox is None:  # reset, expired or replaced: its swarm is gone
        return
    data = snapshots.record(sandbox)
    if data is None:  # the engine stopped answering
        return
    picture, _ = picture_from_data(data)
    if not settled(picture):
        follow_later(sandbox, until=until)


def _others_waiting(began: float) -> bool:
    """Whether a worker waiting ``began`` (monotonic) for a swarm should stop waiting: it has
    waited YIELD_AFTER_SECONDS, and a job (someone's run or block, a reset...) has been queued
    as long without a worker taking it. Waiting is no work: two visitors' slow rolling updates
    held both workers for two minutes while a third visitor's `docker service ls` waited."""
    if time.monotonic() - began < YIELD_AFTER_SECONDS:
        return False
    from .tasks import follow_swarm

    cutoff = timezone.now() - timedelta(seconds=YIELD_AFTER_SECONDS)
    jobs = DBTaskResult.objects.ready().filter(enqueued_at__lt=cutoff)
    # Not the picture's own reads: a worker waiting for a swarm keeps its picture itself.
    waiting = jobs.exclude(task_path=follow_swarm.module_path).count()
    if not waiting:
        return False
    # A worker that stopped waiting a moment ago is about to take a job: one waiting job
    # made every waiting worker stop (one is enough).
    lately = timezone.now() - timedelta(seconds=FREED_SECONDS)
    freed = Run.objects.filter(finished_at__gte=lately, converged__startswith=STOPPED_WAITING)
    return waiting > freed.count()


STOPPED_WAITING = "Stopped waiting after"
FREED_SECONDS = 5  # a worker that stopped waiting takes a waiting job within this


def _let_others_run(began: float, text: str) -> str:
    return (
        f"{STOPPED_WAITING} {time.monotonic() - began:.1f} s so that other commands "
        f"waiting for the runner could start; the swarm goes on without it. {text}"
    )


def _wait_for_convergence(run: Run, sandbox: Sandbox, service_name: str) -> str:
    """Poll the swarm until the service has converged or the bound passes; keep progress.

    Returns a problem for people when the engine stopped answering meanwhile, else "".
    """
    began = time.monotonic()
    deadline = began + settings.RUNNER_CONVERGE_SECONDS
    text = ""
    kind = snapshots.kind_of(list(run.argv))
    rolls_back = kind == "rollback" or "--rollback" in run.argv
    # Tasks that failed before the command ran are not its failures (a second of slack for
    # the engine's clock, which stamps the tasks).
    since = run.started_at - timedelta(seconds=1) if run.started_at else None
    track = snapshots.Tracker(run, sandbox, service=service_name, kind=kind)
    while True:
        try:
            picture = read_swarm(sandbox.docker_host)
        except Exception:
            cost = "the swarm was removed before it converged"
            return _removed_meanwhile(sandbox, cost=cost) or (
                "The command was accepted, but then the sandbox's engine stopped answering, "
                "so the swarm never converged. Reset your sandbox to get a fresh one."
            )
        track(picture)
        text, converged = _convergence_text(picture, service_name)
        if text != run.converged:
            run.converged = text
            run.save(update_fields=["converged"])
        if converged:
            run.converged = "Converged. " + text
            run.save(update_fields=["converged"])
            return ""
        problem = _convergence_problem(picture, service_name, since=since, rolls_back=rolls_back)
        if problem:
            run.converged = f"Stopped waiting after {time.monotonic() - began:.1f} s. {text}"
            run.save(update_fields=["converged"])
            return problem
        if time.monotonic() > deadline:
            run.converged = (
                f"Still converging after {settings.RUNNER_CONVERGE_SECONDS} s. {text} "
                "Run `docker service ps` to follow it."
            )
            run.save(update_fields=["converged"])
            follow_later(sandbox)
            return ""
        if _others_waiting(began):
            run.converged = f"{_let_others_run(began, text)} Run `docker service ps` to follow it."
            run.save(update_fields=["converged"])
            follow_later(sandbox)
            return ""
        time.sleep(0.5)


def _wait_until_settled(run: Run, sandbox: Sandbox, decision: Decision) -> None:
    """After a command that makes the swarm move tasks: follow what it touched to rest.

    `service rm`: until the removed services' tasks are gone. `node update`: until the
    node's tasks have moved (picture.node_settled), for the services it concerns. Other
    services are not waited for: one that never settles must not hold the worker."""
    started = time.monotonic()
    bound = min(SETTLE_SECONDS, settings.RUNNER_CONVERGE_SECONDS)
    track = snapshots.Tracker(run, sandbox, service="", kind="converge")
    node = ""
    if decision.subcommand == "service rm":
        done = removed_tasks_gone
        concerned: set[str] = set()
    else:
        node = _node_named(run.argv)
        concerned = _services_on(run.snapshot_before, node)
        done = functools.partial(node_settled, node=node, services=concerned)
    picture = snapshots.wait(
        sandbox, done=lambda p: done(p) or _others_waiting(started), seconds=bound, on_read=track
    )
    if picture is None:
        return  # the after-snapshot will be missing; the command's own output stands
    text = summary(track.sandbox.picture)
    took = time.monotonic() - started
    stuck = stuck_tasks(picture, concerned)
    if not done(picture):
        follow_later(sandbox)
    if not done(picture) and took < bound:  # _others_waiting
        run.converged = f"{_let_others_run(started, text)}. The swarm picture follows it."
    elif decision.subcommand == "service rm":
        run.converged = (
            f"Its tasks were gone after {took:.1f} s: {text}."
            if done(picture)
            else f"Its tasks were still stopping after {bound} s: {text}. The swarm picture "
            "follows them."
        )
    elif done(picture):
        run.converged = f"Settled after {took:.1f} s: {text}." + (f" {stuck}." if stuck else "")
    else:
        names = still_moving(picture, concerned)
        moving = f"tasks of {', '.join(names)}" if names else f"tasks leaving {node}"
        run.converged = (
            f"Still moving after {bound} s ({moving}): {text}. The swarm picture follows it."
        )
    run.save(update_fields=["converged"])


def _node_named(argv: Sequence[str]) -> str:
    """The node of `docker node update --availability X NODE` (the policy allows one)."""
    names = []
    skip = False
    for arg in argv[3:]:
        if skip:
            skip = False
        elif arg.startswith("-"):
            skip = "=" not in arg  # every flag node update allows takes a value
        else:
            names.append(arg)
    return names[-1] if names else ""


def _services_on(before: dict | None, node: str) -> set[str]:
    """Services a node update concerns: those with live tasks on the node before it, and
    those with tasks waiting for a node (making a node active may place them)."""
    if not before:
        return set()
    picture, _ = picture_from_data(before)
    return {
        t.service_name
        for t in picture.tasks
        if t.state not in TERMINAL and (t.node_hostname == node or t.state == "pending")
    }


def execute_runs(run_ids: Sequence[int]) -> None:
    """Run a batch in order; after a line fails, the rest are skipped (like a notebook)."""
    failed = False
    for pk in run_ids:
        if failed:
            Run.objects.filter(pk=pk, status=Run.Status.QUEUED).update(
                status=Run.Status.SKIPPED,
                reason=SKIPPED,
                finished_at=timezone.now(),
            )
            continue
        run = pending = None
        try:
            # Usually the visitor's sandbox is ready: it is recorded with the claim, and its
            # engine answers the ping meanwhile.
            pending = provider.ready_sandbox_for_run(pk)
            run = _claim_queued(pk, pending.sandbox if pending else None)
            if run is None and _wait_for_turn(pk):  # another worker had an earlier run of theirs
                if pending is not None:
                    pending.close()  # that run may have replaced the sandbox: look again
                pending = provider.ready_sandbox_for_run(pk)
                run = _claim_queued(pk, pending.sandbox if pending else None)
            if run is None:  # taken or closed by someone else meanwhile, or deleted
                status = Run.objects.filter(pk=pk).values_list("status", flat=True).first()
                ok = status in {None, Run.Status.SUCCEEDED}
            else:
                sandbox = pending.sandbox if pending and pending.answers() else None
                if pending and sandbox is None:  # it stopped answering: not this run's
                    run.sandbox, run.engine_version = None, ""
                ok = execute_run(run, sandbox)
        except Exception as exc:
            log.exception("run %s failed unexpectedly", pk)
            run = run or Run.objects.filter(pk=pk).first()
            if run is not None and run.status in Run.IN_FLIGHT:  # never overwrite an end
                reason = f"The runner failed: {exc.__class__.__name__}."
                _finish(run, Run.Status.ERROR, reason=reason)
            ok = False
        finally:
            if pending is not None:
                pending.close()
        failed = failed or not ok


def recover_stuck_runs(*, only_dead_workers: bool = True) -> int:
    """Close runs left queued or running by a worker that died; returns how many."""
    closed = 0
    host = provider.worker_id().rsplit(":", 1)[0]
    stale = timezone.now() - timedelta(
        seconds=settings.RUNNER_TIMEOUT + settings.RUNNER_CONVERGE_SECONDS + 120
    )
    for run in Run.objects.filter(status=Run.Status.RUNNING):
        worker_host, _, pid = run.worker.rpartition(":")
        dead = worker_host == host and pid.isdigit() and not worker_alive(int(pid))
        if dead or run.started_at is None or run.started_at < stale:
            closed += Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING).update(
                status=Run.Status.ERROR,
                reason="The worker stopped while this run was in flight, so its result is "
                "unknown. Run it again.",
                finished_at=timezone.now(),
            )
            if run.batch:
                Run.objects.filter(batch=run.batch, status=Run.Status.QUEUED).update(
                    status=Run.Status.SKIPPED,
                    reason="Skipped: an earlier line of this block did not finish.",
                    finished_at=timezone.now(),
                )
    queued = list(Run.objects.filter(status=Run.Status.QUEUED, created_at__lt=stale))
    # A later line of a long block waits its turn behind the earlier ones: not stuck while the
    # block's job is at work (judged before closing any, which would look like work).
    moving = _batches_moving({run.batch for run in queued} - {""}, since=stale)
    for run in queued:
        if run.batch in moving:
            continue
        closed += Run.objects.filter(pk=run.pk, status=Run.Status.QUEUED).update(
            status=Run.Status.ERROR,
            reason="No worker picked this run up in time. Run it again.",
            finished_at=timezone.now(),
        )
    return closed


def _batches_moving(batches: set[str], *, since: datetime) -> set[str]:
    """The blocks' jobs still at work (a line running, or one finished lately), in one query."""
    if not batches:
        return set()
    lines = Run.objects.filter(batch__in=batches).filter(
        models.Q(status=Run.Status.RUNNING) | models.Q(finished_at__gte=since)
    )
    return set(lines.values_list("batch", flat=True).distinct())
