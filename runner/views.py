"""Run buttons, polled run cells, run history, and the visitor's sandbox controls."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.db import router
from django.db.models import QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import Resolver404, resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling, reswap, retarget

from talks.models import Snippet, SnippetLine

from . import rows
from .addresses import client_address
from .models import Run, RunnerStatus
from .runs import RunRefused, Visitor, request_runs
from .sandbox_actions import live_sandbox, record_reset
from .tasks import reset_sandbox
from .visitors import visitor_key


def may_run(request: HttpRequest) -> bool:
    return settings.RUNNER_ANONYMOUS or request.user.has_perm("runner.execute_run")


def _visitor(request: HttpRequest) -> Visitor:
    return Visitor(
        key=visitor_key(request, create=True),
        user_id=request.user.pk if request.user.is_authenticated else None,
        remote_addr=client_address(request),  # the proxy's X-Forwarded-For, when behind it
    )


def _forbidden(request: HttpRequest) -> HttpResponse | None:
    if may_run(request):
        return None
    if not request.user.is_authenticated:
        if request.htmx:
            return _message(request, "Log in to run commands.", status=403)
        return redirect_to_login(_referer(request))
    return _message(
        request, "Your account may not run commands; ask an editor for access.", status=403
    )


def _message(
    request: HttpRequest,
    message: str,
    *,
    status: int,
    title: str = "",
    back: str = "",
) -> HttpResponse:
    """A message for the visitor: a partial for htmx, else a page headed (and titled) ``title``,
    by default what its status says."""
    template = "runner/message.html#message" if request.htmx else "runner/message.html"
    # A link back, not `javascript:history.back()`: the CSP allows no inline script.
    title = title or MESSAGE_TITLES.get(status, "Request refused")
    context = {"message": message, "title": title, "back": back or _referer(request)}
    return render(request, template, context, status=status)


# A message page's heading when its view gives none; any other refusal is "Request refused".
MESSAGE_TITLES = {403: "Not allowed", 404: "Not found"}


def _in_notice(request: HttpRequest, response: HttpResponse, snippet: Snippet) -> HttpResponse:
    """Run all's form swaps nothing (its cells come out of band), so with htmx a refusal is
    put in the block's notice area instead, where it is announced."""
    return in_block_notice(request, response, snippet_id=snippet.pk)


def in_block_notice(
    request: HttpRequest, response: HttpResponse, *, snippet_id: int
) -> HttpResponse:
    """``_in_notice`` for a block known by its id."""
    if request.htmx:
        response = reswap(retarget(response, f"#snippet-{snippet_id}-notice"), "innerHTML")
    return response


def refused_in_line(
    request: HttpRequest, line: SnippetLine, message: str, *, status: int, title: str
) -> HttpResponse:
    """A refused Run of one line. With htmx the answer replaces the line's cell, which may be
    following one of the visitor's runs still in flight: the alert comes with that cell (so
    it goes on polling), or else with the line's last recorded output, as the page showed it."""
    if not request.htmx:
        return _message(request, message, status=status, title=title)
    key = visitor_key(request)
    own = (
        Run.objects.filter(snippet_line_id=line.pk, visitor=key).order_by("-id").first()
        if key
        else None
    )
    if own is not None and not own.finished:
        run, origin = own, "yours"
    else:
        run, origin = Run.objects.last_per_line([line.pk]).get(line.pk), "recorded"
    if run is not None:
        run.snippet_line = line
    context = {"message": message, "run": run, "origin": origin}
    return render(request, "runner/refused_line.html", context, status=status)


def _safe(request: HttpRequest, url: str) -> bool:
    return bool(url) and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )


def _referer(request: HttpRequest) -> str:
    """Where the visitor came from, if it is on this site; else the home page."""
    url = request.META.get("HTTP_REFERER", "")
    return url if _safe(request, url) else "/"


def _back_to(line: SnippetLine) -> str:
    talk = line.snippet.talk
    return f"{talk.day.get_absolute_url()}#{line.anchor}"


@require_POST
def run_line(request: HttpRequest, line_id: int) -> HttpResponse:
    # The cell needs no more than the line; rows.get, as this is on the way of every run.
    line = rows.get(SnippetLine, line_id, using=router.db_for_read(SnippetLine))
    if line is None:
        message = "There is no such command line; it may have been edited away. Reload the page."
        return _message(request, message, status=404)
    if denied := _forbidden(request):
        return denied
    try:
        runs = request_runs(lines=[line], visitor=_visitor(request))
    except RunRefused as exc:
        return refused_in_line(request, line, exc.message, status=exc.status, title="Run refused")
    if not request.htmx:
        # The run's own page, which says to reload it to see the end: the day page is the same
        # for every reader and shows only finished runs (Run.objects.last_per_line).
        return HttpResponseRedirect(reverse("runner:run", args=[runs[0].pk]))
    context = {"run": runs[0], "line": line, "origin": "yours"}
    return render(request, "runner/run.html#run-cell", context)


@require_POST
def run_snippet(request: HttpRequest, snippet_id: int) -> HttpResponse:
    snippets = Snippet.objects.select_related("talk__day__conference")
    snippet = snippets.filter(pk=snippet_id).first()
    if snippet is None:  # in the block's notice: a 404 page would replace the day page
        message = "There is no such block of commands; it may have been deleted. Reload the page."
        response = _message(request, message, status=404)
        return in_block_notice(request, response, snippet_id=snippet_id)
    lines = list(snippet.lines.all())
    if denied := _forbidden(request):
        return _in_notice(request, denied, snippet)
    if not lines:
        message = "This block has no command lines to run."
        refused = _message(request, message, status=400, title="Nothing to run")
        return _in_notice(request, refused, snippet)
    try:
        runs = request_runs(lines=lines, visitor=_visitor(request))
    except RunRefused as exc:
        refused = _message(request, exc.message, status=exc.status, title="Run refused")
        return _in_notice(request, refused, snippet)
    if not request.htmx:
        # The block's history lists these runs as they go (the day page shows finished ones).
        return HttpResponseRedirect(reverse("runner:history", args=[snippet.pk]))
    for run, line in zip(runs, lines, strict=True):
        run.snippet_line = line
    return render(request, "runner/run_all.html", {"runs": runs, "snippet": snippet})


def fingerprint(shown: object) -> str:
    """A short digest of what a polled fragment shows, which its next poll sends back."""
    return hashlib.blake2b(repr(shown).encode(), digest_size=8).hexdigest()


def _cell_seen(run: Run) -> str:
    """What an in-flight run's cell shows (runner/run.html#run-cell), as a fingerprint.

    A queued run's is its status: nothing is written to a run until a worker claims it, so
    the cells drawn by other views send it too, without computing anything; a queued run with
    no worker alive to take it (run_detail) shows, and sends, that.
    The progress's reading time is not shown, nor its countdown (left out of the cell).
    """
    if run.status == Run.Status.QUEUED:
        return f"{run.status}:no-worker" if getattr(run, "no_worker", False) else run.status
    progress = {key: value for key, value in (run.progress or {}).items() if key != "at"}
    shown = [run.status, run.exit_code, run.engine_version, run.snippet_line_id, run.argv]
    shown += [run.note, run.reason, run.converged, run.stdout, run.stderr, progress]
    return fingerprint(shown)


@require_GET
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    """A run's cell: polled by htmx while in flight (204 while nothing changed, 286 ends
    polling), or a page of its own."""
    run = get_object_or_404(
        _with_runner(
            Run.objects.select_related("snippet_line__snippet__talk__day__conference", "sandbox")
        ),
        pk=run_id,
    )
    if run.status == Run.Status.QUEUED:
        heartbeat = RunnerStatus(available=bool(run.runner_available))
        heartbeat.checked_at = run.runner_checked_at
        # Then the cell says so and polls every 10 s, not every second (runner/run.html).
        run.no_worker = run.runner_checked_at is None or not heartbeat.is_up()
    seen = "" if run.finished else _cell_seen(run)
    if request.htmx:
        if seen and request.GET.get("seen") == seen:
            # htmx swaps nothing on 204: the cell, in a live region, is not read out again.
            return HttpResponse(status=204)
        # Whose cell this is, as the page that polls it said (a label only: no one's output
        # is private, and the day page is the same for every reader).
        origin = request.GET.get("origin")
        context = {"run": run, "origin": origin if origin in ORIGINS else "", "seen": seen}
        response = render(request, "runner/run.html#run-cell", context)
        if run.finished:
            response.status_code = HttpResponseStopPolling.status_code
        return response
    return render(request, "runner/run.html", {"run": run, "seen": seen})


def _with_runner(runs: QuerySet[Run]) -> QuerySet[Run]:
    """``runs`` with the runner's latest heartbeat (RunnerStatus.current), in the same query:
    a queued run's cell says whether a worker is there to take it."""
    latest = RunnerStatus.objects.order_by("-checked_at")
    return runs.annotate(
        runner_available=Subquery(latest.values("available")[:1]),
        runner_checked_at=Subquery(latest.values("checked_at")[:1]),
    )


@require_GET
def snippet_history(request: HttpRequest, snippet_id: int) -> HttpResponse:
    snippet = get_object_or_404(
        Snippet.objects.select_related("talk__day__conference").prefetch_related("lines"),
        pk=snippet_id,
    )
    runs = (
        Run.objects.filter(snippet_line__snippet=snippet)
        .select_related("user", "snippet_line")
        .order_by("-created_at", "-id")
    )
    page = Paginator(runs, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "runner/history.html",
        {"snippet": snippet, "page": page, "day": snippet.talk.day},
    )


@require_GET
def confirm(request: HttpRequest) -> HttpResponse:
    """The Run, Run all and Reset buttons without JavaScript: a page that says what will run,
    with the form that runs it.

    The day page is the same for every reader (it is cached whole), so its buttons carry no
    CSRF token: with htmx they post with the token from the CSRF cookie (static/js/site.js);
    without, they GET this page, which has one.
    """
    try:
        match = resolve(request.GET.get("action", ""))
    except Resolver404:
        match = None
    if match is None or match.url_name not in CONFIRMABLE:
        message = "There is nothing to confirm at this address; go back and press the button."
        return _message(request, message, status=404)
    context = {"action": request.GET["action"], "kind": match.url_name, "back": _referer(request)}
    if match.url_name == "run_line":
        line = get_object_or_404(SnippetLine, pk=match.kwargs["line_id"])
        context |= {"lines": [line], "snippet": line.snippet, "back": _back_to(line)}
    elif match.url_name == "run_snippet":
        snippet = get_object_or_404(Snippet, pk=match.kwargs["snippet_id"])
        lines = list(snippet.lines.all())
        context |= {"lines": lines, "snippet": snippet}
        if lines:
            context["back"] = _back_to(lines[0])
    return render(request, "runner/confirm.html", context)


ORIGINS = {"yours", "recorded"}  # a run cell's label: the visitor's own run, or the page's last
CONFIRMABLE = {"run_line", "run_snippet", "sandbox_reset"}


@require_POST
def sandbox_reset(request: HttpRequest) -> HttpResponse:
    if denied := _forbidden(request):
        return denied
    key = visitor_key(request)
    had = live_sandbox(key)
    if had:
        try:
            record_reset(visitor=_visitor(request), sandbox=had)
        except RunRefused as exc:
            return _message(request, str(exc), status=exc.status, title="Your sandbox")
        reset_sandbox.enqueue(visitor=key)
        message = "Your sandbox is being removed; your next run starts in a fresh one."
    else:
        message = "You have no sandbox yet; your first run starts one."
    if request.htmx:
        return _message(request, message, status=200, title="Your sandbox")
    # Without JavaScript this comes from the confirmation page: say what happened there, with
    # the way back to the notes it came from (the day page is the same for all: no message).
    back = request.POST.get("next", "")
    back = back if _safe(request, back) else ""
    return _message(request, message, status=200, title="Your sandbox", back=back)
