"""Polling: a run cell and a swarm picture poll every second while something is in flight, and a
poll that would bring nothing new is answered 204 (htmx swaps nothing). A run cell sits in a
live region, so each swap is read out again; the picture holds the focus and open <details>.

No engine: runs and sandboxes are rows changed by hand, as the worker would change them.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from runner.models import Run, Sandbox
from runner.picture import Progress
from tests.runner.swarm_fixtures import big_picture, give_sandbox, stored
from tests.visitors import as_visitor

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}
VISITOR = "a" * 24
DAY_URL = "/c/dockercon-2016/day-1/"


def cell_seen(html: str) -> str:
    """The fingerprint a polled run cell sends with its next poll."""
    return re.search(r"""hx-vals='\{"seen": "(\w+)"\}'""", html)[1]


def swarm_seen(html: str) -> str:
    return re.search(r'hx-get="/swarm/\?block=\d+&amp;seen=(\w+)"', html)[1]


def waiting_for_batch(*, at) -> dict:
    """A rolling update of vote between batches, the next one due in ten seconds."""
    return Progress(
        service="vote",
        kind="update",
        done=2,
        total=6,
        running=6,
        state="updating",
        at=at,
        parallelism=2,
        delay=10,
        batch=2,
        batches=3,
        next_batch_at=at + timedelta(seconds=10),
    ).to_data()


def test_it_answers_a_run_cells_poll_that_would_bring_nothing_new_with_204(
    client, line, runner_up, django_assert_num_queries
):
    html = client.post(f"/run/line/{line.pk}/", **HX).content.decode()
    run = Run.objects.get()
    url = f"/runs/{run.pk}/"
    seen = cell_seen(html)  # as Run drew the cell
    with django_assert_num_queries(1):
        response = client.get(url, {"origin": "yours", "seen": seen}, **HX)
    assert response.status_code == 204 and response.content == b""
    assert client.get(url, {"origin": "yours"}, **HX).status_code == 200  # seen nothing yet

    # A worker claims it: the cell changes once, then stays until what it shows changes.
    now = timezone.now()
    Run.objects.filter(pk=run.pk).update(
        status=Run.Status.RUNNING, started_at=now, engine_version="20.10.24"
    )
    response = client.get(url, {"origin": "yours", "seen": seen}, **HX)
    assert response.status_code == 200
    assert "Running in your sandbox" in response.content.decode()
    seen = cell_seen(response.content.decode())
    assert client.get(url, {"origin": "yours", "seen": seen}, **HX).status_code == 204
    own_page = client.get(url).content.decode()  # the run's own page polls its cell alike
    assert client.get(url, {"seen": cell_seen(own_page)}, **HX).status_code == 204

    changes = [
        ({"converged": "vote: 2/6 tasks running."}, "vote: 2/6 tasks running."),
        ({"converged": "vote: 4/6 tasks running."}, "vote: 4/6 tasks running."),
        ({"progress": waiting_for_batch(at=now)}, "batch 2 of 3"),
    ]
    for change, shown in changes:
        Run.objects.filter(pk=run.pk).update(**change)
        response = client.get(url, {"origin": "yours", "seen": seen}, **HX)
        assert response.status_code == 200, change
        html = response.content.decode()
        assert shown in html
        seen = cell_seen(html)
        with django_assert_num_queries(1):
            assert client.get(url, {"origin": "yours", "seen": seen}, **HX).status_code == 204

    # The cell leaves out the countdown to the next batch (it would be read out every second;
    # the swarm picture beside the block counts down), and the worker reading the same progress
    # again, at a later time, shows nothing new.
    assert "starts in" not in html and "2 of 6 tasks updated (33%)" in html
    later = waiting_for_batch(at=now + timedelta(seconds=3))
    later["next_batch_at"] = waiting_for_batch(at=now)["next_batch_at"]
    Run.objects.filter(pk=run.pk).update(progress=later)
    assert client.get(url, {"origin": "yours", "seen": seen}, **HX).status_code == 204

    # Finished: 286 and the last cell, which polls no more, whatever the poll had seen.
    Run.objects.filter(pk=run.pk).update(
        status=Run.Status.SUCCEEDED, exit_code=0, finished_at=timezone.now()
    )
    response = client.get(url, {"origin": "yours", "seen": seen}, **HX)
    assert response.status_code == 286
    assert "hx-trigger" not in response.content.decode()


def test_a_queued_run_without_javascript_is_followed_on_its_own_page_not_the_day_page(
    line, runner_up
):
    reader = Client()
    response = reader.post(f"/run/line/{line.pk}/")  # without JavaScript, after the confirmation
    assert response.status_code == 302
    run = Run.objects.get()
    page = reader.get(response["Location"]).content.decode()
    cell = re.search(r'<div class="run-cell".*?</div>', page, re.S)[0]
    assert "Queued" in cell
    # Without JavaScript nothing polls: the cell says how to see the end.
    assert "<noscript><p>Reload the page to see how it ends.</p></noscript>" in cell
    # With it, the cell polls and sends what it shows: nothing new while the run waits.
    assert f'hx-get="/runs/{run.pk}/"' in cell
    poll = {"seen": cell_seen(cell)}
    assert Client().get(f"/runs/{run.pk}/", poll, **HX).status_code == 204
    # The day page, the same for every reader, shows no run in flight (nothing to poll).
    day = reader.get(DAY_URL).content.decode()
    assert f"/runs/{run.pk}/" not in day and "Queued" not in day

    Run.objects.filter(pk=run.pk).update(
        status=Run.Status.SUCCEEDED, exit_code=0, stdout="ID NAME", finished_at=timezone.now()
    )
    finished = Client().get(f"/runs/{run.pk}/", poll, **HX).content.decode()
    assert "noscript" not in finished
    assert f'id="run-{run.pk}-stdout"' in reader.get(DAY_URL).content.decode()


def test_a_run_cell_is_one_live_region_with_no_status_inside(client, line):
    html = client.post(f"/run/line/{line.pk}/", **HX).content.decode()
    run = Run.objects.get()
    assert '<p class="run-progress">Waiting for the runner…' in html
    assert 'role="status"' not in html  # a live region in a live region is read out twice
    # On the run's own page the cell is in a live region too, as on the day page.
    page = client.get(f"/runs/{run.pk}/").content.decode()
    assert re.search(r'<div aria-live="polite">\s*<div class="run-cell"', page)
    assert 'role="status"' not in page.split('<main id="main"')[1]


def test_a_run_cells_links_and_boxes_have_ids_to_keep_the_focus_by(client, line):
    run = Run.objects.create(
        snippet_line=line,
        visitor="v",
        line=line.command,
        argv=["docker", "service", "ls"],
        status=Run.Status.FAILED,
        exit_code=1,
        stdout="ID NAME",
        stderr="Error",
        finished_at=timezone.now(),
    )
    html = client.get(f"/runs/{run.pk}/", **HX).content.decode()
    assert f'id="run-{run.pk}-history">History<' in html
    assert f'<pre class="run-stdout" id="run-{run.pk}-stdout"' in html
    assert f'<pre class="run-stderr" id="run-{run.pk}-stderr"' in html


def test_it_answers_a_swarm_poll_that_would_bring_nothing_new_with_204(
    runner_up, django_assert_num_queries, monkeypatch
):
    box = give_sandbox(VISITOR, picture=big_picture(nodes=3, tasks=30))
    run = Run.objects.create(
        visitor=VISITOR, sandbox=box, line="docker service ls", status=Run.Status.RUNNING
    )
    client = as_visitor(Client(), VISITOR)
    response = client.get("/swarm/?block=3", **HX)
    assert response.status_code == 200  # live: it polls
    html = response.content.decode()
    assert 'hx-trigger="every 1s"' in html
    seen = swarm_seen(html)
    with django_assert_num_queries(3):  # as many as drawing it: sandbox, runs, runner status
        response = client.get("/swarm/", {"block": 3, "seen": seen}, **HX)
    assert response.status_code == 204 and response.content == b""

    # The worker stores a new picture: it is drawn, then left alone again.
    Sandbox.objects.filter(pk=box.pk).update(picture=stored(big_picture(nodes=3, tasks=15)))
    response = client.get("/swarm/", {"block": 3, "seen": seen}, **HX)
    assert response.status_code == 200
    assert response.content.decode().count('<li class="task ') == 15
    seen = swarm_seen(response.content.decode())
    assert client.get("/swarm/", {"block": 3, "seen": seen}, **HX).status_code == 204

    # Between two batches of a rolling update the picture counts down, once a second.
    now = timezone.now()
    Run.objects.filter(pk=run.pk).update(progress=waiting_for_batch(at=now))
    monkeypatch.setattr(timezone, "now", lambda: now + timedelta(seconds=1.5))
    html = client.get("/swarm/", {"block": 3, "seen": seen}, **HX).content.decode()
    assert "batch 2 of 3 (2 at a time) starts in 9 s" in html
    seen = swarm_seen(html)
    assert client.get("/swarm/", {"block": 3, "seen": seen}, **HX).status_code == 204
    monkeypatch.setattr(timezone, "now", lambda: now + timedelta(seconds=2.5))
    html = client.get("/swarm/", {"block": 3, "seen": seen}, **HX).content.decode()
    assert "starts in 8 s" in html
    seen = swarm_seen(html)

    # Once nothing is in flight: 286 with the last picture, which polls no more.
    Run.objects.filter(pk=run.pk).update(status=Run.Status.SUCCEEDED, finished_at=now)
    response = client.get("/swarm/", {"block": 3, "seen": seen}, **HX)
    assert response.status_code == 286
    assert 'hx-trigger="submit from:body delay:500ms"' in response.content.decode()
