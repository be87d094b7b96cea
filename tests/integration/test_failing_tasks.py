"""Tasks a real engine cannot start, and commands that wait only for what they touched.

H1 of the QA review: a service whose image does not exist (no registry is reachable) ends as
failed within seconds, quoting the engine's error, as does an update to such an image (the
engine pauses it). M5: with that broken service still there, `service rm` and `node update`
wait for their own service or node, not for the broken one. Runs go through the web endpoints,
tasks in-process (django-tasks' immediate backend).
"""

from __future__ import annotations

import pytest
from django.test import Client

from runner.models import Run
from runner.swarm import read_swarm
from talks.models import Snippet, SnippetLine
from tests.integration.helpers import run, sandbox_of

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]
NO_SUCH = "No such image: nosuch/image:zzz"


@pytest.fixture
def lines(demo_day) -> dict[str, SnippetLine]:
    snippet = Snippet.objects.first()
    commands = {
        "bad": "docker service create --name bad nosuch/image:zzz",
        "vote": "docker service create --name vote --replicas 2 instavote/vote",
        "bad update": "docker service update --image nosuch/image:zzz vote",
        "rm": "docker service rm vote",
        "drain": "docker node update --availability drain manager1",
        "active": "docker node update --availability active manager1",
    }
    return {
        name: SnippetLine.objects.create(snippet=snippet, position=position, command=command)
        for position, (name, command) in enumerate(commands.items(), start=100)
    }


def seconds(run_: Run) -> float:
    return (run_.finished_at - run_.started_at).total_seconds()


def test_a_missing_image_fails_fast_with_the_engines_error_and_holds_nothing_up(
    sandboxes, lines, settings
):
    assert settings.RUNNER_CONVERGE_SECONDS == 120
    client = Client()
    bad = run(client, lines["bad"])
    assert bad.status == Run.Status.FAILED, (bad.reason, bad.converged)
    assert bad.exit_code == 0  # the CLI accepted it; the engine could not start it
    assert bad.reason == f"bad: the engine could not start its tasks: {NO_SUCH}"
    assert bad.converged.startswith("Stopped waiting after "), bad.converged
    assert seconds(bad) < 20, seconds(bad)

    vote = run(client, lines["vote"])
    assert vote.status == Run.Status.SUCCEEDED, (vote.reason, vote.converged)
    update = run(client, lines["bad update"])
    assert update.status == Run.Status.FAILED, (update.reason, update.converged)
    assert update.reason == (
        f"vote: the engine paused the update because a new task failed: {NO_SUCH}"
    )
    assert seconds(update) < 20, seconds(update)

    removed = run(client, lines["rm"])
    assert removed.status == Run.Status.SUCCEEDED, removed.reason
    assert removed.converged.startswith("Its tasks were gone after "), removed.converged
    assert seconds(removed) < 20, seconds(removed)
    host = sandbox_of(client).docker_host
    assert [s.name for s in read_swarm(host).services] == ["bad"]

    drained = run(client, lines["drain"])
    assert drained.status == Run.Status.SUCCEEDED, drained.reason
    assert drained.converged.startswith("Settled after "), drained.converged
    assert "Still moving" not in drained.converged
    assert seconds(drained) < 20, seconds(drained)
    active = run(client, lines["active"])
    assert active.status == Run.Status.SUCCEEDED, active.reason
    assert "Still moving" not in active.converged, active.converged
    assert seconds(active) < 20, seconds(active)
    print(
        "\n"
        + "\n".join(
            f"{r.line}: {r.status} in {seconds(r):.1f} s; {r.reason} {r.converged}"
            for r in (bad, update, removed, drained, active)
        )
    )
