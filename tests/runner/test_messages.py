"""What the visitor is told: the message page (shown without JavaScript after a reset or a
refusal) says what it is, and a run whose sandbox was reset under it says so, rather than
asking for the reset the visitor just made.

The runs here go through the worker's own code (``runs.execute_run`` on a claimed run, as
``execute_runs`` does with a ready sandbox) against a fake `docker` and a fake swarm read; the
sandbox is removed by the provider's own ``reset``, with only the engine's teardown faked.
"""

from __future__ import annotations

import re
import threading
import time

import pytest
from django.db import connection

from runner import provider, runs, snapshots
from runner.models import Run, Sandbox
from runner.swarm import SwarmPicture
from talks.models import SnippetLine
from tests.factories import lone_line
from tests.runner.swarm_fixtures import node, service, spread

VISITOR = "0123456789abcdef01234567"
FAKE_HOST = "unix:///nonexistent/confnotes-fake-docker.sock"
HX = {"HTTP_HX_REQUEST": "true"}
UPDATING = SwarmPicture(  # `docker service update --image …:indent` half-way
    nodes=[node("manager1")],
    services=[service("vote", image="instavote/vote:indent", replicas=2, update="updating")],
    tasks=spread("vote", 2, ["manager1"], image="instavote/vote:movies"),
)


def heading_and_title(html: str) -> tuple[list[str], str]:
    headings = re.findall(r"<h1[^>]*>(.*?)</h1>", html)
    return headings, re.search(r"<title>(.*?)</title>", html).group(1)


# The message page ------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_heads_the_not_found_page_of_the_confirmation(client):
    response = client.get("/run/confirm/", {"action": "/nope/"})
    assert response.status_code == 404
    assert heading_and_title(response.content.decode()) == (["Not found"], "Not found · Confnotes")


@pytest.mark.django_db
def test_it_heads_the_page_after_a_reset_without_javascript(client, settings):
    settings.SITE_NAME = "Our notes"
    response = client.post("/sandbox/reset/")
    html = response.content.decode()
    assert response.status_code == 200
    assert heading_and_title(html) == (["Your sandbox"], "Your sandbox · Our notes")
    assert "You have no sandbox yet; your first run starts one." in html


@pytest.mark.django_db
def test_it_heads_a_refused_run_without_javascript(client, demo_day, settings):
    settings.RUNNER_RATE_PER_MINUTE = 0
    line = SnippetLine.objects.get(command="docker service ls")
    response = client.post(f"/run/line/{line.pk}/")
    assert response.status_code == 429
    html = response.content.decode()
    assert heading_and_title(html) == (["Run refused"], "Run refused · Confnotes")
    assert "Too many runs: at most 0 a minute per visitor." in html


@pytest.mark.django_db
def test_it_heads_a_run_an_account_may_not_make(client, demo_day, settings, plain_user):
    settings.RUNNER_ANONYMOUS = False
    client.force_login(plain_user)
    line = SnippetLine.objects.get(command="docker service ls")
    response = client.post(f"/run/line/{line.pk}/")
    assert response.status_code == 403
    assert heading_and_title(response.content.decode()) == (
        ["Not allowed"],
        "Not allowed · Confnotes",
    )


@pytest.mark.django_db
def test_with_htmx_the_message_is_the_alert_alone(client):
    response = client.post("/sandbox/reset/", **HX)
    html = response.content.decode()
    assert html.startswith('<p class="notice" role="alert">You have no sandbox yet')
    assert "<h1" not in html and "<title>" not in html


@pytest.mark.django_db
def test_the_reset_confirmation_warns_that_runs_in_flight_stop(client):
    html = client.get("/run/confirm/", {"action": "/sandbox/reset/"}).content.decode()
    assert "stops any run still going in it" in html


# A run whose sandbox goes away under it --------------------------------------------------


@pytest.fixture
def box(settings, tmp_path) -> Sandbox:
    """The visitor's ready sandbox (no engine behind it)."""
    settings.RUNNER_MODE = "sandbox"
    settings.RUNNER_BASE_DIR = tmp_path
    settings.RUNNER_TIMEOUT = 5
    settings.RUNNER_CONVERGE_SECONDS = 30
    return Sandbox.objects.create(
        name="sbx-reset", visitor=VISITOR, status=Sandbox.Status.READY, docker_host=FAKE_HOST
    )


@pytest.fixture
def update_line(db) -> SnippetLine:
    return lone_line("docker service update vote --image instavote/vote:indent --update-delay 10s")


@pytest.fixture
def engine_teardown(monkeypatch) -> threading.Event:
    """The engine's teardown, faked: set when it starts, and it takes a moment, as a real one
    does (meanwhile the row says stopping)."""
    stopping = threading.Event()

    def stop_sandbox(name, *, base_dir, grace=0.0):
        stopping.set()
        time.sleep(0.5)

    monkeypatch.setattr(provider.engines, "stop_sandbox", stop_sandbox)
    return stopping


def execute(line: SnippetLine, box: Sandbox) -> Run:
    """Queue and carry out the line as the worker does with the visitor's ready sandbox."""
    decision = runs.decide(line.command, VISITOR)
    assert decision.allowed
    queued = Run.objects.create(
        snippet_line=line, visitor=VISITOR, line=line.command, argv=list(decision.argv)
    )
    run = runs._claim_queued(queued.pk, box)
    runs.execute_run(run, box)
    run.refresh_from_db()
    return run


def _reset_elsewhere() -> threading.Thread:
    """The reset task, in a thread of its own (as in another worker)."""

    def reset() -> None:
        try:
            provider.reset(VISITOR)
        finally:
            connection.close()

    thread = threading.Thread(target=reset)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_a_run_whose_sandbox_is_reset_while_it_converges_says_so(
    box, update_line, fake_docker, engine_teardown, monkeypatch
):
    fake_docker("#!/bin/sh\necho vote\n")
    polls: list[SwarmPicture] = []
    resets: list[threading.Thread] = []

    def read_swarm(docker_host: str, *, timeout: int = 5) -> SwarmPicture:
        if polls and not resets:  # converging, and the visitor presses Reset
            resets.append(_reset_elsewhere())
            engine_teardown.wait(5)
        if engine_teardown.is_set():
            raise ConnectionRefusedError("the engine is gone")
        polls.append(UPDATING)
        return UPDATING

    monkeypatch.setattr(snapshots, "read_swarm", lambda host, **kw: UPDATING)
    monkeypatch.setattr(runs, "read_swarm", read_swarm)
    run = execute(update_line, box)
    resets[0].join()

    assert run.status == Run.Status.FAILED
    assert run.reason == (
        "Your sandbox was reset while this ran, so the swarm was removed before it converged."
    )
    box.refresh_from_db()
    assert box.status == Sandbox.Status.GONE and box.error == provider.RESET_ERROR


@pytest.mark.django_db
def test_a_run_whose_engine_stops_on_its_own_still_says_so(
    box, update_line, fake_docker, monkeypatch
):
    fake_docker("#!/bin/sh\necho vote\n")
    reads = iter([UPDATING])

    def read_swarm(docker_host: str, *, timeout: int = 5) -> SwarmPicture:
        picture = next(reads, None)
        if picture is None:
            raise ConnectionRefusedError("the engine died")
        return picture

    monkeypatch.setattr(snapshots, "read_swarm", lambda host, **kw: UPDATING)
    monkeypatch.setattr(runs, "read_swarm", read_swarm)
    started = time.monotonic()
    run = execute(update_line, box)
    assert time.monotonic() - started < 5  # no wait for a removal
    assert run.status == Run.Status.FAILED
    assert "the sandbox's engine stopped answering" in run.reason
    assert "Reset your sandbox to get a fresh one." in run.reason  # it is still there


@pytest.mark.parametrize(
    ("remove", "reason"),
    [
        (
            lambda: provider.reset(VISITOR),
            "Your sandbox was reset while this ran, so its engine was gone before the command "
            "finished.",
        ),
        (
            lambda: provider._forget(Sandbox.objects.get(visitor=VISITOR), error="Expired."),
            "Your sandbox was removed while this ran, so its engine was gone before the command "
            "finished; your next run starts in a fresh one.",
        ),
    ],
    ids=["reset", "expired"],
)
@pytest.mark.django_db
def test_a_command_whose_sandbox_was_removed_under_it_says_so(
    box, update_line, fake_docker, engine_teardown, monkeypatch, remove, reason
):
    fake_docker(
        "#!/bin/sh\n"
        'echo "Cannot connect to the Docker daemon at unix:///x.sock. Is the docker daemon'
        ' running?" >&2\n'
        "exit 1\n"
    )
    real_run_docker = runs.run_docker

    def removed_first(argv, **kwargs):
        remove()
        return real_run_docker(argv, **kwargs)

    monkeypatch.setattr(snapshots, "read_swarm", lambda host, **kw: UPDATING)
    monkeypatch.setattr(runs, "run_docker", removed_first)
    run = execute(update_line, box)
    assert run.status == Run.Status.FAILED and run.exit_code == 1
    assert run.reason == reason


@pytest.mark.django_db
def test_a_sandbox_being_removed_says_why_at_once(box):
    # The reason is written with "stopping", before the teardown: a run that loses its engine
    # meanwhile tells the visitor why without waiting for the teardown to end.
    Sandbox.objects.filter(pk=box.pk).update(
        status=Sandbox.Status.STOPPING, error=provider.RESET_ERROR
    )
    started = time.monotonic()
    reason = runs._removed_meanwhile(box, cost="it stopped")
    assert time.monotonic() - started < 1
    assert reason == "Your sandbox was reset while this ran, so it stopped."


@pytest.mark.django_db
def test_the_reaper_finishes_a_stuck_teardown_for_its_own_reason(box, engine_teardown, settings):
    settings.RUNNER_MODE = "shared"  # no engines on disk to look for here
    Sandbox.objects.filter(pk=box.pk).update(
        status=Sandbox.Status.STOPPING, error=provider.RESET_ERROR
    )
    assert box.name in provider.reap()
    box.refresh_from_db()
    assert box.status == Sandbox.Status.GONE and box.error == provider.RESET_ERROR
