"""The page (or, with htmx, the alert) for a request Django's CSRF check refused.

With htmx the site swaps 4xx answers in (templates/base.html), so Django's own error document
would replace the whole notes page. Almost always the browser did not send the site's cookie
(blocked, deleted, or the page was opened before it was set): say so in plain words, where the
pressed button shows its answers, as the runner's other refusals do (runner.views._message).
"""

from __future__ import annotations

from django.db import router
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django_htmx.http import reswap, retarget

from runner import rows
from runner import views as runner_views
from runner.views_swarm import _block
from talks.models import SnippetLine

RUN_MESSAGE = (
    "Your browser did not send this site's cookie, so nothing was run. Reload the page "
    "(cookies must be allowed for this site) and press Run again."
)
OTHER_MESSAGE = (
    "Your browser did not send this site's cookie, so this was not done. Reload the page "
    "(cookies must be allowed for this site) and try again."
)
TITLE = "Cookie not sent"
SWARM_ACTIONS = {"sandbox_start", "node_stop", "node_start"}


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: 403, in the site's layout, or as an alert where htmx swaps it."""
    try:
        match = resolve(request.path_info)
    except Resolver404:
        match = None
    name = match.view_name if match else ""
    if name == "runner:run_line":
        line_id = match.kwargs["line_id"]
        line = rows.get(SnippetLine, line_id, using=router.db_for_read(SnippetLine))
        if line is not None:
            return runner_views.refused_in_line(request, line, RUN_MESSAGE, status=403, title=TITLE)
    message = RUN_MESSAGE if name in {"runner:run_line", "runner:run_snippet"} else OTHER_MESSAGE
    response = runner_views._message(request, message, status=403, title=TITLE)
    if name == "runner:run_snippet":
        return runner_views.in_block_notice(
            request, response, snippet_id=match.kwargs["snippet_id"]
        )
    if request.htmx and name in {f"runner:{action}" for action in SWARM_ACTIONS}:
        # Beside the swarm's controls, as their other refusals: the picture stays.
        response = reswap(retarget(response, f"#swarm-{_block(request)}-notice"), "innerHTML")
    return response
