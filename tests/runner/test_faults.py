"""Faults a run survives, fast: a fake `docker` first on PATH, the engine at a fake address.

Each run goes through the worker's own code (``execute_runs``) in "shared" mode, whose engine
is whatever DOCKER_HOST names, so no real engine is needed. The same faults on real engines
are in tests/integration/test_faults.py.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from runner import provider, runs
from runner.execute import KILL_GRACE
from runner.models import Run, RunnerStatus, Sandbox
from talks.models import SnippetLine
from tests.factories import lone_line

FAKE_HOST = "unix:///nonexistent/confnotes-fake-docker.sock"
VISITOR = "0123456789abcdef01234567"


@pytest.fixture
def shared_engine(settings):
    """Runs go to the "shared" engine at FAKE_HOST, known to the worker already."""
    settings.RUNNER_MODE = "shared"
    settings.RUNNER_SHARED_DOCKER_HOST = FAKE_HOST
    settings.RUNNER_TIMEOUT = 1
    settings.RUNNER_MAX_OUTPUT = 64 * 1024
    return Sandbox.objects.create(
        name="shared",
        shared=True,
        status=Sandbox.Status.READY,
        docker_host=FAKE_HOST,
        engine_version="28.0.0-fake",
    )


@pytest.fixture
def line(db) -> SnippetLine:
    return lone_line("docker service ls")


def queue(line: SnippetLine) -> Run:
    """A run as the web process records it (the policy's argv), not yet executed."""
    decision = runs.decide(line.command, VISITOR)
    assert decision.allowed
    return Run.objects.create(
        snippet_line=line, visitor=VISITOR, line=line.command, argv=list(decision.argv)
    )


def execute(run: Run) -> Run:
    runs.execute_runs([run.pk])
    run.refresh_from_db()
    return run


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def assert_pages_answer(line: SnippetLine, run: Run) -> None:
    client = Client()
    day = line.snippet.talk.day
    for url in (
        "/",
        day.get_absolute_url(),
        f"/runs/{run.pk}/",
        f"/snippets/{line.snippet_id}/history/",
    ):
        assert client.get(url).status_code == 200, url


@pytest.mark.django_db
def test_it_times_out_a_hanging_command_and_kills_its_process_group(
    fake_docker, shared_engine, line, tmp_path
):
    pids = tmp_path / "pids"
    fake_docker(
        f"""#!/bin/sh
echo "ID   NAME"
echo $$ >> {pids}
# A child that ignores SIGTERM and a grandchild: the whole group must go.
sh -c 'trap "" TERM; echo $$ >> {pids}; sleep 60 & echo $! >> {pids}; wait' &
exec sleep 60
"""
    )
    started = time.monotonic()
    run = execute(queue(line))
    took = time.monotonic() - started

    assert run.status == Run.Status.TIMED_OUT
    assert run.reason == "Stopped after 1 s: the command did not finish."
    assert run.exit_code is None and run.finished_at is not None
    assert run.stdout == "ID   NAME\n"
    assert "[timed out after 1 s: the command and its children were killed]" in run.stderr
    assert took < 1 + KILL_GRACE + 5
    recorded = [int(pid) for pid in pids.read_text().split()]
    assert len(recorded) == 3
    deadline = time.monotonic() + 3
    while any(_alive(pid) for pid in recorded) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in recorded if _alive(pid)], "a process of the run survived"
    assert_pages_answer(line, run)


@pytest.mark.django_db
def test_it_caps_a_50_mb_flood_with_a_marker(fake_docker, shared_engine, line, settings):
    settings.RUNNER_TIMEOUT = 60  # the flood ends on its own; a busy machine may take a while
    fake_docker(
        """#!/bin/sh
head -c 52428800 /dev/zero | tr '\\0' 'x'
echo
head -c 1048576 /dev/zero | tr '\\0' 'e' >&2
"""
    )
    started = time.monotonic()
    run = execute(queue(line))
    took = time.monotonic() - started

    assert run.status == Run.Status.SUCCEEDED
    assert run.truncated
    assert run.stdout.endswith("\n[output truncated at 64 KiB]\n")
    assert run.stderr.endswith("\n[output truncated at 64 KiB]\n")
    assert len(run.stdout) == 64 * 1024 + len("\n[output truncated at 64 KiB]\n")
    assert set(run.stdout[: 64 * 1024]) == {"x"}
    assert took < 60
    assert_pages_answer(line, run)


@pytest.mark.django_db
def test_it_explains_an_engine_that_does_not_answer_at_start_up(fake_docker, settings, line):
    """No engine at DOCKER_HOST: the heartbeat says so, and a run ends with a clear status."""
    settings.RUNNER_MODE = "shared"
    settings.RUNNER_SHARED_DOCKER_HOST = FAKE_HOST
    fake_docker("#!/bin/sh\nexit 99\n")  # never reached
    status = provider.record_status()
    assert not status.available
    assert f"The shared engine at {FAKE_HOST} does not answer" in status.explanation

    run = execute(queue(line))
    assert run.status == Run.Status.ENGINE_UNAVAILABLE
    assert run.reason == f"The shared engine at {FAKE_HOST} does not answer; start Docker there."
    assert run.exit_code is None and run.finished_at is not None
    page = Client().get(line.snippet.talk.day.get_absolute_url()).content.decode()
    assert "does not answer" in page  # the explanation shows where Run would be
    assert_pages_answer(line, run)


@pytest.mark.django_db
def test_it_explains_an_engine_that_stops_answering(fake_docker, shared_engine, line):
    fake_docker(
        """#!/bin/sh
echo "Cannot connect to the Docker daemon at unix:///x.sock. Is the docker daemon running?" >&2
exit 1
"""
    )
    run = execute(queue(line))
    assert run.status == Run.Status.FAILED
    assert run.exit_code == 1
    assert "The sandbox's engine stopped answering" in run.reason
    assert "Cannot connect to the Docker daemon" in run.stderr


@pytest.mark.django_db
def test_it_ends_a_run_clearly_when_the_sandbox_disk_is_full(settings, line, monkeypatch):
    settings.RUNNER_MODE = "sandbox"
    settings.RUNNER_POOL_SIZE = 0

    def no_space(**kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", "/var/lib/confnotes/x")

    monkeypatch.setattr(provider.engines, "start_sandbox", no_space)
    monkeypatch.setattr(provider, "_images", list)
    run = execute(queue(line))
    assert run.status == Run.Status.ENGINE_UNAVAILABLE
    assert "the disk that holds the sandboxes is full, so nothing was run" in run.reason
    box = Sandbox.objects.get(visitor=VISITOR)
    assert box.status == Sandbox.Status.FAILED
    assert "No space left on device" in box.error  # for the operator, in the admin
    assert_pages_answer(line, run)


@pytest.mark.django_db
def test_it_runs_only_reading_commands_while_the_sandbox_disk_is_full(
    fake_docker, settings, line, monkeypatch
):
    settings.RUNNER_MODE = "sandbox"
    box = Sandbox.objects.create(
        name="sbx-full", visitor=VISITOR, status=Sandbox.Status.READY, docker_host=FAKE_HOST
    )
    monkeypatch.setattr(provider, "sandbox_for", lambda visitor: box)
    monkeypatch.setattr(provider, "free_disk", lambda: 1024 * 1024)
    fake_docker("#!/bin/sh\necho 'ID   NAME'\n")
    listed = execute(queue(line))
    assert listed.status == Run.Status.SUCCEEDED
    line.command = "docker service scale vote=6"
    line.save()
    scaled = execute(queue(line))
    assert scaled.status == Run.Status.ENGINE_UNAVAILABLE
    assert scaled.reason.startswith("The disk that holds the sandboxes is full, so this command")
    assert scaled.exit_code is None and not scaled.stdout


@pytest.mark.django_db
def test_it_records_an_unexpected_runner_failure(fake_docker, shared_engine, line, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(runs, "run_docker", broken)
    run = execute(queue(line))
    assert run.status == Run.Status.ERROR
    assert run.reason == "The runner failed: RuntimeError."


@pytest.mark.django_db
def test_a_failure_before_the_claim_closes_the_run_but_never_overwrites_an_end(
    fake_docker, shared_engine, line, monkeypatch
):
    def broken(run_id):
        raise RuntimeError("boom")

    monkeypatch.setattr(runs.provider, "ready_sandbox_for_run", broken)
    queued = execute(queue(line))
    assert (queued.status, queued.reason) == (Run.Status.ERROR, "The runner failed: RuntimeError.")

    def finished_elsewhere_then_broken(run_id):
        Run.objects.filter(pk=run_id).update(status=Run.Status.SUCCEEDED, reason="")
        raise RuntimeError("boom")

    monkeypatch.setattr(runs.provider, "ready_sandbox_for_run", finished_elsewhere_then_broken)
    done = execute(queue(line))
    assert (done.status, done.reason) == (Run.Status.SUCCEEDED, "")


# -- the database busy while a run finishes -----------------------------------------------------


def _database_file() -> str:
    return str(connection.settings_dict["NAME"])


def _hold_write_lock(started: Path, seconds: float, held: threading.Event) -> threading.Thread:
    """Once the fake docker has started, take SQLite's write lock for `seconds`."""

    def hold() -> None:
        deadline = time.monotonic() + 10
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        other = sqlite3.connect(_database_file(), timeout=10, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            held.set()
            time.sleep(seconds)
            other.execute("COMMIT")
        finally:
            other.close()

    thread = threading.Thread(target=hold)
    thread.start()
    return thread


sqlite_only = pytest.mark.skipif(
    "sqlite" not in os.environ.get("DATABASE_URL", "sqlite"), reason="SQLite's own locking"
)


@sqlite_only
@pytest.mark.django_db(transaction=True)
def test_it_finishes_a_run_while_the_database_is_locked_for_a_moment(
    fake_docker, shared_engine, line, tmp_path
):
    started = tmp_path / "started"
    fake_docker(f"#!/bin/sh\ntouch {started}\nsleep 0.3\necho 'ID   NAME'\n")
    held = threading.Event()
    holder = _hold_write_lock(started, 1.5, held)
    run = queue(line)
    began = time.monotonic()
    run = execute(run)
    took = time.monotonic() - began
    holder.join()

    assert held.is_set()
    assert took >= 1.3, "the final save did not wait for the lock"
    assert run.status == Run.Status.SUCCEEDED
    assert run.stdout == "ID   NAME\n"
    assert run.finished_at is not None


@sqlite_only
@pytest.mark.django_db(transaction=True)
def test_it_retries_the_final_save_when_the_lock_outlasts_the_busy_timeout(
    fake_docker, shared_engine, line, tmp_path, caplog
):
    started = tmp_path / "started"
    fake_docker(f"#!/bin/sh\ntouch {started}\nsleep 0.3\necho 'ID   NAME'\n")
    run = queue(line)
    options = connection.settings_dict["OPTIONS"]
    saved = options.get("timeout")
    connection.close()
    options["timeout"] = 0.1  # SQLite gives up after 0.1 s: the runner must try again
    held = threading.Event()
    holder = _hold_write_lock(started, 1.5, held)
    try:
        run = execute(run)
    finally:
        holder.join()
        connection.close()
        options["timeout"] = saved
    assert held.is_set()
    assert run.status == Run.Status.SUCCEEDED
    assert run.stdout == "ID   NAME\n"
    assert any("database unavailable" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_it_shows_every_page_while_the_runner_is_down(line):
    """No worker heartbeat at all: pages still answer and say how to enable running."""
    RunnerStatus.objects.create(
        pk=1, available=True, checked_at=timezone.now() - timezone.timedelta(hours=1)
    )
    run = Run.objects.create(
        snippet_line=line, visitor=VISITOR, line=line.command, status=Run.Status.QUEUED
    )
    assert_pages_answer(line, run)
    page = Client().get(line.snippet.talk.day.get_absolute_url()).content.decode()
    assert "No runner worker is running" in page


# -- the visitor's sandbox, pinged while the run is claimed ---------------------------------------


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"
ECHO_HOST = '#!/bin/sh\necho "ID NAME via $DOCKER_HOST"\n'  # a fake docker naming its engine


@pytest.fixture
def answering_engine(engine_socket):
    """A stand-in engine that answers every request with 200 OK; keeps the requests."""
    host, replies, requests = engine_socket
    replies += [OK] * 10
    return host, requests


def _visitors_sandbox(docker_host: str, version: str) -> Sandbox:
    return Sandbox.objects.create(
        name=f"sbx-{version}",
        visitor=VISITOR,
        status=Sandbox.Status.READY,
        docker_host=docker_host,
        engine_version=version,
    )


@pytest.mark.django_db
def test_a_run_goes_to_the_visitors_sandbox_when_its_engine_answers(
    fake_docker, line, settings, answering_engine, monkeypatch
):
    settings.RUNNER_MODE = "sandbox"
    host, pings = answering_engine
    fake_docker(ECHO_HOST)
    mine = _visitors_sandbox(host, "20.10-answers")
    monkeypatch.setattr(provider, "sandbox_for", lambda *a, **k: pytest.fail("not needed"))
    run = execute(queue(line))
    assert (run.status, run.sandbox_id, run.engine_version) == (
        Run.Status.SUCCEEDED,
        mine.pk,
        "20.10-answers",
    )
    assert f"via {host}" in run.stdout
    # One ping, before the command; the swarm picture taken after it asks other things.
    assert [p for p in pings if p.startswith(b"GET /_ping ")] == pings[:1]


@pytest.mark.django_db
def test_a_sandbox_that_stopped_answering_is_not_the_runs(fake_docker, line, settings, monkeypatch):
    """It was recorded with the claim while its ping was under way; the run then goes the
    slow way (sandbox_for replaces the sandbox), or ends with no sandbox named at all."""
    settings.RUNNER_MODE = "sandbox"
    fake_docker(ECHO_HOST)
    _visitors_sandbox("unix:///nonexistent/confnotes-dead-engine.sock", "20.10-dead")
    fresh = Sandbox.objects.create(
        name="sbx-fresh", status=Sandbox.Status.READY, docker_host=FAKE_HOST, engine_version="fresh"
    )
    monkeypatch.setattr(provider, "sandbox_for", lambda visitor, **kwargs: fresh)
    run = execute(queue(line))
    assert (run.status, run.sandbox_id, run.engine_version) == (
        Run.Status.SUCCEEDED,
        fresh.pk,
        "fresh",
    )
    assert f"via {FAKE_HOST}" in run.stdout

    def unavailable(visitor, **kwargs):
        raise provider.EngineUnavailable("No engine here.")

    monkeypatch.setattr(provider, "sandbox_for", unavailable)
    run = execute(queue(line))
    assert (run.status, run.reason) == (Run.Status.ENGINE_UNAVAILABLE, "No engine here.")
    assert (run.sandbox_id, run.engine_version) == (None, "")
