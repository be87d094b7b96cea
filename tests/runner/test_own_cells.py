"""The block's swarm fragment, per visitor. After a reload, the visitor's own runs in flight come
back under their lines: the day page (the same for every reader) shows finished runs only, so the
fragment brings their cells out of band when it first loads (runner.views_swarm._own_cells). And
a visitor whose sandbox expired is told so."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from runner.models import Run, RunnerStatus, Sandbox
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


def test_a_visitor_whose_sandbox_expired_is_told_so(running):
    """The reaper removed it, with the services in it: not "You have no sandbox yet"."""
    Run.objects.all().delete()
    Sandbox.objects.update(status=Sandbox.Status.GONE, error=Sandbox.EXPIRED)
    html = visitor().get("/swarm/?block=1", **HX).content.decode()
    assert "Your sandbox expired (a sandbox lasts 30 minutes without a run, 120 in all)" in html
    assert "no sandbox yet" not in html
    Sandbox.objects.update(error="Reset by its visitor.")
    assert "no sandbox yet" in visitor().get("/swarm/?block=1", **HX).content.decode()
