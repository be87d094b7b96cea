"""Sandbox actions a visitor can take besides running lines: start a sandbox of N nodes, stop a
worker node (a node failure, to watch the swarm heal) and start it again.

Each action is recorded as a Run with a line in parentheses, "(stop node worker1)", and no argv
(nothing from the notes was executed), so the audit trail and the rate limits treat it like any
run. ``request_action`` runs in the web process, ``execute_action`` in the worker.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import provider, snapshots
from .models import Run, Sandbox
from .picture import settled, summary
from .runs import RunRefused, Visitor, _check_rate, _claim, _finish
from .swarm import SwarmPicture

log = logging.getLogger(__name__)
WORKER_RE = re.compile(r"^worker([1-9])$")
START_SANDBOX, STOP_NODE, START_NODE = "start-sandbox", "stop-node", "start-node"


@dataclass(frozen=True)
class Action:
    kind: str  # START_SANDBOX, STOP_NODE or START_NODE
    nodes: int = 0  # for START_SANDBOX
    node: str = ""  # for STOP_NODE / START_NODE: "worker1"

    @property
    def line(self) -> str:
        if self.kind == START_SANDBOX:
            return f"(start a sandbox with {self.nodes} node{'s' if self.nodes != 1 else ''})"
        return f"({'stop' if self.kind == STOP_NODE else 'start'} node {self.node})"

    @property
    def note(self) -> str:
        if self.kind == START_SANDBOX:
            return (
                f"A sandbox action, not a line of the notes: {self.nodes} engine(s), each in its "
                "own network namespace, joined into one swarm (manager1 and workers). Any sandbox "
                "you had is removed first, with everything in it."
            )
        if self.kind == STOP_NODE:
            return (
                f"A sandbox action, not a line of the notes: {self.node}'s dockerd, containerd "
                "and tasks are killed (SIGKILL), as if the machine had failed."
            )
        return f"A sandbox action, not a line of the notes: {self.node}'s dockerd is restarted."


def is_action(line: str, argv: list[str]) -> bool:
    """Is a run's line one of these actions rather than a line of the notes?"""
    return not argv and line.startswith("(") and line.endswith(")")


def _is_number(value: str) -> bool:
    """ASCII digits only: str.isdigit() also takes "²" (int() refuses it) and "٣" (int() reads
    3), neither of which a form of ours sends."""
    return value.isascii() and value.isdigit()


def parse_nodes(value: str | None) -> int:
    """The node count asked for; raises RunRefused (400) with the allowed range."""
    top = settings.RUNNER_MAX_NODES
    if value is not None and _is_number(value.strip()) and 1 <= int(value) <= top:
        return int(value)
    raise RunRefused(f"Choose between 1 and {top} nodes for your sandbox.", status=400)


def check_node(sandbox: Sandbox | None, node: str) -> int:
    """The index of a worker of the visitor's sandbox; raises RunRefused saying why not."""
    if sandbox is None or sandbox.status != Sandbox.Status.READY:
        raise RunRefused(
            "You have no running sandbox; start one with 2 or 3 nodes first.", status=409
        )
    if sandbox.nodes < 2:
        raise RunRefused(
            "Your sandbox has a single node; start one with 2 or 3 nodes to stop a worker.",
            status=409,
        )
    if node == "manager1":
        raise RunRefused(
            "manager1 is the swarm's only manager: stopping it would stop the swarm. Stop a "
            "worker instead.",
            status=400,
        )
    match = WORKER_RE.match(node)
    if not match or int(match.group(1)) >= sandbox.nodes:
        workers = " and ".join(f"worker{i}" for i in range(1, sandbox.nodes))
        raise RunRefused(
            f"Your sandbox has no node named {node[:20]}; its workers are {workers}.", status=400
        )
    return int(match.group(1))


def live_sandbox(visitor_key: str) -> Sandbox | None:
    if not visitor_key:
        return None
    return (
        Sandbox.objects.filter(
            visitor=visitor_key, status__in=[Sandbox.Status.STARTING, Sandbox.Status.READY]
        )
        .order_by("-created_at")
        .first()
    )


RESET_LINE = "(reset the sandbox)"


def record_reset(*, visitor: Visitor, sandbox: Sandbox) -> Run:
    """A reset in the audit trail, as the other sandbox actions (who, from where, when), and
    counted by the rate limits like them; raises RunRefused. The worker's task does the
    removal (runner.tasks.reset_sandbox): the row records the request."""
    _check_rate(visitor, 1)
    now = timezone.now()
    return _record(
        visitor,
        sandbox,
        line=RESET_LINE,
        note="A sandbox action, not a line of the notes: the sandbox is removed, with "
        "everything in it, and the next run starts a fresh one.",
        status=Run.Status.SUCCEEDED,
        started_at=now,
        finished_at=now,
    )


def _record(visitor: Visitor, sandbox: Sandbox | None, **fields) -> Run:
    """A sandbox action's row in the audit trail: who asked, from where, on which sandbox."""
    return Run.objects.create(
        sandbox=sandbox,
        visitor=visitor.key,
        user_id=visitor.user_id,
        remote_addr=visitor.remote_addr,
        **fields,
    )


def request_action(*, action: Action, visitor: Visitor, sandbox: Sandbox | None) -> Run:
    """Record the action as a run and queue it. Raises RunRefused like request_runs."""
    from .tasks import sandbox_action

    if settings.RUNNER_MODE != "sandbox":
        raise RunRefused(
            "Sandboxes of several nodes need private sandboxes (RUNNER_MODE=sandbox); this site "
            "runs commands on a shared engine or not at all.",
            status=409,
        )
    _check_rate(visitor, 1)
    busy = list(Run.objects.in_flight().filter(visitor=visitor.key).values_list("line", "argv"))
    if action.kind == START_SANDBOX and busy:
        raise RunRefused(
            "Wait for your runs in flight to finish before starting a new sandbox.", status=409
        )
    if any(is_action(line, argv) for line, argv in busy):
        raise RunRefused(
            "Your last sandbox action is still under way; wait for it to finish.", status=409
        )
    with transaction.atomic():
        run = _record(visitor, sandbox, line=action.line, note=action.note)
        transaction.on_commit(
            lambda: sandbox_action.enqueue(
                run_id=run.pk, kind=action.kind, nodes=action.nodes, node=action.node
            )
        )
    return run


def execute_action(run: Run, action: Action) -> None:
    """Carry out a queued sandbox action (in the worker)."""
    if not _claim(run):
        return
    try:
        if action.kind == START_SANDBOX:
            _start_sandbox(run, action.nodes)
        elif action.kind in (STOP_NODE, START_NODE):
            _node(run, action)
        else:
            _finish(run, Run.Status.ERROR, reason=f"Unknown sandbox action {action.kind!r}.")
    except provider.EngineUnavailable as exc:
        _finish(run, Run.Status.ENGINE_UNAVAILABLE, reason=str(exc))
    except Exception as exc:
        log.exception("sandbox action %s failed", run.pk)
        _finish(run, Run.Status.ERROR, reason=f"The runner failed: {exc.__class__.__name__}.")


def _start_sandbox(run: Run, nodes: int) -> None:
    mine = live_sandbox(run.visitor)
    # "New sandbox" replaces the one the visitor saw, whatever its size; one that appeared
    # since the request (a run started it) is kept when it has the nodes asked for.
    if mine is not None and (mine.pk == run.sandbox_id or mine.nodes != nodes):
        provider.reset(run.visitor)
    sandbox = provider.sandbox_for(run.visitor, nodes=nodes)
    _attach(run, sandbox)
    picture = snapshots.wait(sandbox, done=_nodes_ready(nodes), seconds=30)
    names = ", ".join(n.hostname for n in picture.nodes) if picture else ""
    run.exit_code = 0
    run.converged = f"Your sandbox {sandbox.name} has {nodes} node(s): {names}."
    _finish(run, Run.Status.SUCCEEDED)


def _node(run: Run, action: Action) -> None:
    sandbox = live_sandbox(run.visitor)
    index = check_node(sandbox, action.node)  # the sandbox may have changed since the request
    assert sandbox is not None
    _attach(run, sandbox)
    run.snapshot_before = snapshots.record(sandbox)
    started = time.monotonic()
    track = snapshots.Tracker(run, sandbox, service="", kind="converge")
    if action.kind == STOP_NODE:
        provider.stop_worker(sandbox, index)
        run.exit_code = 0
        run.save(update_fields=["snapshot_before", "exit_code"])
        run.converged = _watch_failure(run, sandbox, action.node, started, track)
    else:
        provider.start_worker(sandbox, index)
        run.exit_code = 0
        run.save(update_fields=["snapshot_before", "exit_code"])
        run.converged = _watch_return(sandbox, action.node, started, track)
    _finish(run, Run.Status.SUCCEEDED)


def _watch_failure(
    run: Run, sandbox: Sandbox, node: str, started: float, track: snapshots.Tracker
) -> str:
    """Follow the swarm until it marks the node down and runs its tasks elsewhere."""
    down_after: float | None = None

    def done(picture: SwarmPicture) -> bool:
        nonlocal down_after
        state = next((n.state for n in picture.nodes if n.hostname == node), "unknown")
        if state != "ready" and down_after is None:
            down_after = time.monotonic() - started
            run.converged = f"The swarm marked {node} {state} after {down_after:.1f} s."
            run.save(update_fields=["converged"])
        return down_after is not None and settled(picture)

    picture = snapshots.wait(
        sandbox, done=done, seconds=settings.RUNNER_CONVERGE_SECONDS, on_read=track
    )
    took = time.monotonic() - started
    text = f"Stopped {node}."
    if down_after is not None:
        text += f" The swarm marked it down after {down_after:.1f} s"
        if picture is not None and settled(picture):
            text += f" and ran its tasks on the other nodes after {took:.1f} s"
        else:
            text += f"; its tasks were still being rescheduled after {took:.0f} s"
        text += "."
    else:
        text += f" The swarm still counted it ready after {took:.0f} s."
    return f"{text} {summary(sandbox.picture)}."


def _watch_return(sandbox: Sandbox, node: str, started: float, track: snapshots.Tracker) -> str:
    def done(picture: SwarmPicture) -> bool:
        return any(n.hostname == node and n.ready for n in picture.nodes)

    picture = snapshots.wait(sandbox, done=done, seconds=30, on_read=track)
    took = time.monotonic() - started
    if picture is not None and done(picture):
        text = (
            f"{node} is ready again after {took:.1f} s. Swarm does not move running tasks back "
            "by itself; new tasks (scale, update) are placed on it."
        )
    else:
        text = f"{node} was restarted but is not ready after {took:.0f} s."
    return f"{text} {summary(sandbox.picture)}."


def _nodes_ready(count: int):
    def done(picture: SwarmPicture) -> bool:
        return len(picture.nodes) == count and all(n.ready for n in picture.nodes)

    return done


def _attach(run: Run, sandbox: Sandbox) -> None:
    run.sandbox = sandbox
    run.engine_version = sandbox.engine_version
    run.save(update_fields=["sandbox", "engine_version"])
    Sandbox.objects.filter(pk=sandbox.pk).update(last_used_at=timezone.now())
