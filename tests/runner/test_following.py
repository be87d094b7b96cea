"""After a run stops waiting for a swarm still moving, the picture goes on following it (a job
every few seconds, no worker held between reads), and the page goes on polling while it does:
the picture froze on "moving" once the run had stopped waiting."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from runner import runs, snapshots
from runner.models import Sandbox
from runner.picture import picture_from_data
from runner.swarm import SwarmPicture
from tests.runner.swarm_fixtures import give_sandbox, node, service, stored, task
from tests.visitors import as_visitor

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}
KEY = "a" * 24


def moving(now=None) -> SwarmPicture:
    """`vote` wants two tasks and runs one."""
    now = now or timezone.now()
    return SwarmPicture(
        nodes=[node("manager1")],
        services=[service("vote", replicas=2)],
        tasks=[task("vote", 1, "manager1", at=now)],
    )


def at_rest(now=None) -> SwarmPicture:
    now = now or timezone.now()
    return SwarmPicture(
        nodes=[node("manager1")],
        services=[service("vote", replicas=1)],
        tasks=[task("vote", 1, "manager1", at=now)],
    )


@pytest.fixture
def database_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def follows(sandbox: Sandbox) -> list[DBTaskResult]:
    return list(
        DBTaskResult.objects.filter(
            task_path="runner.tasks.follow_swarm", status=TaskResultStatus.READY
        ).filter(args_kwargs__kwargs__sandbox_id=sandbox.pk)
    )


def test_a_moving_swarm_is_read_again_later_by_one_follower(database_queue, monkeypatch):
    sandbox = give_sandbox(KEY, nodes=1, picture=moving())
    monkeypatch.setattr(snapshots, "read_swarm", lambda host, timeout=5: moving())
    runs.follow_swarm(sandbox.pk, until=time.time() + 60)
    (due,) = follows(sandbox)
    assert timezone.now() < due.run_after < timezone.now() + timedelta(seconds=3)
    runs.follow_later(sandbox)  # a second run stopping its wait: still one follower
    assert len(follows(sandbox)) == 1
    sandbox.refresh_from_db()
    _, at = picture_from_data(sandbox.picture)
    assert at > timezone.now() - timedelta(seconds=5)  # stored just now


@pytest.mark.parametrize("why", ["settled", "time is up", "sandbox gone"])
def test_following_stops(database_queue, monkeypatch, why):
    sandbox = give_sandbox(KEY, nodes=1, picture=moving())
    picture = at_rest() if why == "settled" else moving()
    monkeypatch.setattr(snapshots, "read_swarm", lambda host, timeout=5: picture)
    if why == "sandbox gone":
        Sandbox.objects.filter(pk=sandbox.pk).update(status=Sandbox.Status.GONE)
    until = time.time() - 1 if why == "time is up" else time.time() + 60
    runs.follow_swarm(sandbox.pk, until=until)
    assert follows(sandbox) == []


def test_the_page_polls_while_a_moving_swarm_is_followed(client, runner_up):
    sandbox = give_sandbox(KEY, nodes=1, picture=moving())
    visitor = as_visitor(client, KEY)
    followed = visitor.get("/swarm/", {"block": 3}, **HX)
    assert followed.status_code == 200  # no run in flight, but the picture is fresh and moving
    assert "moving" in followed.content.decode()

    stale = stored(moving())
    stale["at"] = (timezone.now() - timedelta(minutes=5)).isoformat()
    Sandbox.objects.filter(pk=sandbox.pk).update(picture=stale)
    assert visitor.get("/swarm/", {"block": 3}, **HX).status_code == 286  # no one follows it

    Sandbox.objects.filter(pk=sandbox.pk).update(picture=stored(at_rest()))
    assert visitor.get("/swarm/", {"block": 3}, **HX).status_code == 286  # at rest


def test_a_stopped_runs_figures_go_once_the_swarm_it_left_has_settled(client, runner_up):
    """Its last figures were of an update under way: beside a settled picture they said
    "rolling update in progress" for another minute."""
    from runner.models import Run
    from runner.picture import progress_of
    from tests.factories import lone_line

    updating = moving()
    vote = updating.services[0]
    updating = SwarmPicture(
        nodes=updating.nodes,
        services=[type(vote)(**{**vote.__dict__, "update_state": "updating"})],
        tasks=updating.tasks,
    )
    sandbox = give_sandbox(KEY, nodes=1, picture=at_rest())
    Run.objects.create(
        snippet_line=lone_line("docker service update --force vote"),
        visitor=KEY,
        sandbox=sandbox,
        line="docker service update --force vote",
        status=Run.Status.SUCCEEDED,
        finished_at=timezone.now(),
        progress=progress_of(updating, "vote", kind="update", at=timezone.now()).to_data(),
    )
    visitor = as_visitor(client, KEY)
    settled = visitor.get("/swarm/", {"block": 3}, **HX).content.decode()
    assert "rolling update in progress" not in settled
    Sandbox.objects.filter(pk=sandbox.pk).update(picture=stored(moving()))
    still = visitor.get("/swarm/", {"block": 3}, **HX).content.decode()
    assert "rolling update in progress" in still
