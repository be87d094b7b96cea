"""The swarm picture on real engines: multi-node sandboxes, a worker failing, a rolling update.

Everything is driven through the web endpoints a visitor uses, with tasks run in-process
(django-tasks' immediate backend). Assertions read both the engine's own state and the
rendered picture (its text table, which carries the same facts as the drawing).
"""

from __future__ import annotations

import html as html_lib
import os
import re
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from runner import provider
from runner.models import Run, RunnerStatus, Sandbox
from runner.sandbox import list_sandboxes, load_sandbox, reap_sandboxes
from runner.swarm import SwarmPicture, read_swarm
from talks.models import Snippet, SnippetLine
from tests.integration.helpers import assert_gone, assert_nothing_left, host_links, short_base_dir
from tests.visitors import visitor_of

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]
HX = {"HTTP_HX_REQUEST": "true"}
TABLE_ROW = re.compile(
    r'<tr><th scope="row">([\w ]+)</th><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>'
    r"<td>([^<]*)</td></tr>"
)
PROGRESS = re.compile(r'<progress value="(\d+)" max="(\d+)"')


@pytest.fixture(scope="module")
def base_dir() -> Iterator[Path]:
    with short_base_dir("cnsw-") as path:
        yield path


@pytest.fixture
def sandboxes(settings, base_dir, images_dir) -> Iterator[Path]:
    settings.RUNNER_MODE = "sandbox"
    settings.RUNNER_BASE_DIR = base_dir
    settings.RUNNER_IMAGES_DIR = images_dir
    settings.RUNNER_POOL_SIZE = 0
    settings.RUNNER_MAX_NODES = 3
    settings.RUNNER_CONVERGE_SECONDS = 90
    settings.RUNNER_RATE_PER_MINUTE = 100
    RunnerStatus.objects.create(pk=1, available=True, checked_at=timezone.now())
    yield base_dir
    reap_sandboxes(base_dir=base_dir)
    assert list_sandboxes(base_dir=base_dir) == []


@pytest.fixture
def lines(demo_day) -> dict[str, SnippetLine]:
    """A block of the lines these journeys run, added to the demo notes."""
    snippet = Snippet.objects.first()
    commands = {
        "node ls": "docker node ls",
        "create": "docker service create --name vote --replicas 6 instavote/vote",
        "drain": "docker node update --availability drain worker2",
        "update": "docker service update --image instavote/vote:indent --update-parallelism 2 "
        "--update-delay 3s --update-monitor 1s vote",
    }
    return {
        name: SnippetLine.objects.create(snippet=snippet, position=position, command=command)
        for position, (name, command) in enumerate(commands.items(), start=100)
    }


def run(client: Client, line: SnippetLine) -> Run:
    response = client.post(f"/run/line/{line.pk}/", **HX)
    assert response.status_code == 200, response.content
    return Run.objects.filter(snippet_line=line).latest("id")


def sandbox_of(client: Client) -> Sandbox:
    return Sandbox.objects.get(visitor=visitor_of(client), status=Sandbox.Status.READY)


def picture_table(client: Client) -> dict[str, tuple[str, str, list[str]]]:
    """The rendered picture's text table: node -> (state, availability, [task, ...])."""
    html = html_lib.unescape(client.get("/swarm/?block=1", **HX).content.decode())
    rows = {}
    for name, _role, state, availability, tasks in TABLE_ROW.findall(html):
        rows[name] = (state, availability, [] if tasks == "none" else tasks.split("; "))
    return rows


def running_per_node(picture: SwarmPicture) -> Counter:
    ready = {n.hostname for n in picture.nodes if n.ready}
    return Counter(t.node_hostname for t in picture.running_tasks() if t.node_hostname in ready)


def test_a_three_node_sandbox_spreads_tasks_and_heals_when_a_worker_stops(sandboxes, lines):
    links_before = host_links()
    client = Client()
    response = client.post("/sandbox/start/", {"nodes": "3", "block": "1"}, **HX)
    assert response.status_code == 200
    started = Run.objects.get(line="(start a sandbox with 3 nodes)")
    assert started.status == Run.Status.SUCCEEDED, started.reason
    assert "has 3 node(s): manager1, worker1, worker2" in started.converged
    box = sandbox_of(client)
    assert box.nodes == 3

    listed = run(client, lines["node ls"])
    assert listed.status == Run.Status.SUCCEEDED
    assert len(re.findall(r"\bReady\s+Active\b", listed.stdout)) == 3

    created = run(client, lines["create"])
    assert created.status == Run.Status.SUCCEEDED, (created.reason, created.converged)
    spread = running_per_node(read_swarm(box.docker_host))
    assert sum(spread.values()) == 6 and set(spread) == {"manager1", "worker1", "worker2"}
    table = picture_table(client)
    assert {name: len(row[2]) for name, row in table.items()} == dict(spread)
    assert table["worker1"][:2] == ("ready", "active")
    on_worker1 = len(table["worker1"][2])

    began = time.monotonic()
    response = client.post("/sandbox/nodes/worker1/stop/", {"block": "1"}, **HX)
    healed_after = time.monotonic() - began
    assert response.status_code == 200
    stop = Run.objects.get(line="(stop node worker1)")
    assert stop.status == Run.Status.SUCCEEDED, stop.reason
    assert "The swarm marked it down after" in stop.converged
    assert "ran its tasks on the other nodes after" in stop.converged, stop.converged
    assert healed_after < 60
    print(f"\nfailover: {stop.converged} (request took {healed_after:.1f} s)")

    picture = read_swarm(box.docker_host)
    assert next(n for n in picture.nodes if n.hostname == "worker1").state == "down"
    after = running_per_node(picture)
    assert sum(after.values()) == 6 and "worker1" not in after
    table = picture_table(client)
    assert table["worker1"][0] == "down"
    assert all(task.endswith("node down)") for task in table["worker1"][2])
    assert len(table["worker1"][2]) <= on_worker1
    assert sum(len(table[n][2]) for n in ("manager1", "worker2")) == 6
    assert all(t.endswith("running)") for n in ("manager1", "worker2") for t in table[n][2])

    page = client.get("/swarm/").content.decode()
    assert "<code>(stop node worker1)</code>" in page
    assert "worker1 0 (down)" in page  # the run's after-snapshot, in the sandbox's history
    assert f"/runs/{stop.pk}/" in page
    assert "<h2>The swarm before and after</h2>" in client.get(f"/runs/{stop.pk}/").content.decode()

    response = client.post("/sandbox/nodes/worker1/start/", {"block": "1"}, **HX)
    back = Run.objects.get(line="(start node worker1)")
    assert back.status == Run.Status.SUCCEEDED, back.reason
    assert "worker1 is ready again after" in back.converged
    assert picture_table(client)["worker1"][:2] == ("ready", "active")

    drained = run(client, lines["drain"])
    assert drained.status == Run.Status.SUCCEEDED, drained.stderr
    assert drained.converged.startswith("Settled after"), drained.converged
    after = running_per_node(read_swarm(box.docker_host))
    assert sum(after.values()) == 6 and "worker2" not in after
    table = picture_table(client)
    assert table["worker2"][1] == "drain"
    assert not [t for t in table["worker2"][2] if t.endswith("running)")]

    # "New sandbox" with the same node count replaces it: nothing of the old one is left.
    assert client.post("/sandbox/start/", {"nodes": "3", "block": "1"}, **HX).status_code == 200
    box.refresh_from_db()
    assert box.status == Sandbox.Status.GONE
    fresh = sandbox_of(client)
    assert fresh.pk != box.pk and fresh.nodes == 3
    assert read_swarm(fresh.docker_host).services == []
    assert_gone(box, sandboxes)

    engine = load_sandbox(fresh.name, base_dir=sandboxes)
    assert client.post("/sandbox/reset/", **HX).status_code == 200
    fresh.refresh_from_db()
    assert fresh.status == Sandbox.Status.GONE
    assert_nothing_left(engine, links_before=links_before)


def test_a_rolling_update_shows_progress_rising_to_100_percent(sandboxes, lines):
    client = Client()
    created = run(client, lines["create"])
    assert created.status == Run.Status.SUCCEEDED, created.reason
    update = lines["update"]
    seen: list[tuple[int, int]] = []
    labels: set[str] = set()

    def press_run() -> None:
        try:
            run(client, update)  # returns when the update has converged
        finally:
            connection.close()

    presser = threading.Thread(target=press_run)
    presser.start()
    deadline = time.monotonic() + 90
    while presser.is_alive():
        html = client.get("/swarm/?block=1", **HX).content.decode()
        if (match := PROGRESS.search(html)) and "Running: <code>docker service update" in html:
            seen.append((int(match.group(1)), int(match.group(2))))
            labels.update(re.findall(r"batch \d of 3 \(2 at a time\)(?: starts in \d+ s)?", html))
        assert time.monotonic() < deadline, "the update did not finish"
        time.sleep(0.25)
    presser.join()
    final = client.get("/swarm/?block=1", **HX)
    assert final.status_code == 286
    final_html = final.content.decode()

    updated = Run.objects.filter(snippet_line=update).latest("id")
    assert updated.status == Run.Status.SUCCEEDED, (updated.reason, updated.converged)
    assert {t.image for t in read_swarm(sandbox_of(client).docker_host).running_tasks()} == {
        "instavote/vote:indent"
    }
    values = [done for done, _ in seen]
    assert seen and all(total == 6 for _, total in seen)
    assert values == sorted(values), f"progress went backwards: {values}"
    assert any(0 < v < 6 for v in values), f"no intermediate progress seen: {values}"
    assert '<progress value="6" max="6"' in final_html and "(100%)" in final_html
    assert "update completed" in final_html
    assert any("batch 2 of 3" in label for label in labels), labels
    assert any("starts in" in label for label in labels), labels
    print(f"\nprogress seen: {values}\nbatches seen: {sorted(labels)}")


def test_the_reaper_removes_a_crashed_three_node_sandbox(sandboxes):
    links_before = host_links()
    row = provider.sandbox_for("crashing-visitor", nodes=3)
    engine = load_sandbox(row.name, base_dir=sandboxes)
    assert len(engine.nodes) == 3
    # A crash half-way: the worker died while the row still said "starting", one worker's engine
    # is gone, the manager's dockerd was killed without cleaning up (its containerd and shims
    # live on), and the state file is half-written.
    provider.stop_worker(row, 2)
    manager_pid = engine.nodes[0].pid
    assert manager_pid is not None
    os.kill(manager_pid, signal.SIGKILL)
    (engine.root / "state.json").write_text('{"name": "')
    Sandbox.objects.filter(pk=row.pk).update(
        status=Sandbox.Status.STARTING,
        created_at=timezone.now() - timedelta(hours=1),
    )

    assert row.name in provider.reap()

    row.refresh_from_db()
    assert row.status == Sandbox.Status.GONE
    assert_nothing_left(engine, links_before=links_before)
    assert provider.reap() == []
