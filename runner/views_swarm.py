"""The swarm picture beside each snippet block, and the multi-node sandbox controls.

The picture is a fragment loaded lazily by htmx and polled every second while one of the
visitor's runs is in flight; 286 stops the polling once nothing is, and 204 answers a poll while
nothing it shows has changed (nothing is swapped). It draws what the worker stored
(runner.snapshots): this process never talks to an engine. On the full page (/swarm/, block 0)
each picture htmx swaps in brings the page's table of the sandbox's runs, out of band.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling, reswap, retarget

from .models import Run, RunnerStatus, Sandbox
from .picture import Progress, picture_from_data, swarm_view
from .runs import FOLLOW_EVERY, RunRefused
from .sandbox_actions import (
    START_NODE,
    START_SANDBOX,
    STOP_NODE,
    Action,
    check_node,
    live_sandbox,
    parse_nodes,
    request_action,
)
from .views import _forbidden, _message, _referer, _visitor, fingerprint, may_run, visitor_key

RECENT_RUNS = 10
SANDBOX_RUNS = 25  # the rows of the full page's table
SHOW_FINISHED_PROGRESS = 60  # seconds a finished run's final progress stays in the picture
# A moving swarm's picture read this recently is being followed (runs.follow_swarm, every
# FOLLOW_EVERY seconds): the page goes on polling for it.
FOLLOWED_SECONDS = 3 * FOLLOW_EVERY + 4
_RUN_FIELDS = ("id", "line", "status", "progress", "finished_at", "sandbox")


def _block(request: HttpRequest) -> int:
    """Which snippet block's picture this is (for element ids only)."""
    value = request.GET.get("block") or request.POST.get("block") or ""
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else 0


def _heading_level(request: HttpRequest) -> int:
    """The level of the picture's heading: 3 beside a day page's notes (under the talk's
    <h2>), 2 on a talk page or the swarm page (under their <h1>)."""
    value = request.GET.get("level") or request.POST.get("level")
    return 2 if value == "2" else 3


def swarm_context(request: HttpRequest, *, block: int) -> dict:
    """Everything the picture needs, in a constant number of queries (three)."""
    now = timezone.now()
    key = visitor_key(request)
    sandbox = live_sandbox(key)
    recent = (
        list(Run.objects.filter(visitor=key).only(*_RUN_FIELDS).order_by("-id")[:RECENT_RUNS])
        if key
        else []
    )
    in_flight = [run for run in recent if not run.finished]
    view = None
    if sandbox is not None and sandbox.picture:
        picture, at = picture_from_data(sandbox.picture)
        view = swarm_view(picture, at=at)
    progress = [Progress.from_data(run.progress, now=now) for run in in_flight if run.progress]
    if not in_flight and sandbox is not None:
        # Once nothing is in flight, the last run's final figures stay a little while, if they
        # are of this sandbox's swarm (after a reset they would describe one that is gone),
        # and not contradicted by it: a run that stopped waiting left figures of an update
        # under way, which the swarm, followed since, may have finished.
        lately = now - timedelta(seconds=SHOW_FINISHED_PROGRESS)
        last = next((run for run in recent if run.finished and run.progress), None)
        if (
            last is not None
            and last.sandbox_id == sandbox.pk
            and last.finished_at
            and last.finished_at > lately
        ):
            final = Progress.from_data(last.progress, now=now)
            if final.finished or not (view and view.settled):
                progress = [final]
    # A visitor whose sandbox the reaper removed is told so, not "no sandbox yet": their
    # services went with it (one query more, only for a visitor who has none now).
    errors = Sandbox.objects.filter(visitor=key).order_by("-created_at").values_list("error")
    expired = bool(key and sandbox is None and errors.first() == (Sandbox.EXPIRED,))
    status = RunnerStatus.current()
    can_run = bool(status and status.available and status.is_fresh()) and may_run(request)
    context = {
        "block_id": block,  # not "block": inside {% block %}, Django sets that name
        "heading_level": _heading_level(request),
        "sandbox": sandbox,
        "expired": expired,
        "lifetimes": (settings.RUNNER_IDLE_TTL // 60, settings.RUNNER_HARD_TTL // 60),
        "view": view,
        "in_flight": list(reversed(in_flight)),
        "progress": progress[::-1],
        "live": bool(in_flight) or _followed(view, now),
        "can_run": can_run,
        "can_control": can_run and settings.RUNNER_MODE == "sandbox",
        "node_choices": range(1, settings.RUNNER_MAX_NODES + 1),
        "nodes": sandbox.nodes if sandbox else settings.RUNNER_NODES,
    }
    # What the fragment shows, as what it is drawn from (countdowns included, as worked out for
    # now; its block and heading level are in its address): a poll that would bring the same
    # is answered 204.
    drawn = {"sandbox", "view", "in_flight", "block_id", "heading_level"}
    shown = {k: v for k, v in context.items() if k not in drawn}
    box = sandbox and (sandbox.pk, sandbox.name, sandbox.status, sandbox.nodes, sandbox.picture)
    runs = [(run.pk, run.status, run.line) for run in in_flight]
    context["seen"] = fingerprint((shown, box, runs))
    return context


def _followed(view, now) -> bool:
    """A swarm still moving after its run stopped waiting, whose picture the worker follows:
    "moving" must not freeze on the page (it did, the polling having stopped with the run)."""
    return bool(view and not view.settled and view.at > now - timedelta(seconds=FOLLOWED_SECONDS))


def _own_cells(request: HttpRequest, in_flight: list[Run]) -> bytes:
    """The cells of the visitor's runs in flight on lines of this block, out of band: the day
    page (the same for every reader) shows only finished runs, so after a reload this puts
    back the cells that follow the visitor's own runs (runner/_own_cells.html)."""
    block = _block(request)
    runs = Run.objects.filter(
        pk__in=[run.pk for run in in_flight], snippet_line__snippet_id=block
    ).select_related("snippet_line")
    latest = {run.snippet_line_id: run for run in runs.order_by("pk")}  # one cell per line
    if not latest:
        return b""
    return render(request, "runner/_own_cells.html", {"own_cells": latest.values()}).content


def _sandbox_runs(sandbox: Sandbox | None) -> list[Run]:
    """The runs and sandbox actions of the sandbox shown, newest first (one query, if any)."""
    if sandbox is None:
        return []
    runs = Run.objects.filter(sandbox=sandbox).defer("stdout", "stderr", "progress")
    return list(runs.order_by("-id")[:SANDBOX_RUNS])


def _swarm_fragment(request: HttpRequest, context: dict) -> HttpResponse:
    """The picture for htmx. On the full page (block 0) the table of the sandbox's runs comes
    with it, out of band: the picture may now show another sandbox (replaced, reset, expired),
    or runs that finished since the page was drawn (runner/swarm.html#runs)."""
    response = render(request, "runner/_swarm.html#swarm", context)
    if context["block_id"] == 0:
        runs = {**context, "runs": _sandbox_runs(context["sandbox"]), "oob": True}
        response.content += render(request, "runner/swarm.html#runs", runs).content
    return response


@require_GET
def swarm(request: HttpRequest) -> HttpResponse:
    """The visitor's swarm: a polled fragment for htmx, else a page with the sandbox's runs."""
    context = swarm_context(request, block=_block(request))
    if request.htmx:
        if context["sandbox"] is None and not context["can_run"]:
            return HttpResponseStopPolling("")  # nothing to show beside the notes: no picture
        if request.GET.get("seen") == context["seen"]:
            # The same again: htmx swaps nothing on 204, so the focus, the open <details> and
            # a screen reader's place in the picture stay. ("live" is in the fingerprint: the
            # poll that finds nothing in flight any more gets the last picture, with 286.)
            return HttpResponse(status=204)
        response = _swarm_fragment(request, context)
        if "seen" not in request.GET and context["in_flight"]:  # the block's first load
            response.content += _own_cells(request, context["in_flight"])
        if not context["live"]:
            response.status_code = HttpResponseStopPolling.status_code
        return response
    context["heading_level"] = 2  # under the page's <h1>
    context["runs"] = _sandbox_runs(context["sandbox"])
    return render(request, "runner/swarm.html", context)


@require_POST
def sandbox_start(request: HttpRequest) -> HttpResponse:
    """Start (or replace) the visitor's sandbox with the number of nodes asked for."""
    if denied := _forbidden(request):
        return denied
    try:
        nodes = parse_nodes(request.POST.get("nodes"))
        visitor = _visitor(request)
        action = Action(kind=START_SANDBOX, nodes=nodes)
        request_action(action=action, visitor=visitor, sandbox=live_sandbox(visitor.key))
    except RunRefused as exc:
        return _refused(request, exc)
    return _show(request)


@require_POST
def node_stop(request: HttpRequest, node: str) -> HttpResponse:
    """Stop a worker node of the visitor's sandbox, to watch the swarm reschedule its tasks."""
    return _node_action(request, node, STOP_NODE)


@require_POST
def node_start(request: HttpRequest, node: str) -> HttpResponse:
    """Start a stopped worker node again."""
    return _node_action(request, node, START_NODE)


def _node_action(request: HttpRequest, node: str, kind: str) -> HttpResponse:
    if denied := _forbidden(request):
        return denied
    try:
        visitor = _visitor(request)
        sandbox: Sandbox | None = live_sandbox(visitor.key)
        check_node(sandbox, node)
        request_action(action=Action(kind=kind, node=node), visitor=visitor, sandbox=sandbox)
    except RunRefused as exc:
        return _refused(request, exc)
    return _show(request)


def _show(request: HttpRequest) -> HttpResponse:
    if not request.htmx:
        return HttpResponseRedirect(_referer(request))
    return _swarm_fragment(request, swarm_context(request, block=_block(request)))


def _refused(request: HttpRequest, exc: RunRefused) -> HttpResponse:
    response = _message(request, exc.message, status=exc.status)
    if request.htmx:
        # The message goes beside the controls; the picture itself stays.
        response = reswap(retarget(response, f"#swarm-{_block(request)}-notice"), "innerHTML")
    return response
