"""Waking the worker when work is queued (runner/wakeup.py); a real worker process is woken in
tests/integration/test_runner_journey.py."""

from __future__ import annotations

import socket
import time

import pytest
from django.db import transaction

from runner import wakeup
from runner.wakeup import Alarm, wake_workers


@pytest.fixture
def wakeup_dir(tmp_path, settings):
    settings.RUNNER_WAKEUP_DIR = tmp_path / "wakeup"
    return settings.RUNNER_WAKEUP_DIR


def test_a_wake_up_ends_the_wait_at_once(wakeup_dir):
    with Alarm() as alarm:
        assert alarm.path.parent == wakeup_dir and alarm.path.exists()
        assert wake_workers() == 1
        started = time.monotonic()
        assert alarm.wait(10) is True
        assert time.monotonic() - started < 1
        for _ in range(3):  # several wake-ups while busy count as one poll
            wake_workers()
        assert alarm.wait(10) is True
        assert alarm.wait(0.05) is False  # drained: nothing left to wake it
    assert not alarm.path.exists()  # closing removes the socket


def test_waking_nobody_is_harmless(wakeup_dir):
    assert wake_workers() == 0  # the directory does not even exist yet
    wakeup_dir.mkdir()
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    stale.bind(str(wakeup_dir / "worker-999999999.sock"))
    stale.close()  # a socket file nobody listens on, as a killed worker leaves behind
    assert wake_workers() == 0


def test_a_worker_clears_the_sockets_of_dead_workers(wakeup_dir):
    wakeup_dir.mkdir()
    dead = wakeup_dir / "worker-999999999.sock"
    dead.touch()
    with Alarm():
        assert not dead.exists()


def test_the_wake_up_waits_for_the_commit(
    wakeup_dir, monkeypatch, db, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(wakeup, "wake_workers", lambda: sent.append(True))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        wakeup.on_task_enqueued(sender=None)
        assert sent == []  # the task row is not visible to a worker yet
    assert sent == [True]


def test_enqueueing_a_task_wakes_the_workers(
    wakeup_dir, settings, db, django_capture_on_commit_callbacks
):
    from runner.tasks import reset_sandbox

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    with Alarm() as alarm:
        with django_capture_on_commit_callbacks(execute=True):
            reset_sandbox.enqueue(visitor="nobody")
        assert alarm.wait(5) is True
