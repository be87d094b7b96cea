"""A refused Run of one line (429) comes with the cell it replaces: the visitor's run still in
flight goes on polling, or the line's last recorded output stays, under the alert."""

from __future__ import annotations

import pytest
from django.utils import timezone

from runner.models import Run, RunnerStatus
from talks.models import SnippetLine

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def line(demo_day):
    RunnerStatus.objects.update_or_create(
        pk=1, defaults={"available": True, "checked_at": timezone.now()}
    )
    return SnippetLine.objects.get(command="docker service ls")


def test_the_run_in_flight_keeps_polling_under_the_refusal(client, line, settings):
    settings.RUNNER_MAX_IN_FLIGHT = 1
    client.post(f"/run/line/{line.pk}/", **HX)
    queued = Run.objects.get()
    response = client.post(f"/run/line/{line.pk}/", **HX)
    assert response.status_code == 429
    html = response.content.decode()
    assert html.startswith('<p class="notice" role="alert">You already have 1 run waiting')
    assert f'hx-get="/runs/{queued.pk}/?origin=yours"' in html
    assert "Your run" in html and 'data-status="queued"' in html
    assert Run.objects.count() == 1


def test_the_last_recorded_output_stays_under_the_refusal(client, line, settings):
    recorded = Run.objects.create(
        snippet_line=line, visitor="someone", line=line.command, status=Run.Status.SUCCEEDED,
        exit_code=0, stdout="ID NAME vote", finished_at=timezone.now(),
    )  # fmt: skip
    settings.RUNNER_RATE_PER_MINUTE = 0
    response = client.post(f"/run/line/{line.pk}/", **HX)
    assert response.status_code == 429
    html = response.content.decode()
    assert html.startswith('<p class="notice" role="alert">Too many runs')
    assert f'id="run-{recorded.pk}-stdout"' in html and "Last run by a reader" in html
    assert "hx-get" not in html  # finished: nothing polls


def test_without_javascript_the_refusal_is_a_page(client, line, settings):
    settings.RUNNER_RATE_PER_MINUTE = 0
    response = client.post(f"/run/line/{line.pk}/")
    assert response.status_code == 429
    assert "<h1>Run refused</h1>" in response.content.decode()
