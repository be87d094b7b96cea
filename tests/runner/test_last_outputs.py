"""Each line's "last run by a reader" (Run.objects.last_per_line), on the day page and in exports
with outputs: the latest finished run that ran the command and printed something. Runs that
were skipped, refused, never reached an engine, or are still in flight never replace it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from runner.models import Run
from talks.models import SnippetLine

pytestmark = pytest.mark.django_db
DAY_URL = "/c/dockercon-2016/day-1/"
S = Run.Status


def run(line: SnippetLine, status: str, **fields) -> Run:
    finished = None if status in Run.IN_FLIGHT else timezone.now()
    return Run.objects.create(
        snippet_line=line, visitor="v", line=line.command, status=status, finished_at=finished,
        **fields,
    )  # fmt: skip


def test_later_runs_without_the_commands_output_do_not_replace_it(line, django_assert_num_queries):
    shown = run(line, S.SUCCEEDED, exit_code=0, stdout="ID NAME vote")
    run(line, S.SKIPPED, reason="Skipped: an earlier line of this block did not succeed.")
    run(line, S.REFUSED, reason="Your sandbox already has 5 services.")
    run(line, S.ENGINE_UNAVAILABLE, reason="No engine.")
    run(line, S.ERROR, reason="The runner failed.")
    run(line, S.SUCCEEDED, exit_code=0)  # printed nothing
    run(line, S.RUNNING, stdout="partial")
    run(line, S.QUEUED)
    with django_assert_num_queries(1):
        assert Run.objects.last_per_line([line.pk]) == {line.pk: shown}

    html = Client().get(DAY_URL).content.decode()
    assert "ID NAME vote" in html and "Skipped" not in html and "Queued" not in html
    export = Client().get(DAY_URL + "export.md", {"outputs": "1"}).content.decode()
    assert "ID NAME vote" in export


@pytest.mark.parametrize(
    ("status", "fields"),
    [
        (S.FAILED, {"exit_code": 1, "stderr": "Error: No such service: vote"}),
        (S.TIMED_OUT, {"stdout": "half of it"}),
        (S.SUCCEEDED, {"exit_code": 0, "stdout": "newer"}),
    ],
)
def test_a_later_run_with_the_commands_output_does(line, status, fields):
    run(line, S.SUCCEEDED, exit_code=0, stdout="older")
    latest = run(line, status, **fields)
    assert Run.objects.last_per_line([line.pk]) == {line.pk: latest}


def test_a_line_with_only_runs_that_showed_nothing_shows_no_cell(line):
    run(line, S.SKIPPED, reason="Skipped: an earlier line of this block did not succeed.")
    assert Run.objects.last_per_line([line.pk]) == {}
    assert f'id="line-{line.pk}-output" aria-live="polite"></div>' in (
        Client().get(DAY_URL).content.decode()
    )


def test_a_cell_shows_when_its_command_started_not_when_its_block_was_queued(line):
    # Run all asks for every line of a block at once; the lines run one after the other.
    queued = timezone.now().replace(microsecond=0) - timedelta(minutes=5)
    started = queued + timedelta(seconds=47)
    run(
        line, S.SUCCEEDED, exit_code=0, stdout="ID NAME vote", created_at=queued, started_at=started
    )
    html = Client().get(DAY_URL).content.decode()
    assert f'<time datetime="{started.isoformat()}">' in html
    assert started.strftime("%H:%M:%S") in html and queued.strftime("%H:%M:%S") not in html
    history = Client().get(reverse("runner:history", args=[line.snippet_id])).content.decode()
    assert f'<time datetime="{started.isoformat()}">' in history


def test_a_run_that_never_started_shows_when_it_was_asked_for(line):
    refused = run(line, S.REFUSED, reason="Your sandbox already has 5 services.")
    assert refused.started_at is None and refused.ran_at == refused.created_at
