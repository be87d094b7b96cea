"""A reset is in the audit trail like the other sandbox actions (who, from where, when) and is
counted by the rate limits (it was neither)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.test import Client

from runner import views
from runner.models import Run, Sandbox
from runner.sandbox_actions import RESET_LINE
from runner.visitors import VISITOR_COOKIE, cookie_value
from tests.runner.swarm_fixtures import give_sandbox

HX = {"HTTP_HX_REQUEST": "true"}
KEY = "c" * 24

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued_resets(monkeypatch) -> list[str]:
    asked: list[str] = []
    task = SimpleNamespace(enqueue=lambda visitor: asked.append(visitor))
    monkeypatch.setattr(views, "reset_sandbox", task)  # the worker's task, not run here
    return asked


def visitor() -> Client:
    client = Client(REMOTE_ADDR="203.0.113.9")
    client.cookies[VISITOR_COOKIE] = cookie_value(KEY)
    return client


def test_a_reset_is_recorded_with_who_and_from_where(queued_resets):
    sandbox = give_sandbox(KEY)
    response = visitor().post("/sandbox/reset/", **HX)
    assert response.status_code == 200 and "being removed" in response.content.decode()
    [run] = Run.objects.all()
    assert (run.line, run.visitor, run.remote_addr, run.sandbox_id) == (
        RESET_LINE,
        KEY,
        "203.0.113.9",
        sandbox.pk,
    )
    assert run.is_sandbox_action and run.finished and queued_resets == [KEY]


def test_resets_count_against_the_rate_limit(queued_resets, settings):
    settings.RUNNER_RATE_PER_MINUTE = 1
    give_sandbox(KEY)
    assert visitor().post("/sandbox/reset/", **HX).status_code == 200
    Sandbox.objects.update(status=Sandbox.Status.READY)  # as if the worker had not got to it
    refused = visitor().post("/sandbox/reset/", **HX)
    assert refused.status_code == 429
    assert "Too many runs: at most 1 a minute" in refused.content.decode()
    assert Run.objects.count() == 1 and queued_resets == [KEY]
