"""Refused Run all presses: with htmx the message goes into the block's notice area.

Run all's form swaps nothing (its cells come out of band, runner/run_all.html), so a refusal
must say where it goes: HX-Retarget to the block's notice (templates/runner/_snippet_notice.html)
and HX-Reswap, as the swarm controls do (runner.views_swarm._refused).
"""

from __future__ import annotations

import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult

from runner.models import Run
from talks.models import Snippet, SnippetLine

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def snippet(demo_day) -> Snippet:
    return SnippetLine.objects.get(command="docker service ls").snippet


def assert_in_notice(response, snippet: Snippet, message: str) -> None:
    assert response["HX-Retarget"] == f"#snippet-{snippet.pk}-notice"
    assert response["HX-Reswap"] == "innerHTML"
    html = response.content.decode()
    assert html.startswith('<p class="notice" role="alert">')  # announced
    assert message in html


def test_it_puts_the_in_flight_refusal_of_run_all_in_the_blocks_notice(client, snippet, settings):
    lines = snippet.lines.count()
    settings.RUNNER_MAX_IN_FLIGHT = lines
    assert client.post(f"/run/snippet/{snippet.pk}/", **HX).status_code == 200  # stays queued
    response = client.post(f"/run/snippet/{snippet.pk}/", **HX)  # pressed twice
    assert response.status_code == 429
    assert_in_notice(response, snippet, f"You already have {lines} runs waiting or running")
    assert Run.objects.count() == lines
    # The page's notice area is the one retargeted.
    day_page = client.get(snippet.talk.day.get_absolute_url()).content.decode()
    assert f'<div id="snippet-{snippet.pk}-notice" class="snippet-notice"' in day_page


def test_it_puts_the_rate_limit_of_run_all_in_the_blocks_notice(client, snippet, settings):
    lines = snippet.lines.count()
    settings.RUNNER_RATE_PER_MINUTE = lines
    assert client.post(f"/run/line/{snippet.lines.first().pk}/", **HX).status_code == 200
    response = client.post(f"/run/snippet/{snippet.pk}/", **HX)
    assert response.status_code == 429
    assert_in_notice(response, snippet, f"Too many runs: at most {lines} a minute per visitor.")
    assert Run.objects.count() == 1


def test_it_puts_run_all_of_an_empty_block_in_its_notice(client, snippet):
    empty = Snippet.objects.create(talk=snippet.talk, position=99)
    response = client.post(f"/run/snippet/{empty.pk}/", **HX)
    assert response.status_code == 400
    assert_in_notice(response, empty, "This block has no command lines to run.")


def test_it_puts_a_forbidden_run_all_in_the_blocks_notice(client, snippet, settings):
    settings.RUNNER_ANONYMOUS = False
    response = client.post(f"/run/snippet/{snippet.pk}/", **HX)
    assert response.status_code == 403
    assert_in_notice(response, snippet, "Log in to run commands.")


def test_a_refused_run_all_without_javascript_is_a_page_of_its_own(snippet, settings):
    settings.RUNNER_RATE_PER_MINUTE = 0
    response = Client().post(f"/run/snippet/{snippet.pk}/")
    assert response.status_code == 429
    assert "HX-Retarget" not in response and "HX-Reswap" not in response
    html = response.content.decode()
    assert "<h1>Run refused</h1>" in html
    assert "Too many runs: at most 0 a minute per visitor." in html


def test_a_refused_single_run_stays_in_its_own_cell(client, snippet, settings):
    settings.RUNNER_MAX_IN_FLIGHT = 1
    line = snippet.lines.first()
    client.post(f"/run/line/{line.pk}/", **HX)
    response = client.post(f"/run/line/{line.pk}/", **HX)
    assert response.status_code == 429
    assert "HX-Retarget" not in response  # its form targets the line's output already
    assert "You already have 1 run waiting or running" in response.content.decode()


def test_a_refused_line_ends_run_all_there_like_a_failing_one(client, snippet, settings):
    # Like a notebook: the lines before it run, the ones after it are skipped, not run after it.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    lines = list(snippet.lines.order_by("position"))
    refused = lines[2]
    SnippetLine.objects.filter(pk=refused.pk).update(command="docker run --privileged alpine")
    html = client.post(f"/run/snippet/{snippet.pk}/", **HX).content.decode()
    runs = list(Run.objects.order_by("pk"))
    assert [run.status for run in runs] == [
        Run.Status.QUEUED,
        Run.Status.QUEUED,
        Run.Status.REFUSED,
        *[Run.Status.SKIPPED] * (len(lines) - 3),
    ]
    queued = [task.args_kwargs["kwargs"]["run_ids"] for task in DBTaskResult.objects.all()]
    assert queued == [[runs[0].pk, runs[1].pk]]
    assert all(run.reason == runs[-1].reason for run in runs[3:])
    assert "Skipped: an earlier line of this block did not succeed." in html
    assert "`docker run` is not allowed here" in runs[2].reason
