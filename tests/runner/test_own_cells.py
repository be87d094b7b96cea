"""After a reload, the visitor's own runs in flight come back under their lines: the day page
(the same for every reader) shows finished runs only, so the block's swarm fragment brings their
cells out of band when it first loads (runner.views_swarm._own_cells)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from runner.models import Run, RunnerStatus
from runner.visitors import VISITOR_COOKIE, cookie_value
from talks.models import SnippetLine
from tests.runner.swarm_fixtures import give_sandbox

HX = {"HTTP_HX_REQUEST": "true"}
KEY = "a" * 24


@pytest.fixture
def running(demo_day) -> Run:
    RunnerStatus.objects.create(
        pk=1, available=True, explanation="Sandboxes available.", checked_at=timezone.now()
    )
    line = SnippetLine.objects.get(command="docker service ls")
    return Run.objects.create(
        snippet_line=line,
        sandbox=give_sandbox(KEY),
        visitor=KEY,
        line=line.command,
        argv=line.command.split(),
        status=Run.Status.RUNNING,
    )


def visitor(key: str = KEY) -> Client:
    client = Client()
    client.cookies[VISITOR_COOKIE] = cookie_value(key)
    return client


def test_the_blocks_first_load_brings_back_the_visitors_cell_in_flight(running):
    block = running.snippet_line.snippet_id
    html = visitor().get(f"/swarm/?block={block}", **HX).content.decode()
    line = running.snippet_line_id
    assert f'<div class="run-output" id="line-{line}-output" aria-live="polite" ' in html
    assert 'hx-swap-oob="true"' in html and f'hx-get="/runs/{running.pk}/?origin=yours"' in html
    assert "Your run" in html and 'data-status="running"' in html


def test_only_the_first_load_of_its_own_block_and_only_the_visitors_runs(running):
    block = running.snippet_line.snippet_id
    polled = visitor().get(f"/swarm/?block={block}&seen=x", **HX).content.decode()
    assert "hx-swap-oob" not in polled  # the cell polls on its own
    assert "hx-swap-oob" not in visitor().get(f"/swarm/?block={block + 1}", **HX).content.decode()
    assert (
        "hx-swap-oob" not in visitor("b" * 24).get(f"/swarm/?block={block}", **HX).content.decode()
    )
    Run.objects.filter(pk=running.pk).update(
        status=Run.Status.SUCCEEDED, finished_at=timezone.now()
    )
    assert "hx-swap-oob" not in visitor().get(f"/swarm/?block={block}", **HX).content.decode()
