"""A worker waiting for a swarm to converge stops waiting when a job has waited for a worker
as long: two visitors' slow rolling updates held both workers for two minutes while a third
visitor's `docker service ls` waited. Through the worker's own code, with a fake `docker` and
swarm pictures made by hand (tests/runner/test_failing_tasks.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from runner import runs
from runner.models import Run
from runner.swarm import SwarmPicture
from tests.runner.swarm_fixtures import node, service, task
from tests.runner.test_failing_tasks import execute, shared_engine, swarm_reads  # noqa: F401

pytestmark = pytest.mark.django_db


def half_running(now):
    """`vote` wants two tasks and has one: it never converges."""
    vote = service("vote", replicas=2)
    return SwarmPicture(
        nodes=[node("manager1")], services=[vote], tasks=[task("vote", 1, "manager1", at=now)]
    )


def job_waiting(seconds: float) -> DBTaskResult:
    """A job queued ``seconds`` ago that no worker has taken."""
    job = DBTaskResult.objects.create(
        task_path="runner.tasks.execute_runs",
        args_kwargs={"args": [], "kwargs": {"run_ids": []}},
        backend_name="default",
        queue_name="default",
        run_after=timezone.now() - timedelta(seconds=seconds),
    )
    DBTaskResult.objects.filter(pk=job.pk).update(
        enqueued_at=timezone.now() - timedelta(seconds=seconds)
    )
    return job


@pytest.fixture
def quick(settings, monkeypatch, shared_engine):  # noqa: F811
    settings.RUNNER_CONVERGE_SECONDS = 3
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    monkeypatch.setattr(runs, "YIELD_AFTER_SECONDS", 0.6)
    swarm_reads(monkeypatch, half_running)


def test_it_stops_waiting_when_a_job_waits_for_a_worker(quick):
    job_waiting(seconds=30)
    run, took = execute("docker service scale vote=2")
    assert run.status == Run.Status.SUCCEEDED
    assert took < 3, took  # before the 3 s bound (the message says why)
    assert run.converged.startswith("Stopped waiting after")
    assert "so that other commands waiting for the runner could start" in run.converged
    assert "vote: 1/2 tasks running" in run.converged
    # The picture follows the swarm without the worker (tests/runner/test_following.py).
    assert DBTaskResult.objects.filter(task_path="runner.tasks.follow_swarm").count() == 1


def test_it_waits_out_the_bound_when_no_one_waits(quick):
    taken = job_waiting(seconds=30)
    running = TaskResultStatus.RUNNING  # a worker has it
    DBTaskResult.objects.filter(pk=taken.pk).update(status=running)
    later = job_waiting(seconds=30)  # due in a minute: no one waits for it yet
    DBTaskResult.objects.filter(pk=later.pk).update(
        run_after=timezone.now() + timedelta(seconds=60)
    )
    run, took = execute("docker service scale vote=2")
    assert run.status == Run.Status.SUCCEEDED
    assert took >= 3
    assert run.converged.startswith("Still converging after 3 s.")
    assert DBTaskResult.objects.filter(task_path="runner.tasks.follow_swarm").count() == 1


def test_one_waiting_job_frees_one_worker_not_all(quick):
    """Two workers waiting for swarms both stopped for one visitor's one job."""
    job_waiting(seconds=30)
    first, _ = execute("docker service scale vote=2")
    assert first.converged.startswith("Stopped waiting after")
    command = "docker service scale vote=2"
    second = Run.objects.create(  # the job is about to be taken: this one waits
        snippet_line=first.snippet_line,
        visitor=first.visitor,
        line=command,
        argv=list(runs.decide(command, first.visitor).argv),
    )
    runs.execute_runs([second.pk])
    second.refresh_from_db()
    assert second.converged.startswith("Still converging after 3 s."), second.converged
