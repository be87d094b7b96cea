"""Run all on a block longer than a per-visitor limit (M3 of the QA review).

A block's Run all is one job that one worker runs line by line, so a block is not refused for
its length alone: it runs when nothing else counts against the limit it exceeds. When something
does, the message says so, with the numbers, and never claims runs that are not there.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from runner.models import Run
from runner.runs import RunRefused, Visitor, recover_stuck_runs, request_runs
from tests.factories import block_of

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def visitor(key: str = "b" * 24) -> Visitor:
    return Visitor(key=key, user_id=None, remote_addr="192.0.2.44")


def test_a_block_longer_than_the_in_flight_limit_runs_as_one_job(settings):
    settings.RUNNER_MAX_IN_FLIGHT = 8
    lines = block_of(18)
    runs = request_runs(lines=lines, visitor=visitor())
    assert [r.status for r in runs] == [Run.Status.QUEUED] * 18
    assert len({r.batch for r in runs}) == 1 and runs[0].batch


def test_a_long_block_waits_for_the_visitors_other_runs_and_says_so(settings):
    settings.RUNNER_MAX_IN_FLIGHT = 8
    lines = block_of(18)
    request_runs(lines=lines[:1], visitor=visitor())  # one run of theirs, still queued
    with pytest.raises(RunRefused) as refused:
        request_runs(lines=lines, visitor=visitor())
    assert refused.value.message == (
        "This block has 18 lines, more than the 8 runs you may have waiting at once, so Run all "
        "starts it only when none of yours is waiting or running; you have 1 run waiting or "
        "running. Let them finish, then press Run all again."
    )
    assert "You already have 0" not in refused.value.message


def test_a_block_longer_than_the_rate_runs_when_the_visitor_made_no_other_run_lately(settings):
    settings.RUNNER_RATE_PER_MINUTE = 30
    settings.RUNNER_MAX_IN_FLIGHT = 100
    lines = block_of(40)
    assert len(request_runs(lines=lines, visitor=visitor())) == 40
    other = visitor("c" * 24)
    request_runs(lines=lines[:1], visitor=other)
    with pytest.raises(RunRefused) as refused:
        request_runs(lines=lines, visitor=other)
    assert refused.value.message == (
        "This block has 40 lines, more than the 30 runs a minute a visitor may start, so Run "
        "all starts it only when you have started no other run in the last minute (1 run so "
        "far). Wait a minute and press Run all again."
    )


def test_run_all_of_an_18_line_block_through_the_page(client: Client, settings):
    settings.RUNNER_MAX_IN_FLIGHT = 8
    lines = block_of(18)
    response = client.post(f"/run/snippet/{lines[0].snippet_id}/", **HX)
    assert response.status_code == 200, response.content.decode()
    assert Run.objects.filter(status=Run.Status.QUEUED).count() == 18


def test_the_later_lines_of_a_long_block_at_work_are_not_closed_as_stuck(settings):
    lines = block_of(3)
    first, second, third = request_runs(lines=lines, visitor=visitor())
    long_ago = timezone.now() - timedelta(hours=1)
    Run.objects.filter(pk__in=[first.pk, second.pk, third.pk]).update(created_at=long_ago)
    Run.objects.filter(pk=first.pk).update(
        status=Run.Status.SUCCEEDED, started_at=long_ago, finished_at=timezone.now()
    )
    assert recover_stuck_runs() == 0  # line 1 just finished: the job is at work
    assert Run.objects.get(pk=third.pk).status == Run.Status.QUEUED
    Run.objects.filter(pk=first.pk).update(finished_at=long_ago)
    assert recover_stuck_runs() == 2  # nothing of it moved for an hour: stuck
