"""The queue's rows of finished jobs go after a day (housekeeping): nothing else deleted them,
and the swarm picture's follow-up reads add one every 2 s while a swarm is followed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from runner.worker import prune_task_results

pytestmark = pytest.mark.django_db


def job(status: str, *, ended_ago: timedelta | None) -> DBTaskResult:
    row = DBTaskResult.objects.create(
        task_path="runner.tasks.follow_swarm",
        args_kwargs={"args": [], "kwargs": {"sandbox_id": 1, "until": 0}},
        backend_name="default",
        queue_name="default",
        run_after=timezone.now(),
        status=status,
    )
    if ended_ago is not None:
        DBTaskResult.objects.filter(pk=row.pk).update(finished_at=timezone.now() - ended_ago)
    return row


def test_housekeeping_deletes_the_rows_of_jobs_that_ended_a_day_ago():
    old_done = job(TaskResultStatus.SUCCESSFUL, ended_ago=timedelta(days=2))
    old_failed = job(TaskResultStatus.FAILED, ended_ago=timedelta(days=2))
    recent = job(TaskResultStatus.SUCCESSFUL, ended_ago=timedelta(hours=1))
    waiting = job(TaskResultStatus.READY, ended_ago=None)
    running = job(TaskResultStatus.RUNNING, ended_ago=None)
    assert prune_task_results() == 2
    left = set(DBTaskResult.objects.values_list("pk", flat=True))
    assert left == {recent.pk, waiting.pk, running.pk}
    assert not {old_done.pk, old_failed.pk} & left
