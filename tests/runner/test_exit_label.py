"""A run that failed after its command exited 0 (a reset while the swarm converged) does not
read "✗ Failed · exit code 0": the cell and the history say the command was accepted."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from runner.models import Run
from talks.models import SnippetLine

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}
RESET = "Your sandbox was reset while this ran, so the swarm was removed before it converged."


@pytest.fixture
def interrupted(demo_day) -> Run:
    line = SnippetLine.objects.get(command="docker service ls")
    now = timezone.now()
    return Run.objects.create(
        snippet_line=line, visitor="v", line=line.command, status=Run.Status.FAILED,
        exit_code=0, reason=RESET, started_at=now, finished_at=now, stdout="vote",
    )  # fmt: skip


def test_the_cell_says_the_command_was_accepted(interrupted):
    html = Client().get(f"/runs/{interrupted.pk}/", **HX).content.decode()
    assert "✗ Failed" in html and "· command accepted (exit code 0)" in html
    assert "· exit code 0" not in html
    assert RESET in html


def test_the_history_says_so_too(interrupted):
    html = Client().get(f"/snippets/{interrupted.snippet_line.snippet_id}/history/").content
    html = html.decode()
    assert "Failed</span> · command accepted (exit code 0)" in html


@pytest.mark.parametrize(
    ("status", "code", "label"),
    [
        (Run.Status.SUCCEEDED, 0, "exit code 0"),
        (Run.Status.FAILED, 1, "exit code 1"),
        (Run.Status.FAILED, 0, "command accepted (exit code 0)"),
        (Run.Status.TIMED_OUT, None, ""),
    ],
)
def test_exit_label(status, code, label):
    assert Run(status=status, exit_code=code).exit_label == label
