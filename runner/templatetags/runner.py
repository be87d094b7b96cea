"""The runner's part of a notes page: last outputs and whether Run can be offered.

Talks templates call ``{% runner_page talks as runner %}`` once per page; it attaches
``line.last_run`` to every snippet line on the page in one query, so the page's query count
does not grow with the number of lines. ``code_spans`` shows the runner's own sentences (run
notes, reasons, messages), which put commands and flags in `backticks`, with those as code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django import template
from django.conf import settings
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from runner.models import Run, RunnerStatus
from runner.runs import refusals
from runner.views import may_run

register = template.Library()
_CODE_SPAN = re.compile(r"`([^`\n]+)`")


@register.filter
def code_spans(text: str) -> SafeString:
    """A runner sentence as HTML: escaped, then each `pair of backticks` as <code>. A lone
    backtick stays as it is."""
    escaped = conditional_escape(text)  # backticks are not escaped, so the pairs survive
    return mark_safe(_CODE_SPAN.sub(r"<code>\1</code>", escaped))  # noqa: S308 (escaped above)


@dataclass(frozen=True)
class RunnerPage:
    enabled: bool
    explanation: str  # for every reader, in plain words
    mode: str
    staff_detail: str = ""  # for staff only: the setting or command behind the explanation


OFF_FOR_READERS = "Running commands is switched off on this site."
OFF_FOR_STAFF = "(The setting is `RUNNER_MODE=off`.)"
NO_WORKER_FOR_READERS = RunnerStatus.STOPPED
NO_WORKER_FOR_STAFF = (
    "Start one with `make run`, or `python manage.py run_worker` (as root, for private sandboxes)."
)


def _explanation(status: RunnerStatus | None) -> tuple[str, str]:
    """Why Run is not offered: for readers, and the developer's detail for staff."""
    if settings.RUNNER_MODE == "off":
        return OFF_FOR_READERS, OFF_FOR_STAFF
    if status is None or not status.is_fresh() or status.stopped:
        return NO_WORKER_FOR_READERS, NO_WORKER_FOR_STAFF
    return status.explanation, ""


@register.simple_tag(takes_context=True)
def runner_page(context, talks) -> RunnerPage:
    snippets = [snippet for talk in talks for snippet in talk.all_snippets]
    lines = [line for snippet in snippets for line in snippet.lines.all()]
    last = Run.objects.last_per_line([line.pk for line in lines]) if lines else {}
    for line in lines:
        line.last_run = last.get(line.pk)
    for snippet in snippets:  # its notice mentions the outputs only when it shows some
        snippet.shows_outputs = any(line.last_run for line in snippet.lines.all())
    if not lines:
        return RunnerPage(enabled=False, explanation="", mode=settings.RUNNER_MODE)
    status = RunnerStatus.current()
    available = bool(status and status.is_up())
    request = context["request"]
    if available and not may_run(request):
        return RunnerPage(
            enabled=False,
            explanation="Log in with an account that may run commands to run them here.",
            mode=settings.RUNNER_MODE,
        )
    if available:
        return RunnerPage(enabled=True, explanation="", mode=settings.RUNNER_MODE)
    explanation, detail = _explanation(status)
    return RunnerPage(
        enabled=False,
        explanation=explanation,
        mode=settings.RUNNER_MODE,
        # How to enable running is for staff only (DEBUG or not: a demo served with `make run`
        # has readers too). The day page's cache keys on the staff flag (talks.cache), so this
        # stays theirs.
        staff_detail=detail if getattr(request.user, "is_staff", False) else "",
    )


@register.filter
def refused_lines(commands: list[str]) -> list[tuple[str, str]]:
    """The commands of a block the runner's policy would refuse, with its reasons."""
    return refusals(commands)


@register.simple_tag
def runner_mode() -> str:
    """The RUNNER_MODE setting, for pages whose words depend on it ("off": no Run anywhere)."""
    return settings.RUNNER_MODE
