"""The task worker's claim (runner/worker.py): upstream's order and claim, in its own SQL, on
both databases; a real worker process runs tasks in tests/integration/test_runner_journey.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from runner.models import Run
from runner.tasks import execute_runs, reset_sandbox
from runner.wakeup import Alarm
from runner.worker import WakeableWorker
from talks.models import SnippetLine

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


def _runs(visitor: str, *statuses: str) -> list[Run]:
    line = SnippetLine.objects.get(command="docker service ls")
    return [
        Run.objects.create(snippet_line=line, visitor=visitor, line=line.command, status=status)
        for status in statuses
    ]


def _run_ids(task: DBTaskResult | None) -> list[int] | None:
    return None if task is None else task.args_kwargs["kwargs"]["run_ids"]


def test_a_visitors_later_runs_wait_in_the_queue_not_in_a_worker(worker, demo_day):
    # X's update is running; X then presses Run again; Y presses Run after that.
    running, later = _runs("x" * 24, Run.Status.RUNNING, Run.Status.QUEUED)
    (others,) = _runs("y" * 24, Run.Status.QUEUED)
    execute_runs.enqueue(run_ids=[later.pk])
    execute_runs.enqueue(run_ids=[others.pk])
    reset_sandbox.enqueue(visitor="z" * 24)

    # Y's run and the reset are claimed at once: no worker is given X's later run to wait on.
    assert _run_ids(worker.next_task()) == [others.pk]
    assert _visitor(worker.next_task()) == "z" * 24
    assert worker.next_task() is None
    assert DBTaskResult.objects.filter(status="READY").count() == 1

    running.status = Run.Status.SUCCEEDED
    running.save()
    assert _run_ids(worker.next_task()) == [later.pk]


def test_a_visitors_runs_are_claimed_in_the_order_asked_for(worker, demo_day):
    first, second = _runs("x" * 24, Run.Status.QUEUED, Run.Status.QUEUED)
    execute_runs.using(priority=10).enqueue(run_ids=[second.pk])  # even ahead in the queue
    execute_runs.enqueue(run_ids=[first.pk])
    assert _run_ids(worker.next_task()) == [first.pk]
    assert worker.next_task() is None  # the first is claimed, not run yet: still in flight
    Run.objects.filter(pk=first.pk).update(status=Run.Status.FAILED)
    assert _run_ids(worker.next_task()) == [second.pk]


def test_a_block_waits_for_the_visitors_earlier_runs_only(worker, demo_day):
    (earlier,) = _runs("x" * 24, Run.Status.RUNNING)
    block = _runs("x" * 24, Run.Status.QUEUED, Run.Status.QUEUED, Run.Status.QUEUED)
    execute_runs.enqueue(run_ids=[run.pk for run in block])
    assert worker.next_task() is None
    Run.objects.filter(pk=earlier.pk).update(status=Run.Status.SUCCEEDED)
    # Its own later lines are queued too, but they are the task's own.
    assert _run_ids(worker.next_task()) == [run.pk for run in block]
