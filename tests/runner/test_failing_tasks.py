"""Tasks the engine cannot start end a run early, with the engine's error (H1 of the QA review).

The rule (runner.picture.task_failure): a failure is persistent when every desired slot has
failed twice on the current image with none running it, or one slot three times in a row; one
failure whose replacement runs is transient. An update the engine paused or rolled back failed.
Runs go through the worker's own code with a fake `docker` and swarm pictures made by hand; the
same on a real engine is in tests/integration/test_failing_tasks.py.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta

import pytest
from django.utils import timezone

from runner import picture as swarm_picture
from runner import runs, snapshots
from runner.models import Run
from runner.swarm import SwarmPicture
from tests.factories import lone_line
from tests.runner.swarm_fixtures import T0, node, service, task

BAD = "nosuch/image:zzz"
NO_SUCH = "No such image: nosuch/image:zzz"
VISITOR = "0123456789abcdef01234567"


def attempts(slot: int, count: int, *, image: str = BAD, state: str = "rejected", at=T0):
    """`count` failed attempts of one slot, a second apart, newest last."""
    return [
        task(
            "bad",
            slot,
            "manager1",
            image=image,
            state=state,
            desired="shutdown",
            at=at + timedelta(seconds=i),
            error=NO_SUCH if state == "rejected" else "task: non-zero exit (1)",
        )
        for i in range(count)
    ]


def picture(tasks, *, replicas: int = 1, image: str = BAD, update: str | None = None):
    bad = service("bad", image=image, replicas=replicas, update=update)
    return SwarmPicture(nodes=[node("manager1")], services=[bad], tasks=tasks)


def test_it_sees_an_image_that_no_slot_can_start():
    failure = swarm_picture.task_failure(picture(attempts(1, 2)), "bad")
    assert failure is not None
    assert failure.text == f"bad: the engine could not start its tasks: {NO_SUCH}"


def test_one_failure_is_not_persistent_yet():
    assert swarm_picture.task_failure(picture(attempts(1, 1)), "bad") is None
    # Three slots: two failed twice, one not yet: still trying.
    tasks = attempts(1, 2) + attempts(2, 2) + attempts(3, 1)
    assert swarm_picture.task_failure(picture(tasks, replicas=3), "bad") is None


def test_a_failure_whose_replacement_runs_is_transient():
    tasks = [*attempts(1, 2), task("bad", 1, "manager1", image=BAD, at=T0 + timedelta(seconds=5))]
    assert swarm_picture.task_failure(picture(tasks), "bad") is None


def test_one_slot_failing_three_times_while_the_others_run_is_persistent():
    running = [task("bad", slot, "manager1", image=BAD) for slot in (2, 3)]
    two = swarm_picture.task_failure(picture(attempts(1, 2) + running, replicas=3), "bad")
    assert two is None
    three = swarm_picture.task_failure(
        picture(attempts(1, 3, state="failed") + running, replicas=3), "bad"
    )
    assert three is not None
    assert three.text == (
        "bad: the engine could not keep running 1 of its 3 tasks: task: non-zero exit (1)"
    )


def test_failures_of_another_image_or_from_before_the_command_do_not_count():
    old_image = attempts(1, 3, image="instavote/vote:latest")
    assert swarm_picture.task_failure(picture(old_image), "bad") is None
    earlier = attempts(1, 3)
    assert (
        swarm_picture.task_failure(picture(earlier), "bad", since=T0 + timedelta(minutes=1)) is None
    )
    assert (
        swarm_picture.task_failure(picture(earlier), "bad", since=T0 - timedelta(seconds=1))
        is not None
    )


def test_a_paused_update_is_a_failure_quoting_the_failed_task():
    paused = picture(attempts(1, 1), update="paused")
    paused.services[0] = replace(
        paused.services[0], update_message="update paused due to failure of task abc"
    )
    assert runs._convergence_problem(paused, "bad") == (
        f"bad: the engine paused the update because a new task failed: {NO_SUCH}"
    )
    rolled = picture(attempts(1, 1), update="rollback_completed")
    assert runs._convergence_problem(rolled, "bad") == (
        f"bad: the update failed, so the engine rolled it back: {NO_SUCH}"
    )
    assert runs._convergence_problem(rolled, "bad", rolls_back=True) == ""  # asked for
    assert runs._convergence_problem(picture([]), "bad") == ""


# -- through the worker -------------------------------------------------------------------------


@pytest.fixture
def shared_engine(settings, fake_docker, fake_shared_engine):
    settings.RUNNER_CONVERGE_SECONDS = 4  # the old code waited it out, then said "succeeded"
    fake_docker('#!/bin/sh\necho "p9o1lv2be2o9wpllhiqhzulfh"\n')
    return fake_shared_engine


def swarm_reads(monkeypatch, make):
    """Every swarm read returns make(now): a picture whose task times are fresh."""

    def read(docker_host, *, timeout=5):
        return make(timezone.now())

    monkeypatch.setattr(runs, "read_swarm", read)
    monkeypatch.setattr(snapshots, "read_swarm", read)


def execute(command: str) -> tuple[Run, float]:
    line = lone_line(command)
    decision = runs.decide(command, VISITOR)
    run = Run.objects.create(
        snippet_line=line, visitor=VISITOR, line=command, argv=list(decision.argv)
    )
    began = time.monotonic()
    runs.execute_runs([run.pk])
    run.refresh_from_db()
    return run, time.monotonic() - began


@pytest.mark.django_db
def test_a_create_whose_image_is_missing_fails_at_once_quoting_the_engine(
    shared_engine, monkeypatch
):
    swarm_reads(monkeypatch, lambda now: picture(attempts(1, 2, at=now)))
    run, took = execute(f"docker service create --name bad {BAD}")
    assert run.status == Run.Status.FAILED, (run.reason, run.converged)
    assert run.reason == f"bad: the engine could not start its tasks: {NO_SUCH}"
    assert run.converged.startswith("Stopped waiting after ")
    assert "bad: 0/1 tasks running; 0/1 on nosuch/image:zzz." in run.converged
    assert took < 3


@pytest.mark.django_db
def test_an_update_the_engine_paused_fails_at_once(shared_engine, monkeypatch):
    def make(now):
        tasks = [
            task("bad", 1, "manager1", image="instavote/vote:latest", at=now),
            *attempts(2, 1, at=now),
        ]
        return picture(tasks, replicas=2, update="paused")

    swarm_reads(monkeypatch, make)
    run, took = execute(f"docker service update --image {BAD} bad")
    assert run.status == Run.Status.FAILED, (run.reason, run.converged)
    assert run.reason == f"bad: the engine paused the update because a new task failed: {NO_SUCH}"
    assert took < 3


@pytest.mark.django_db
def test_a_single_failure_does_not_end_the_wait(shared_engine, monkeypatch):
    """The first attempt failed, its replacement runs: the run converges and succeeds."""
    reads = []

    def make(now):
        reads.append(now)
        tasks = attempts(1, 1, at=now)
        if len(reads) > 2:
            tasks.append(task("bad", 1, "manager1", image=BAD, at=now))
        return picture(tasks)

    swarm_reads(monkeypatch, make)
    run, _ = execute(f"docker service create --name bad {BAD}")
    assert run.status == Run.Status.SUCCEEDED, (run.reason, run.converged)
    assert run.converged.startswith("Converged. bad: 1/1 tasks running")
