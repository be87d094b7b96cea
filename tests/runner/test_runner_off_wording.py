"""With RUNNER_MODE=off no page tells readers to press Run, the day page speaks of recorded
outputs only when it shows some, and the setting's name is for staff alone (DEBUG or not)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from runner.models import Run
from talks.models import SnippetLine

pytestmark = pytest.mark.django_db
DAY_URL = "/c/dockercon-2016/day-1/"
OFF = "Running commands is switched off on this site"
RECORDED = "The outputs shown are the last recorded ones."


@pytest.fixture
def off(settings, demo_day):
    settings.RUNNER_MODE = "off"
    return SnippetLine.objects.get(command="docker service ls")


def test_the_history_does_not_say_press_run(off):
    html = Client().get(f"/snippets/{off.snippet_id}/history/").content.decode()
    assert "Nobody has run these lines yet." in html and OFF in html
    assert "Press <strong>Run</strong>" not in html


def test_the_swarm_page_does_not_say_press_run(off):
    html = Client().get("/swarm/").content.decode()
    assert OFF in html
    assert "Press <strong>Run</strong>" not in html and "When you next run a line" not in html


def test_the_notice_speaks_of_outputs_only_in_a_block_that_shows_some(off):
    assert RECORDED not in Client().get(DAY_URL).content.decode()
    Run.objects.create(
        snippet_line=off, visitor="v", line=off.command, status=Run.Status.SUCCEEDED,
        exit_code=0, stdout="ID NAME", finished_at=timezone.now(),
    )  # fmt: skip
    html = Client().get(DAY_URL).content.decode()
    notice = html.split(f'id="snippet-{off.snippet_id}-notice"')[1].split("</div>")[0]
    assert OFF in notice and RECORDED in notice


def test_the_setting_is_named_to_staff_only_in_development(off, settings, staff_client):
    settings.DEBUG = True
    assert "RUNNER_MODE=off" not in Client().get(DAY_URL).content.decode()
    assert "<code>RUNNER_MODE=off</code>" in staff_client.get(DAY_URL).content.decode()


def test_with_running_on_the_pages_still_say_press_run(demo_day, settings):
    settings.RUNNER_MODE = "sandbox"
    line = SnippetLine.objects.get(command="docker service ls")
    html = Client().get(f"/snippets/{line.snippet_id}/history/").content.decode()
    assert "Press <strong>Run</strong>" in html
