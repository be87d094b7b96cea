"""The swarm picture without an engine: view data, progress, the polled fragment, the controls.

Pictures are made by hand (tests/runner/swarm_fixtures.py) and stored as the worker stores
them; the real-engine journeys are in tests/integration/test_swarm.py.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.template.loader import render_to_string
from django.test import Client
from django.utils import timezone

from runner import sandbox_actions, snapshots
from runner.models import Run, Sandbox
from runner.picture import (
    PALETTE_SIZE,
    Progress,
    image_tag,
    picture_from_data,
    progress_of,
    service_colours,
    settled,
    summary,
    swarm_view,
)
from runner.runs import _convergence_text
from runner.swarm import SwarmPicture
from talks.models import SnippetLine
from tests.factories import make_big_day
from tests.runner.swarm_fixtures import (
    T0,
    big_picture,
    give_sandbox,
    node,
    service,
    spread,
    stored,
    task,
)
from tests.visitors import as_visitor

HX = {"HTTP_HX_REQUEST": "true"}
THREE = ["manager1", "worker1", "worker2"]
VOTE = "instavote/vote:latest"
MOVIES = "instavote/vote:movies"
INDENT = "instavote/vote:indent"


def scaled_to(replicas: int, *, nodes: list[str] = THREE) -> SwarmPicture:
    return SwarmPicture(
        nodes=[node(n) for n in nodes],
        services=[service(replicas=replicas)],
        tasks=spread("vote", replicas, nodes, image=VOTE),
    )


# -- pure view data -----------------------------------------------------------------------------


def test_it_draws_nodes_as_columns_with_their_tasks():
    view = swarm_view(scaled_to(6), at=T0)

    assert [(n.name, n.role, n.leader, n.state, n.availability) for n in view.nodes] == [
        ("manager1", "manager", True, "ready", "active"),
        ("worker1", "worker", False, "ready", "active"),
        ("worker2", "worker", False, "ready", "active"),
    ]
    assert [[t.name for t in n.tasks] for n in view.nodes] == [
        ["vote.1", "vote.4"],
        ["vote.2", "vote.5"],
        ["vote.3", "vote.6"],
    ]
    box = view.nodes[0].tasks[0]
    assert (box.tag, box.label, box.icon, box.tone, box.current) == (
        ":latest",
        "running",
        "✓",
        "ok",
        True,
    )
    assert view.task_count == 6 and view.settled
    assert [(s.name, s.running, s.desired) for s in view.services] == [("vote", 6, 6)]
    assert [w.name for w in view.workers] == ["worker1", "worker2"]


def test_it_keeps_shut_down_tasks_apart_newest_first():
    picture = scaled_to(1, nodes=["manager1"])
    old = [
        task("vote", 1, "manager1", image=VOTE, state="shutdown", desired="shutdown", at=T0),
        task(
            "vote",
            1,
            "manager1",
            image=VOTE,
            state="failed",
            desired="shutdown",
            at=T0 + timedelta(seconds=5),
            error="task: non-zero exit (1)",
        ),
    ]
    view = swarm_view(SwarmPicture(picture.nodes, picture.services, picture.tasks + old), at=T0)

    assert [t.name for t in view.nodes[0].tasks] == ["vote.1"]
    assert [(t.label, t.tone, t.icon) for t in view.history] == [
        ("failed", "bad", "✗"),
        ("shutdown", "off", "■"),
    ]
    assert view.history[0].note == "task: non-zero exit (1)"
    assert view.history_total == 2


def test_it_labels_tasks_on_a_down_node_and_stopping_tasks_in_words():
    picture = SwarmPicture(
        nodes=[node("manager1"), node("worker1", state="down")],
        services=[service(replicas=2)],
        tasks=[
            task("vote", 1, "manager1", image=VOTE),
            task("vote", 2, "worker1", image=VOTE, desired="shutdown"),
            task("vote", 2, "manager1", image=VOTE, state="preparing"),
        ],
    )
    view = swarm_view(picture, at=T0)

    down = view.nodes[1]
    assert (down.state, down.icon, down.ready) == ("down", "✗", False)
    assert (view.task_count, view.lost_count) == (3, 1)
    html = render_to_string("runner/_swarm.html#picture", {"view": view})
    assert "<caption>Swarm: 2 nodes and 3 tasks (1 of them on a node that is down)," in html
    assert [(t.label, t.tone) for t in down.tasks] == [("running, node down", "lost")]
    assert [(t.name, t.label, t.tone) for t in view.nodes[0].tasks] == [
        ("vote.1", "running", "ok"),
        ("vote.2", "preparing", "busy"),
    ]
    assert not view.settled


def test_it_knows_when_the_swarm_has_settled():
    assert settled(scaled_to(6))
    moving = scaled_to(6)
    moving.tasks[0] = task("vote", 1, "manager1", image=VOTE, state="starting")
    assert not settled(moving)
    drained = SwarmPicture(
        nodes=[node("manager1"), node("worker1", availability="drain")],
        services=[service(replicas=2)],
        tasks=spread("vote", 2, ["manager1", "worker1"], image=VOTE),
    )
    assert not settled(drained)
    lost = SwarmPicture(
        nodes=[node("manager1"), node("worker1", state="down")],
        services=[service(replicas=2)],
        tasks=spread("vote", 2, ["manager1", "worker1"], image=VOTE),
    )
    assert not settled(lost), "tasks on a down node do not count as running"
    healed = SwarmPicture(
        nodes=lost.nodes,
        services=lost.services,
        tasks=[
            task("vote", 1, "manager1", image=VOTE),
            task("vote", 2, "worker1", image=VOTE, desired="shutdown"),
            task("vote", 2, "manager1", image=VOTE),
        ],
    )
    assert settled(healed)


def test_it_gives_each_service_a_stable_colour_from_the_palette():
    colours = service_colours(["vote", "result", "redis"])
    assert colours == service_colours(["redis", "vote", "result", "vote"])
    assert len(set(colours.values())) == 3
    assert colours["vote"] == service_colours(["vote"])["vote"]
    many = service_colours([f"s{i}" for i in range(PALETTE_SIZE)])
    assert sorted(many.values()) == list(range(PALETTE_SIZE))


def test_it_round_trips_a_picture_through_json():
    picture = big_picture(nodes=3, tasks=30)
    data = stored(picture)
    back, at = picture_from_data(data)

    assert at.tzinfo is not None
    view, again = swarm_view(picture, at=at), swarm_view(back, at=at)
    assert view.nodes == again.nodes and view.services == again.services
    assert [t.name for t in view.history] == [t.name for t in again.history]
    assert len(json.dumps(data)) < 12_000


def test_it_summarises_a_snapshot_in_one_line():
    assert summary(stored(scaled_to(6))) == (
        "6 tasks running; vote 6/6 (latest); manager1 2, worker1 2, worker2 2"
    )
    assert summary(stored(scaled_to(1, nodes=["manager1"]))) == "1 task running; vote 1/1 (latest)"
    assert summary(None) == ""


def test_it_reads_image_tags():
    assert image_tag("instavote/vote") == "latest"
    assert image_tag("instavote/vote:movies") == "movies"
    assert image_tag("localhost:5000/vote") == "latest"


# -- progress -----------------------------------------------------------------------------------


def rolling(updated: int, *, starting: int = 0, at=T0) -> SwarmPicture:
    """vote, 6 replicas on 3 nodes, mid-way through `--update-parallelism 2 --update-delay 10s`."""
    tasks = []
    for slot in range(1, 7):
        where = THREE[(slot - 1) % 3]
        if slot <= updated:
            tasks.append(task("vote", slot, where, image=INDENT, at=at))
        elif slot <= updated + starting:
            tasks.append(task("vote", slot, where, image=INDENT, state="starting", at=at))
            tasks.append(
                task("vote", slot, where, image=MOVIES, state="shutdown", desired="shutdown")
            )
        else:
            tasks.append(task("vote", slot, where, image=MOVIES))
    vote = service(image=INDENT, replicas=6, parallelism=2, delay=10, update="updating")
    return SwarmPicture(nodes=[node(n) for n in THREE], services=[vote], tasks=tasks)


def test_it_counts_a_rolling_update_in_batches_with_the_delay_counting_down():
    waiting = progress_of(rolling(2), "vote", kind="update", at=T0)
    assert (waiting.done, waiting.total, waiting.percent) == (2, 6, 33)
    assert (waiting.batch, waiting.batches, waiting.batch_running) == (2, 3, False)
    assert waiting.next_batch_at == T0 + timedelta(seconds=10)
    assert waiting.state_label == "rolling update in progress" and not waiting.finished

    shown = Progress.from_data(waiting.to_data(), now=T0 + timedelta(seconds=3.5))
    assert shown.countdown == 7
    assert shown.batch_label == "batch 2 of 3 (2 at a time) starts in 7 s"
    late = Progress.from_data(waiting.to_data(), now=T0 + timedelta(seconds=30))
    assert late.countdown == 0

    busy = progress_of(rolling(2, starting=2), "vote", kind="update", at=T0)
    assert (busy.done, busy.batch, busy.batch_running, busy.next_batch_at) == (2, 2, True, None)
    assert Progress.from_data(busy.to_data(), now=T0).batch_label == "batch 2 of 3 (2 at a time)"


def test_it_says_what_an_update_is_doing_once():
    picture = rolling(2)  # the engine's State "updating", Message "update in progress"
    assert picture.services[0].update_message == "update in progress"
    waiting = progress_of(picture, "vote", kind="update", at=T0)
    assert waiting.detail == ""  # "rolling update in progress" says it already
    assert replace(waiting, message="task abc: failed to start").detail == (
        "task abc: failed to start"
    )
    text, converged = _convergence_text(picture, "vote")
    assert text == (
        "vote: 6/6 tasks running; 2/6 on instavote/vote:indent; rolling update in progress."
    )
    assert not converged


def test_it_ends_a_rolling_update_at_100_percent():
    picture = rolling(6)
    done = SwarmPicture(
        picture.nodes,
        [service(image=INDENT, replicas=6, parallelism=2, delay=10, update="completed")],
        picture.tasks,
    )
    progress = progress_of(done, "vote", kind="update", at=T0)
    assert (progress.done, progress.total, progress.percent) == (6, 6, 100)
    assert progress.finished and progress.state_label == "update completed"
    assert progress.batch_label == ""


def test_it_shows_scale_converging_to_the_desired_count():
    picture = scaled_to(6)
    picture.tasks[4:] = [
        task("vote", 5, "worker1", image=VOTE, state="preparing"),
        task("vote", 6, "worker2", image=VOTE, state="pending"),
    ]
    progress = progress_of(picture, "vote", kind="converge", at=T0)
    assert (progress.done, progress.total, progress.state, progress.verb) == (
        4,
        6,
        "converging",
        "running",
    )
    assert progress_of(scaled_to(6), "vote", kind="converge", at=T0).state == "converged"
    gone = progress_of(scaled_to(6), "nope", kind="converge", at=T0)
    assert (gone.state, gone.state_label, gone.total) == ("removed", "service removed", 0)


def test_it_tells_progress_kinds_apart_by_command():
    assert snapshots.kind_of(["docker", "service", "update", "--image", "x", "vote"]) == "update"
    assert snapshots.kind_of(["docker", "service", "rollback", "vote"]) == "rollback"
    assert snapshots.kind_of(["docker", "service", "scale", "vote=6"]) == "converge"


# -- the fragment -------------------------------------------------------------------------------


def visitor_client(key: str = "a" * 24) -> Client:
    return as_visitor(Client(), key)


@pytest.mark.django_db
def test_it_says_so_when_the_visitor_has_no_sandbox(client, runner_up):
    response = client.get("/swarm/?block=7", **HX)

    assert response.status_code == 286  # nothing in flight: no polling
    html = response.content.decode()
    assert 'id="swarm-7"' in html
    assert "You have no sandbox yet." in html
    assert (
        '<p class="swarm-meta"><a href="/swarm/" id="swarm-7-page">Full page and history</a></p>'
    ) in html
    assert '<h3 class="swarm-h" id="swarm-7-h">Your swarm</h3>' in html
    on_a_talk_page = client.get("/swarm/?block=7&level=2", **HX).content.decode()
    assert '<h2 class="swarm-h" id="swarm-7-h">Your swarm</h2>' in on_a_talk_page
    assert 'hx-trigger="submit from:body delay:500ms"' in html
    assert "Start a sandbox" in html
    page = client.get("/swarm/").content.decode()  # the full page: why its list is empty
    assert "You have no sandbox now (a reset or expiry removes it, with this list)." in page
    assert "Full page and history" not in page  # no link to the page itself
    assert "Full page and history" not in client.get("/swarm/?block=0", **HX).content.decode()


@pytest.mark.django_db
def test_it_draws_the_visitors_swarm_in_a_small_fragment(
    runner_up, django_assert_num_queries, settings
):
    settings.RUNNER_MAX_NODES = 3
    give_sandbox(picture=big_picture(nodes=3, tasks=30))
    client = visitor_client()
    with django_assert_num_queries(3):  # sandbox, recent runs, runner status; no session
        response = client.get("/swarm/?block=3", **HX)

    assert response.status_code == 286
    html = response.content.decode()
    assert len(response.content) < 16_000, len(response.content)
    assert html.count('class="node ') == 3
    assert html.count('<li class="task ') == 30
    assert "<b>vote.1</b> :movies <i>✓ running</i>" in html
    assert '<th scope="row">worker1</th>' in html
    assert '<table class="visually-hidden"><caption>Swarm: 3 nodes and 30 tasks' in html
    assert '<div class="swarm-nodes" aria-hidden="true">' in html
    assert (
        '<details class="swarm-history" id="swarm-3-history">'
        '<summary id="swarm-3-history-summary">Shut-down tasks (12)</summary>'
    ) in html
    assert "Stop worker1" in html and "Stop worker2" in html and "Stop manager1" not in html
    assert ' style="' not in html and "<script" not in html


@pytest.mark.django_db
def test_it_polls_while_a_run_is_in_flight_and_shows_its_progress(runner_up):
    now = timezone.now()
    give_sandbox(picture=rolling(2, at=now))
    progress = progress_of(rolling(2, at=now), "vote", kind="update", at=now)
    Run.objects.create(
        visitor="a" * 24,
        line="docker service update vote --image instavote/vote:indent",
        argv=["docker", "service", "update"],
        status=Run.Status.RUNNING,
        progress=progress.to_data(),
    )
    response = visitor_client().get("/swarm/?block=1", **HX)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'hx-trigger="every 1s"' in html
    assert "Running: <code>docker service update vote" in html
    assert '<progress value="2" max="6"' in html
    assert "2 of 6 tasks updated (33%)" in html
    assert re.search(r"batch 2 of 3 \(2 at a time\) starts in (10|9) s", html)


def finished_update(box: Sandbox) -> Run:
    """The visitor's update of vote, finished just now in ``box``, with its final progress."""
    return Run.objects.create(
        visitor="a" * 24,
        sandbox=box,
        line="docker service update vote",
        status=Run.Status.SUCCEEDED,
        progress=progress_of(rolling(6), "vote", kind="update", at=timezone.now()).to_data(),
        finished_at=timezone.now(),
    )


@pytest.mark.django_db
def test_it_keeps_a_finished_runs_final_progress_for_a_while(runner_up):
    box = give_sandbox(picture=rolling(6))
    run = finished_update(box)
    client = visitor_client()
    assert '<progress value="6" max="6"' in client.get("/swarm/", **HX).content.decode()
    Run.objects.filter(pk=run.pk).update(finished_at=timezone.now() - timedelta(minutes=5))
    assert "<progress" not in client.get("/swarm/", **HX).content.decode()


@pytest.mark.django_db
def test_it_shows_no_final_progress_of_a_sandbox_that_is_gone(runner_up):
    box = give_sandbox(picture=rolling(6))
    finished_update(box)
    client = visitor_client()
    assert "6 of 6 tasks updated (100%)" in client.get("/swarm/?block=1", **HX).content.decode()

    # "Reset my sandbox": the sandbox is removed, and with it what its swarm did.
    Sandbox.objects.filter(pk=box.pk).update(status=Sandbox.Status.GONE, removed_at=timezone.now())
    html = client.get("/swarm/?block=1", **HX).content.decode()
    assert "You have no sandbox yet." in html
    assert "6 of 6 tasks updated" not in html and "<progress" not in html
    assert "<progress" not in client.get("/swarm/").content.decode()  # nor after a reload

    # Nor in the next sandbox, before anything has run there.
    Sandbox.objects.create(name="sbx-fresh", visitor="a" * 24, status=Sandbox.Status.READY, nodes=3)
    html = client.get("/swarm/?block=1", **HX).content.decode()
    assert "Sandbox sbx-fresh" in html and "<progress" not in html


@pytest.mark.django_db
def test_it_shows_the_run_cells_progress_while_running(runner_up):
    progress = progress_of(rolling(4), "vote", kind="update", at=timezone.now())
    run = Run.objects.create(
        visitor="a" * 24, line="docker service update vote", status=Run.Status.RUNNING
    )
    Run.objects.filter(pk=run.pk).update(progress=progress.to_data())
    html = Client().get(f"/runs/{run.pk}/", **HX).content.decode()
    assert '<progress value="4" max="6"' in html


@pytest.mark.django_db
def test_it_shows_the_full_page_with_the_sandboxs_history(runner_up):
    box = give_sandbox(picture=scaled_to(6))
    Run.objects.create(
        visitor="a" * 24,
        sandbox=box,
        line="(stop node worker1)",
        status=Run.Status.SUCCEEDED,
        converged="Stopped worker1. The swarm marked it down after 11.2 s",
        snapshot_before=stored(scaled_to(6)),
        snapshot=stored(scaled_to(6, nodes=["manager1", "worker2"])),
        finished_at=timezone.now(),
    )
    html = visitor_client().get("/swarm/").content.decode()
    assert "<h1>Your swarm</h1>" in html
    # The picture's ids and its htmx targets are plain (inside {% block %}, Django's own
    # "block" variable would win over a context variable of that name).
    assert '<section class="swarm" id="swarm-0" aria-labelledby="swarm-0-h"' in html
    assert 'hx-get="/swarm/?block=0&amp;level=2&amp;seen=' in html
    assert 'hx-target="#swarm-0"' in html
    # Under the <h1>, named for what it shows (not "Your swarm" again).
    assert '<h2 class="swarm-h" id="swarm-0-h">Nodes and tasks</h2>' in html
    assert '<input type="hidden" name="level" value="2">' in html  # kept after an action
    assert "Block Node" not in html
    assert '<p class="swarm-meta">Sandbox ' in html and " · </p>" not in html
    assert "Full page and history" not in html  # the page needs no link to itself
    assert "<code>(stop node worker1)</code>" in html
    assert "The swarm marked it down after 11.2 s" in html
    assert "Before: 6 tasks running; vote 6/6 (latest); manager1 2, worker1 2, worker2 2." in html
    assert "After: 6 tasks running; vote 6/6 (latest); manager1 3, worker2 3." in html


@pytest.mark.django_db
def test_it_shows_the_before_and_after_of_a_run_in_the_history_and_on_its_page(demo_day):
    line = SnippetLine.objects.get(command="docker service scale vote=6")
    run = Run.objects.create(
        snippet_line=line,
        visitor="b" * 24,
        line=line.command,
        argv=["docker", "service", "scale", "--detach", "vote=6"],
        status=Run.Status.SUCCEEDED,
        snapshot_before=stored(scaled_to(1)),
        snapshot=stored(scaled_to(6)),
        finished_at=timezone.now(),
    )
    history = Client().get(f"/snippets/{line.snippet_id}/history/").content.decode()
    assert "Before: 1 task running; vote 1/1 (latest); manager1 1, worker1 0, worker2 0." in history
    assert "After: 6 tasks running; vote 6/6 (latest); manager1 2, worker1 2, worker2 2." in history

    page = Client().get(f"/runs/{run.pk}/").content.decode()
    assert "<h2>The swarm before and after</h2>" in page
    assert "<caption>Swarm before the run: 3 nodes and 1 task" in page
    assert "<caption>Swarm after the run: 3 nodes and 6 tasks" in page


@pytest.mark.django_db
def test_it_loads_the_picture_lazily_beside_each_block(client, demo_day, runner_up, settings):
    html = client.get(demo_day.get_absolute_url()).content.decode()
    assert 'hx-get="/swarm/?block=' in html and 'hx-trigger="revealed"' in html
    assert "its nodes and tasks appear here." in html
    assert "level=2" not in html  # beside the notes, under the talk's <h2>
    talk = demo_day.talks.get(snippets__isnull=False)
    talk_page = client.get(talk.get_absolute_url()).content.decode()
    assert "&amp;level=2" in talk_page  # under the talk page's <h1>

    settings.RUNNER_MODE = "off"
    html = client.get(demo_day.get_absolute_url()).content.decode()
    assert 'hx-get="/swarm/' not in html


@pytest.mark.django_db
def test_it_shows_no_picture_to_who_has_no_sandbox_and_cannot_run(client, settings):
    response = client.get("/swarm/?block=1", **HX)  # no runner worker is up
    assert response.status_code == 286 and response.content == b""

    give_sandbox(picture=scaled_to(2))
    response = visitor_client().get("/swarm/?block=1", **HX)
    assert response.status_code == 286
    assert "<b>vote.2</b>" in response.content.decode(), "a sandbox's own picture stays visible"
    assert "Start a sandbox" not in response.content.decode()


@pytest.mark.django_db
def test_it_keeps_the_day_pages_query_count_flat_with_the_picture(
    client, demo_day, runner_up, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    bigger = make_big_day(talks=60, highlights_per_talk=2)  # three snippet blocks
    with CaptureQueriesContext(connection) as small:
        client.get(demo_day.get_absolute_url())
    with django_assert_num_queries(len(small)):
        html = client.get(bigger.get_absolute_url()).content.decode()
    assert html.count('hx-get="/swarm/') == 3


# -- the controls -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_queues_a_sandbox_of_three_nodes_as_a_recorded_run(runner_up, settings):
    settings.RUNNER_MODE = "sandbox"
    client = visitor_client()
    response = client.post("/sandbox/start/", {"nodes": "3", "block": "5"}, **HX)

    assert response.status_code == 200
    run = Run.objects.get()
    assert (run.line, run.status, run.argv, run.snippet_line) == (
        "(start a sandbox with 3 nodes)",
        Run.Status.QUEUED,
        [],
        None,
    )
    assert run.is_sandbox_action
    html = response.content.decode()
    assert 'id="swarm-5"' in html and 'hx-trigger="every 1s"' in html
    assert "Waiting: <code>(start a sandbox with 3 nodes)</code>" in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    "nodes", ["0", "4", "three", "", "²", "٣"]
)  # digits int() refuses, or reads
def test_it_refuses_a_node_count_out_of_bounds(runner_up, settings, nodes):
    settings.RUNNER_MODE = "sandbox"
    settings.RUNNER_MAX_NODES = 3
    response = visitor_client().post("/sandbox/start/", {"nodes": nodes, "block": "2"}, **HX)

    assert response.status_code == 400
    assert "Choose between 1 and 3 nodes for your sandbox." in response.content.decode()
    assert response["HX-Retarget"] == "#swarm-2-notice"
    assert not Run.objects.exists()


@pytest.mark.django_db
def test_it_needs_private_sandboxes_for_nodes(runner_up, settings):
    settings.RUNNER_MODE = "shared"
    response = visitor_client().post("/sandbox/start/", {"nodes": "2"}, **HX)
    assert response.status_code == 409
    assert "need private sandboxes (RUNNER_MODE=sandbox)" in response.content.decode()


@pytest.mark.django_db
def test_it_needs_post_csrf_and_permission_for_the_controls(runner_up, settings, plain_user):
    assert Client().get("/sandbox/start/").status_code == 405
    assert Client().get("/sandbox/nodes/worker1/stop/").status_code == 405
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/sandbox/start/", {"nodes": "2"}, **HX).status_code == 403
    assert strict.post("/sandbox/nodes/worker1/stop/", **HX).status_code == 403

    settings.RUNNER_ANONYMOUS = False
    response = Client().post("/sandbox/nodes/worker1/stop/", **HX)
    assert response.status_code == 403 and "Log in to run commands." in response.content.decode()
    client = Client()
    client.force_login(plain_user)
    response = client.post("/sandbox/start/", {"nodes": "2"}, **HX)
    assert "Your account may not run commands" in response.content.decode()
    html = client.get("/swarm/", **HX).content.decode()
    assert "Start a sandbox" not in html, "no controls for those who may not run"
    plain_user.user_permissions.add(Permission.objects.get(codename="execute_run"))
    client.force_login(plain_user)
    assert "Start a sandbox" in client.get("/swarm/", **HX).content.decode()
    assert not Run.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("nodes", "node", "status", "message"),
    [
        (None, "worker1", 409, "You have no running sandbox; start one with 2 or 3 nodes first."),
        (1, "worker1", 409, "Your sandbox has a single node; start one with 2 or 3 nodes"),
        (3, "manager1", 400, "manager1 is the swarm&#x27;s only manager"),
        (3, "worker3", 400, "no node named worker3; its workers are worker1 and worker2."),
        (2, "worker2", 400, "no node named worker2; its workers are worker1."),
    ],
)
def test_it_says_which_nodes_can_be_stopped(runner_up, settings, nodes, node, status, message):
    settings.RUNNER_MODE = "sandbox"
    if nodes is not None:
        give_sandbox(nodes=nodes)
    response = visitor_client().post(f"/sandbox/nodes/{node}/stop/", {"block": "1"}, **HX)

    assert response.status_code == status
    assert message in response.content.decode()
    assert not Run.objects.exists()


@pytest.mark.django_db
def test_it_records_a_node_stop_and_refuses_a_second_action_meanwhile(runner_up, settings):
    settings.RUNNER_MODE = "sandbox"
    box = give_sandbox(picture=scaled_to(6))
    client = visitor_client()
    response = client.post("/sandbox/nodes/worker1/stop/", {"block": "1"}, **HX)

    assert response.status_code == 200
    run = Run.objects.get()
    assert (run.line, run.sandbox, run.status) == ("(stop node worker1)", box, Run.Status.QUEUED)
    assert "worker1's dockerd, containerd and tasks are killed (SIGKILL)" in run.note
    assert "Waiting: <code>(stop node worker1)</code>" in response.content.decode()
    again = client.post("/sandbox/nodes/worker2/stop/", **HX)
    assert again.status_code == 409
    assert "Your last sandbox action is still under way" in again.content.decode()
    restart = client.post("/sandbox/start/", {"nodes": "1"}, **HX)
    assert restart.status_code == 409
    assert "Wait for your runs in flight to finish" in restart.content.decode()


@pytest.mark.django_db
def test_it_rate_limits_the_controls_like_runs(runner_up, settings):
    settings.RUNNER_MODE = "sandbox"
    settings.RUNNER_RATE_PER_MINUTE = 1
    give_sandbox()
    client = visitor_client()
    Run.objects.create(visitor="a" * 24, line="docker service ls", status=Run.Status.SUCCEEDED)
    response = client.post("/sandbox/nodes/worker1/stop/", **HX)
    assert response.status_code == 429
    assert "Too many runs: at most 1 a minute per visitor." in response.content.decode()


# -- the worker's side, with the engine replaced by pictures ------------------------------------


@pytest.mark.django_db
def test_it_follows_a_node_failure_until_its_tasks_run_elsewhere(monkeypatch, settings):
    settings.RUNNER_CONVERGE_SECONDS = 10
    box = give_sandbox(picture=scaled_to(6))
    before = scaled_to(6)
    marked_down = SwarmPicture(
        [node("manager1"), node("worker1", state="down"), node("worker2")],
        before.services,
        before.tasks,
    )
    healed = SwarmPicture(
        marked_down.nodes,
        before.services,
        [t for t in before.tasks if t.node_hostname != "worker1"]
        + [task("vote", 2, "manager1", image=VOTE), task("vote", 5, "worker2", image=VOTE)],
    )
    reads = iter([before, before, marked_down, healed, healed])
    monkeypatch.setattr(snapshots, "read_swarm", lambda host, timeout=5: next(reads))
    monkeypatch.setattr(snapshots.time, "sleep", lambda seconds: None)
    stopped = []
    monkeypatch.setattr(
        sandbox_actions.provider, "stop_worker", lambda row, index: stopped.append(index)
    )
    run = Run.objects.create(visitor="a" * 24, sandbox=box, line="(stop node worker1)")

    sandbox_actions.execute_action(
        run, sandbox_actions.Action(kind=sandbox_actions.STOP_NODE, node="worker1")
    )

    run.refresh_from_db()
    assert stopped == [1]
    assert run.status == Run.Status.SUCCEEDED, run.reason
    assert run.converged.startswith("Stopped worker1. The swarm marked it down after ")
    assert "and ran its tasks on the other nodes after" in run.converged
    assert "manager1 3, worker1 0 (down), worker2 3" in run.converged
    assert summary(run.snapshot_before).endswith("manager1 2, worker1 2, worker2 2")
    assert summary(run.snapshot).endswith("manager1 3, worker1 0 (down), worker2 3")
    assert run.progress["state"] == "converged"
    box.refresh_from_db()
    assert box.picture == run.snapshot or summary(box.picture) == summary(run.snapshot)


@pytest.mark.django_db
@pytest.mark.parametrize("block", ["²", "٣", "x", "99999999999"])
def test_a_block_number_that_is_not_one_is_block_0(runner_up, block):
    """ "²".isdigit() is true but int("²") raises: the swarm page answered 500."""
    for headers in ({}, HX):
        response = visitor_client().get("/swarm/", {"block": block}, **headers)
        assert response.status_code in {200, 286}  # 286: htmx, nothing to poll for
        assert 'id="swarm-0"' in response.content.decode()
