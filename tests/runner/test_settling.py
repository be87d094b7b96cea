"""`service rm` and `node update` wait for what they touched only (M5 of the QA review).

Another service that never converges (an image the engine cannot find) must neither hold the
worker for SETTLE_SECONDS nor be reported as "still moving". Runs go through the worker's own
code with a fake `docker` and swarm pictures made by hand.
"""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from django.utils import timezone

from runner import picture as swarm_picture
from runner import runs, snapshots
from runner.models import Run
from runner.swarm import SwarmPicture
from tests.factories import lone_line
from tests.runner.swarm_fixtures import T0, node, service, task

VISITOR = "0123456789abcdef01234567"
NO_NODE = "no suitable node (1 node not available for new tasks)"


def failing_bad(now) -> list:
    """`bad`, whose image no node has: rejected, retried, rejected, forever."""
    return [
        task(
            "bad",
            1,
            "manager1",
            image="nosuch/image:zzz",
            state="rejected",
            desired="shutdown",
            at=now,
            error="No such image: nosuch/image:zzz",
        ),
        task("bad", 1, None, image="nosuch/image:zzz", state="pending", desired="ready", at=now),
    ]


def swarm(*, services, tasks, availability="active") -> SwarmPicture:
    return SwarmPicture(
        nodes=[node("manager1", availability=availability)], services=services, tasks=tasks
    )


BAD = service("bad", image="nosuch/image:zzz")
VOTE = service("vote", replicas=2)


def test_a_removed_service_is_done_once_its_tasks_are_gone():
    stopping = [
        replace(t, service_id="id-gone", service_name="", desired_state="remove")
        for t in (task("vote", 1, "manager1"), task("vote", 2, "manager1"))
    ]
    assert not swarm_picture.removed_tasks_gone(swarm(services=[BAD], tasks=stopping))
    stopped = [replace(t, state="shutdown") for t in stopping]
    assert swarm_picture.removed_tasks_gone(swarm(services=[BAD], tasks=stopped + failing_bad(T0)))


def test_a_drained_node_is_done_once_its_tasks_left_whatever_other_services_do():
    moving = [task("vote", 1, "manager1", desired="shutdown"), *failing_bad(T0)]
    assert not swarm_picture.node_settled(
        swarm(services=[VOTE, BAD], tasks=moving, availability="drain"),
        "manager1",
        services={"vote"},
    )
    waiting = [
        task("vote", slot, None, state="pending", desired="running", error=NO_NODE)
        for slot in (1, 2)
    ]
    drained = swarm(services=[VOTE, BAD], tasks=waiting + failing_bad(T0), availability="drain")
    assert swarm_picture.node_settled(drained, "manager1", services={"vote"})
    # bad's retries never end; its tasks keep failing, none running: that is at rest too.
    assert swarm_picture.node_settled(drained, "manager1", services={"vote", "bad"})
    # A replacement not created yet is still on its way.
    one = swarm(services=[VOTE], tasks=waiting[:1], availability="drain")
    assert not swarm_picture.node_settled(one, "manager1", services={"vote"})


# -- through the worker -------------------------------------------------------------------------


@pytest.fixture
def shared_engine(fake_docker, fake_shared_engine, monkeypatch):
    monkeypatch.setattr(runs, "SETTLE_SECONDS", 4)  # the old code waited all of it out
    fake_docker("#!/bin/sh\necho done\n")
    return fake_shared_engine


def swarm_reads(monkeypatch, before, after):
    """The first read (the run's "before" snapshot) gives before(now), the others after(now)."""
    reads = []

    def read(docker_host, *, timeout=5):
        reads.append(1)
        return (before if len(reads) == 1 else after)(timezone.now())

    monkeypatch.setattr(runs, "read_swarm", read)
    monkeypatch.setattr(snapshots, "read_swarm", read)


def execute(command: str) -> tuple[Run, float]:
    decision = runs.decide(command, VISITOR)
    run = Run.objects.create(
        snippet_line=lone_line(command), visitor=VISITOR, line=command, argv=list(decision.argv)
    )
    began = time.monotonic()
    runs.execute_runs([run.pk])
    run.refresh_from_db()
    return run, time.monotonic() - began


@pytest.mark.django_db
def test_service_rm_waits_for_its_tasks_only(shared_engine, monkeypatch):
    def before(now):
        return swarm(services=[VOTE, BAD], tasks=[task("vote", 1, "manager1"), *failing_bad(now)])

    def after(now):
        return swarm(services=[BAD], tasks=failing_bad(now))

    swarm_reads(monkeypatch, before, after)
    run, took = execute("docker service rm vote")
    assert run.status == Run.Status.SUCCEEDED, run.reason
    assert run.converged.startswith("Its tasks were gone after "), run.converged
    assert "Still moving" not in run.converged
    assert took < 3


@pytest.mark.django_db
def test_a_drain_waits_for_the_nodes_tasks_only_and_says_what_cannot_be_placed(
    shared_engine, monkeypatch
):
    def before(now):
        tasks = [task("vote", slot, "manager1") for slot in (1, 2)] + failing_bad(now)
        return swarm(services=[VOTE, BAD], tasks=tasks)

    def after(now):
        waiting = [
            task("vote", slot, None, state="pending", desired="running", at=now, error=NO_NODE)
            for slot in (1, 2)
        ]
        return swarm(services=[VOTE, BAD], tasks=waiting + failing_bad(now), availability="drain")

    swarm_reads(monkeypatch, before, after)
    run, took = execute("docker node update --availability drain manager1")
    assert run.status == Run.Status.SUCCEEDED, run.reason
    assert run.converged.startswith("Settled after "), run.converged
    assert run.converged.endswith(f"vote: 2 tasks cannot be placed: {NO_NODE}.")
    assert took < 3


@pytest.mark.django_db
def test_a_drain_still_moving_names_the_services_it_waits_for(shared_engine, monkeypatch):
    monkeypatch.setattr(runs, "SETTLE_SECONDS", 1)

    def before(now):
        return swarm(services=[VOTE, BAD], tasks=[task("vote", 1, "manager1"), *failing_bad(now)])

    def after(now):
        starting = task("vote", 1, None, state="starting", at=now)
        return swarm(services=[VOTE, BAD], tasks=[starting, *failing_bad(now)])

    swarm_reads(monkeypatch, before, after)
    run, _ = execute("docker node update --availability drain manager1")
    assert run.converged.startswith("Still moving after 1 s (tasks of vote): "), run.converged
