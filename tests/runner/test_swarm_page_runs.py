"""The full swarm page's table of the sandbox's runs ("What happened in this sandbox") follows the
picture: each picture htmx swaps in on /swarm/ (block 0) brings the table out of band, so it
describes the sandbox the picture shows, a new one included (runner.views_swarm._swarm_fragment).
The pictures beside the notes (other blocks) have no such table and get none.

No engine: sandboxes and runs are rows changed by hand, as the worker would change them.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone

from runner.models import Run, Sandbox
from tests.runner.swarm_fixtures import big_picture, give_sandbox, replace_sandbox
from tests.visitors import as_visitor

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}
KEY = "a" * 24
SECTION = '<section class="swarm-runs" id="swarm-runs" aria-labelledby="swarm-runs-h"'
OOB = f'{SECTION} hx-swap-oob="true">'
HEADING = '<h2 id="swarm-runs-h">What happened in this sandbox</h2>'
OLD_LINES = [f"docker service scale vote={n}" for n in range(1, 7)]


def visitor() -> Client:
    return as_visitor(Client(), KEY)


def seen(html: str) -> str:
    """The fingerprint the picture sends with its next poll."""
    return re.search(r'hx-get="/swarm/\?block=\d+(?:&amp;level=2)?&amp;seen=(\w+)"', html)[1]


def runs_section(html: str) -> str:
    """The out-of-band table, which comes after the picture."""
    assert html.count(OOB) == 1
    section = html.split(OOB)[1]
    assert "</section>" in section and '<section class="swarm"' not in section
    return section


@pytest.fixture
def old_sandbox(runner_up) -> Sandbox:
    """A 2-node sandbox in which six lines ran."""
    box = give_sandbox(KEY, nodes=2, picture=big_picture(nodes=2, tasks=10))
    for line in OLD_LINES:
        Run.objects.create(
            visitor=KEY,
            sandbox=box,
            line=line,
            status=Run.Status.SUCCEEDED,
            finished_at=timezone.now(),
        )
    return box


def test_it_draws_the_table_in_the_page_itself_not_out_of_band(old_sandbox):
    html = visitor().get("/swarm/").content.decode()
    assert f"{SECTION}>" in html
    assert HEADING in html and "hx-swap-oob" not in html
    caption = "Runs and sandbox actions in this sandbox, newest first</caption>"
    assert f'<caption class="visually-hidden">{caption}' in html
    assert all(f"<code>{line}</code>" in html for line in OLD_LINES)
    run = Run.objects.latest("id")
    assert f'<a href="/runs/{run.pk}/" id="swarm-runs-{run.pk}"><time ' in html  # focus kept


def test_it_swaps_the_table_to_the_new_sandbox_with_the_picture(
    old_sandbox, settings, django_assert_num_queries
):
    settings.RUNNER_MODE = "sandbox"
    client = visitor()
    page = client.get("/swarm/").content.decode()
    assert all(f"<code>{line}</code>" in page for line in OLD_LINES)

    # "New sandbox" with 3 nodes: queued, the old sandbox is still the one shown, as its table.
    form = {"nodes": "3", "block": "0", "level": "2"}
    response = client.post("/sandbox/start/", form, **HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="swarm-0"' in html and 'hx-trigger="every 1s"' in html
    table = runs_section(html)
    assert "<code>(start a sandbox with 3 nodes)</code>" in table
    assert all(f"<code>{line}</code>" in table for line in OLD_LINES)

    # The worker replaces the sandbox and records the action in the new one.
    converged = "Your sandbox sbx-new has 3 node(s): manager1, worker1, worker2."
    replace_sandbox(KEY, "(start a sandbox with 3 nodes)", converged=converged)
    with django_assert_num_queries(4):  # the picture's three, and the table's
        response = client.get("/swarm/", {"block": 0, "level": 2, "seen": seen(html)}, **HX)
    assert response.status_code == 286  # nothing in flight: the polling stops, as before
    html = response.content.decode()
    assert "Sandbox sbx-new · 3 nodes" in html.split(OOB)[0]
    table = runs_section(html)
    assert HEADING in table
    assert "<code>(start a sandbox with 3 nodes)</code>" in table
    assert "Your sandbox sbx-new has 3 node(s)" in table
    assert not any(line in html for line in OLD_LINES)


def test_a_poll_on_the_page_brings_the_runs_that_finished_since(old_sandbox):
    running = Run.objects.create(
        visitor=KEY, sandbox=old_sandbox, line="docker service ls", status=Run.Status.RUNNING
    )
    client = visitor()
    page = client.get("/swarm/").content.decode()
    assert 'hx-trigger="every 1s"' in page and "Running</span>" in page
    polled = {"block": 0, "level": 2, "seen": seen(page)}
    response = client.get("/swarm/", polled, **HX)
    assert response.status_code == 204 and response.content == b""  # nothing new: no swap

    Run.objects.filter(pk=running.pk).update(
        status=Run.Status.SUCCEEDED, finished_at=timezone.now()
    )
    response = client.get("/swarm/", polled, **HX)
    assert response.status_code == 286
    table = runs_section(response.content.decode())
    assert f'id="swarm-runs-{running.pk}"' in table
    assert "Running</span>" not in table and "Succeeded</span>" in table


@pytest.mark.parametrize(
    ("fresh", "words"),
    [
        (True, "Nothing has run in this sandbox yet."),
        (False, "You have no sandbox now (a reset or expiry removes it, with this list)."),
    ],
)
def test_it_says_so_in_the_table_when_there_is_nothing_to_list(
    old_sandbox, django_assert_num_queries, fresh, words
):
    Sandbox.objects.filter(pk=old_sandbox.pk).update(
        status=Sandbox.Status.GONE, removed_at=timezone.now()
    )
    if fresh:
        Sandbox.objects.create(name="sbx-fresh", visitor=KEY, status=Sandbox.Status.READY)
    # A fresh sandbox: the picture's three queries and the table's; none: the picture's four
    # (whether it expired) and no table to read.
    with django_assert_num_queries(4):
        response = visitor().get("/swarm/", {"block": 0, "level": 2, "seen": "x"}, **HX)
    table = runs_section(response.content.decode())
    assert words in table and "<table>" not in table
    assert not any(line in table for line in OLD_LINES)


def test_a_node_action_on_the_page_brings_the_table(old_sandbox, settings):
    settings.RUNNER_MODE = "sandbox"
    response = visitor().post("/sandbox/nodes/worker1/stop/", {"block": "0", "level": "2"}, **HX)
    assert response.status_code == 200
    table = runs_section(response.content.decode())
    assert "<code>(stop node worker1)</code>" in table and "Queued</span>" in table


def test_the_pictures_beside_the_notes_get_no_table(
    old_sandbox, settings, django_assert_num_queries
):
    Run.objects.create(
        visitor=KEY, sandbox=old_sandbox, line="docker service ls", status=Run.Status.RUNNING
    )
    with django_assert_num_queries(3):  # the picture's only
        response = visitor().get("/swarm/", {"block": 3, "seen": "x"}, **HX)
    assert response.status_code == 200
    assert 'id="swarm-3"' in response.content.decode()
    assert "swarm-runs" not in response.content.decode()

    settings.RUNNER_MODE = "sandbox"
    Run.objects.update(status=Run.Status.SUCCEEDED, finished_at=timezone.now())
    response = visitor().post("/sandbox/nodes/worker1/stop/", {"block": "3"}, **HX)
    assert response.status_code == 200 and "swarm-runs" not in response.content.decode()
    response = visitor().post("/sandbox/start/", {"nodes": "3", "block": "3"}, **HX)
    assert response.status_code == 409  # the stop is in flight: refused, beside the controls
    assert "swarm-runs" not in response.content.decode()


def test_it_still_stops_polling_with_nothing_for_who_cannot_run(client):
    """No worker up and no sandbox: no picture, and no table either (as before)."""
    response = client.get("/swarm/", {"block": 0, "level": 2, "seen": "x"}, **HX)
    assert response.status_code == 286 and response.content == b""
