"""The runner end to end on real engines, through the web endpoints a visitor uses.

Tasks run in-process (django-tasks' immediate backend) except where a real worker process is
the point (killed mid-run). Every assertion about the swarm reads the engine's own state.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from runner import provider
from runner.execute import run_docker
from runner.models import Run, Sandbox
from runner.swarm import read_swarm
from talks.models import SnippetLine
from tests.integration.helpers import assert_gone, is_dockerd, live_pids_mentioning, run, sandbox_of

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]
HX = {"HTTP_HX_REQUEST": "true"}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def seed_lines(demo_day) -> list[SnippetLine]:
    return list(SnippetLine.objects.order_by("position"))


def test_it_runs_the_six_seed_commands_for_real(client, seed_lines, sandboxes):
    create, ls, tasks, scale, movies, indent = seed_lines

    created = run(client, create)
    assert created.status == Run.Status.SUCCEEDED, created.stderr
    assert created.argv[:3] == ["docker", "service", "create"] and "--detach" in created.argv
    assert created.engine_version
    assert "Converged. vote: 1/1 tasks running" in created.converged
    host = sandbox_of(client).docker_host
    resources = "{{json .Spec.TaskTemplate.Resources}}"
    limits = run_docker(
        ["docker", "service", "inspect", "--format", resources, "vote"], docker_host=host
    )
    assert json.loads(limits.stdout)["Limits"] == {
        "NanoCPUs": 250_000_000,
        "MemoryBytes": 64 * 1024 * 1024,
        "Pids": 128,
    }

    listed = run(client, ls)
    assert listed.status == Run.Status.SUCCEEDED
    assert "instavote/vote:latest" in listed.stdout and "vote" in listed.stdout

    renamed = run(client, tasks)
    assert renamed.argv == ["docker", "service", "ps", "vote"]
    assert "`docker service tasks`" in renamed.note and "`docker service ps vote`" in renamed.note
    assert "vote.1" in renamed.stdout

    scaled = run(client, scale)
    assert scaled.status == Run.Status.SUCCEEDED
    assert "vote scaled to 6" in scaled.stdout
    assert len(read_swarm(host).running_tasks("vote")) == 6

    assert run(client, movies).status == Run.Status.SUCCEEDED
    images = {t.image for t in read_swarm(host).running_tasks("vote")}
    assert images == {"instavote/vote:movies"}

    updated = run(client, indent)
    assert updated.status == Run.Status.SUCCEEDED, updated.converged
    running = read_swarm(host).running_tasks("vote")
    assert len(running) == 6
    assert {t.image for t in running} == {"instavote/vote:indent"}

    page = Client().get("/c/dockercon-2016/day-1/").content.decode()
    assert "vote scaled to 6" in page
    assert f"Docker Engine {created.engine_version}" in page


def test_it_keeps_two_visitors_apart(seed_lines, sandboxes):
    alice, bob = Client(), Client()
    assert run(alice, seed_lines[0]).status == Run.Status.SUCCEEDED
    assert run(bob, seed_lines[0]).status == Run.Status.SUCCEEDED  # same --name vote
    a, b = sandbox_of(alice), sandbox_of(bob)
    assert a.name != b.name
    a_ids = {s.id for s in read_swarm(a.docker_host).services}
    b_ids = {s.id for s in read_swarm(b.docker_host).services}
    assert len(a_ids) == len(b_ids) == 1 and a_ids != b_ids
    run(alice, seed_lines[3])  # scale alice's vote to 6
    assert len(read_swarm(a.docker_host).running_tasks("vote")) == 6
    assert len(read_swarm(b.docker_host).running_tasks("vote")) == 1


def test_it_resets_a_sandbox_and_leaves_nothing_behind(client, seed_lines, sandboxes):
    run(client, seed_lines[0])
    old = sandbox_of(client)
    response = client.post("/sandbox/reset/", **HX)
    assert response.status_code == 200
    assert "being removed" in response.content.decode()
    old.refresh_from_db()
    assert old.status == Sandbox.Status.GONE
    assert_gone(old, sandboxes)
    fresh = run(client, seed_lines[1])
    assert fresh.status == Run.Status.SUCCEEDED
    assert "vote" not in fresh.stdout
    assert sandbox_of(client).name != old.name


def test_it_reaps_expired_sandboxes(client, seed_lines, sandboxes, settings):
    run(client, seed_lines[1])
    box = sandbox_of(client)
    settings.RUNNER_IDLE_TTL = 0
    time.sleep(0.1)
    assert box.name in provider.reap()
    box.refresh_from_db()
    assert box.status == Sandbox.Status.GONE
    assert_gone(box, sandboxes)


def test_it_fails_a_run_clearly_when_the_engine_dies_mid_run(client, seed_lines, sandboxes):
    create, *_rest, indent = seed_lines
    run(client, create)
    run(client, seed_lines[3])
    box = sandbox_of(client)
    dockerd = [p for p in live_pids_mentioning(str(Path(sandboxes) / box.name)) if is_dockerd(p)]
    assert dockerd

    def kill_soon() -> None:
        time.sleep(3)  # the rolling update with --update-delay 10s is converging by then
        for pid in dockerd:
            os.kill(pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_soon)
    killer.start()
    updated = run(client, indent)
    killer.join()
    assert updated.status == Run.Status.FAILED
    assert "the sandbox's engine stopped answering" in updated.reason
    # The visitor's next run gets a fresh engine rather than an error.
    after = run(client, seed_lines[1])
    assert after.status == Run.Status.SUCCEEDED
    assert sandbox_of(client).name != box.name


def test_it_closes_a_run_when_the_worker_is_killed_mid_run(seed_lines, sandboxes, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    client = Client()
    worker = _start_worker(sandboxes)
    try:
        run(client, seed_lines[0])
        first = _wait_finished(Run.objects.latest("id"), timeout=60)
        assert first.status == Run.Status.SUCCEEDED, first.reason
        run(client, seed_lines[3])
        _wait_finished(Run.objects.latest("id"), timeout=60)
        client.post(f"/run/line/{seed_lines[5].pk}/", **HX)  # a rolling update: ~20 s
        slow = Run.objects.latest("id")
        _wait_status(slow, Run.Status.RUNNING, timeout=30)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        slow.refresh_from_db()
        assert slow.status == Run.Status.RUNNING  # nobody closed it yet
        worker = _start_worker(sandboxes)
        closed = _wait_finished(slow, timeout=30)
        assert closed.status == Run.Status.ERROR
        assert "The worker stopped while this run was in flight" in closed.reason
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)


def test_a_queued_run_wakes_the_worker_at_once(seed_lines, sandboxes, settings, tmp_path):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.RUNNER_WAKEUP_DIR = tmp_path / "wakeup"
    worker = _start_worker(sandboxes, interval=120)  # its own polls would take two minutes
    try:
        deadline = time.monotonic() + 30
        while not list(settings.RUNNER_WAKEUP_DIR.glob("worker-*.sock")):  # listening
            assert worker.poll() is None and time.monotonic() < deadline, "no worker socket"
            time.sleep(0.1)
        time.sleep(0.5)  # past its first poll, now waiting
        started = time.monotonic()
        run(Client(), seed_lines[1])  # docker service ls
        done = _wait_finished(Run.objects.latest("id"), timeout=60)
        assert done.status == Run.Status.SUCCEEDED, done.reason
        assert time.monotonic() - started < 30  # a sandbox start and a run, not a poll
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)


# -- helpers ------------------------------------------------------------------------------------


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{host}:{port}/{db['NAME']}"


def _start_worker(base_dir: Path, *, interval: float = 0.05) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "notes_site.settings",
        "SECRET_KEY": "worker-test-secret",
        "DATABASE_URL": _database_url(),
        "RUNNER_BASE_DIR": str(base_dir),
        "RUNNER_IMAGES_DIR": str(settings.RUNNER_IMAGES_DIR),
        "RUNNER_POOL_SIZE": "0",
        "RUNNER_USERNS_REMAP": "false",  # base_dir is in pytest's private tmp dir
        "RUNNER_WAKEUP_DIR": str(settings.RUNNER_WAKEUP_DIR),
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_worker", "--interval", str(interval)],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_status(run: Run, status: str, *, timeout: float) -> Run:
    deadline = time.monotonic() + timeout
    while True:
        run.refresh_from_db()
        if run.status == status:
            return run
        assert time.monotonic() < deadline, f"run stayed {run.status}, not {status}"
        time.sleep(0.1)


def _wait_finished(run: Run, *, timeout: float) -> Run:
    deadline = time.monotonic() + timeout
    while True:
        run.refresh_from_db()
        if run.finished:
            return run
        assert time.monotonic() < deadline, f"run still {run.status} after {timeout} s"
        time.sleep(0.1)
