"""The task worker's claim (runner/worker.py): upstream's order and claim, in its own SQL, on
both databases; a real worker process runs tasks in tests/integration/test_runner_journey.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from runner.tasks import reset_sandbox
from runner.wakeup import Alarm
from runner.worker import WakeableWorker

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker(tmp_path, settings):
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "other"]}
    }
    settings.RUNNER_WAKEUP_DIR = tmp_path / "wakeup"
    with Alarm() as alarm:
        yield WakeableWorker(interval=1, alarm=alarm)


def _visitor(task: DBTaskResult | None) -> str | None:
    return None if task is None else task.args_kwargs["kwargs"]["visitor"]


def test_it_claims_ready_tasks_by_priority_then_age_and_only_once(worker):
    assert worker.next_task() is None  # nothing queued
    reset_sandbox.enqueue(visitor="first")
    reset_sandbox.using(priority=10).enqueue(visitor="urgent")
    reset_sandbox.using(run_after=timezone.now() + timedelta(hours=1)).enqueue(visitor="later")
    reset_sandbox.using(queue_name="other").enqueue(visitor="elsewhere")
    reset_sandbox.enqueue(visitor="second")

    claimed = [worker.next_task() for _ in range(4)]
    assert [_visitor(task) for task in claimed] == ["urgent", "first", "second", None]
    for task in claimed[:3]:
        stored = DBTaskResult.objects.get(pk=task.pk)
        assert stored.status == task.status == "RUNNING"
        assert stored.worker_ids == task.worker_ids == [worker.worker_id]
        assert stored.started_at == task.started_at
    assert DBTaskResult.objects.filter(status="READY").count() == 2  # later, and elsewhere


def test_a_claimed_task_runs_and_is_recorded(worker):
    reset_sandbox.enqueue(visitor="nobody")
    task = worker.next_task()
    worker.run_task(task)
    stored = DBTaskResult.objects.get(pk=task.pk)
    assert stored.status == "SUCCESSFUL" and stored.finished_at is not None


def test_a_task_claimed_again_keeps_its_earlier_workers(worker):
    reset_sandbox.enqueue(visitor="retried")
    DBTaskResult.objects.update(worker_ids=["gone-worker"])
    task = worker.next_task()
    assert DBTaskResult.objects.get(pk=task.pk).worker_ids == ["gone-worker", worker.worker_id]
