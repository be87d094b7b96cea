"""Faults on real engines, through the web endpoints a visitor uses, and what must hold after
each: every page answers, the affected run has a clear final status and message, no other
visitor's sandbox is touched, and no notes are lost.

Also here: containers in a sandbox have no way out (no route to the host's interfaces or the
internet), and one run with --userns-remap, the production default. The engine killed mid-run
and the worker killed mid-run are in test_runner_journey.py. Only 127.0.0.1, the host's own
address and addresses inside the sandboxes' namespaces are ever connected to.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from runner import provider
from runner.execute import run_docker
from runner.models import Run, Sandbox
from runner.sandbox import list_sandboxes, reap_sandboxes
from runner.swarm import read_swarm
from talks.models import Conference, Day, Highlight, Snippet, SnippetLine, Talk
from tests.integration.helpers import (
    assert_gone,
    is_dockerd,
    live_pids_mentioning,
    netns_list,
    run,
    sandbox_of,
)
from tests.visitors import visitor_of

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]
MiB = 1024 * 1024


@pytest.fixture
def lines(demo_day) -> dict[str, SnippetLine]:
    """The seed's lines, and a few more in the same block: a probe and a chatty service."""
    seed = list(SnippetLine.objects.order_by("position"))
    snippet = seed[0].snippet
    extra = {
        "probe": (
            "docker service create --name probe instavote/vote /bin/busybox sh -c "
            "'echo routes:; ip route; echo end; {connect}; sleep 3600'"
        ),
        "probe logs": "docker service logs probe",
        "chatty": (
            "docker service create --name chatty instavote/vote /bin/busybox sh -c "
            '\'/bin/busybox head -c 1200000 /dev/zero | /bin/busybox tr "\\0" x '
            "| /bin/busybox fold -w 8000; echo chatty done; sleep 3600'"
        ),
        "chatty logs": "docker service logs chatty",
        "chatty end": "docker service logs --tail 1 chatty",
    }
    made = {}
    for position, (name, command) in enumerate(extra.items(), start=100):
        if "{connect}" in command:
            command = command.format(connect=_connect_to_host())
        made[name] = SnippetLine.objects.create(snippet=snippet, position=position, command=command)
    names = ["create", "ls", "tasks", "scale", "movies", "indent"]
    return dict(zip(names, seed, strict=True)) | made


def _host_addresses() -> list[str]:
    """The host's own global IPv4 addresses (read from the host, nothing is sent)."""
    out = subprocess.run(
        ["ip", "-4", "-o", "addr", "show", "scope", "global"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return [line.split()[3].split("/")[0] for line in out.splitlines() if len(line.split()) > 3]


def _connect_to_host() -> str:
    hosts = _host_addresses()
    if not hosts:
        return "echo no host address to try"
    # The host's own address, port 22: a connection must not even leave the namespace.
    return (
        f"/bin/busybox nc -w 2 {hosts[0]} 22 </dev/null && echo nc connected "
        "|| echo nc could not connect"
    )


# -- what must hold after every fault -----------------------------------------------------------


def notes_digest() -> str:
    """Everything the notes hold, as the JSON export of every day plus row counts."""
    counts = [m.objects.count() for m in (Conference, Day, Talk, Highlight, Snippet, SnippetLine)]
    days = [
        Client().get(f"/c/{d.conference.slug}/{d.slug}/export.json").content.decode()
        for d in Day.objects.select_related("conference").order_by("pk")
    ]
    return json.dumps([counts, days])


def assert_every_page_answers(*runs: Run) -> None:
    client = Client()
    day = Day.objects.select_related("conference").get(number=1)
    snippet = Snippet.objects.first()
    urls = [
        "/",
        f"/c/{day.conference.slug}/",
        day.get_absolute_url(),
        day.talks.first().get_absolute_url(),
        "/tags/",
        "/search/?q=swarm",
        "/follow-ups/",
        f"/snippets/{snippet.pk}/history/",
        "/feeds/days.atom",
        *(f"/runs/{r.pk}/" for r in runs),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, f"{url}: {response.status_code}"
    for r in runs:
        assert client.get(f"/runs/{r.pk}/", HTTP_HX_REQUEST="true").status_code == 286


def dockerd_pids(box: Sandbox) -> list[int]:
    root = str(Path(box.docker_host.removeprefix("unix://")).parent.parent)
    return sorted(p for p in live_pids_mentioning(root + "/") if is_dockerd(p))


def fingerprint(box: Sandbox) -> tuple:
    """What another visitor's sandbox is: its row, its engine's process, its services."""
    box.refresh_from_db()
    services = sorted((s.id, s.name) for s in read_swarm(box.docker_host).services)
    return box.name, box.status, box.docker_host, dockerd_pids(box), services


def assert_final(run_: Run, status: str, reason: str) -> None:
    run_.refresh_from_db()
    assert run_.status == status, (run_.status, run_.reason, run_.stderr[-500:])
    assert reason in run_.reason, run_.reason
    assert run_.finished_at is not None


# -- faults -------------------------------------------------------------------------------------


def test_it_replaces_a_sandbox_whose_engine_died_before_the_run(lines, sandboxes):
    alice, bob = Client(), Client()
    before = notes_digest()
    assert run(alice, lines["ls"]).status == Run.Status.SUCCEEDED
    assert run(bob, lines["create"]).status == Run.Status.SUCCEEDED
    dead, bobs = sandbox_of(alice), sandbox_of(bob)
    bob_before = fingerprint(bobs)
    for pid in dockerd_pids(dead):
        os.kill(pid, signal.SIGKILL)  # the engine crashes between two runs

    after = run(alice, lines["ls"])
    assert after.status == Run.Status.SUCCEEDED, after.reason
    fresh = sandbox_of(alice)
    assert fresh.name != dead.name and after.sandbox_id == fresh.pk
    dead.refresh_from_db()
    assert dead.status == Sandbox.Status.GONE
    assert dead.error == "The engine had stopped; a fresh sandbox replaces it."
    assert_gone(dead, sandboxes)
    assert fingerprint(bobs) == bob_before
    assert notes_digest() == before
    assert_every_page_answers(after)


def test_it_times_out_a_command_the_engine_never_answers(lines, sandboxes, settings, monkeypatch):
    settings.RUNNER_TIMEOUT = 3
    alice, bob = Client(), Client()
    run(alice, lines["ls"])
    run(bob, lines["create"])
    box, bobs = sandbox_of(alice), sandbox_of(bob)
    bob_before = fingerprint(bobs)
    frozen = dockerd_pids(box)
    answers = provider.PendingSandbox.answers

    def answers_then_hangs(pending: provider.PendingSandbox) -> bool:
        ok = answers(pending)
        if pending.sandbox.pk == box.pk:  # the engine answered the ping, then hangs
            for pid in frozen:
                os.kill(pid, signal.SIGSTOP)
        return ok

    monkeypatch.setattr(provider.PendingSandbox, "answers", answers_then_hangs)
    started = time.monotonic()
    try:
        hung = run(alice, lines["ls"])
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
    monkeypatch.undo()
    took = time.monotonic() - started

    assert_final(hung, Run.Status.TIMED_OUT, "Stopped after 3 s: the command did not finish.")
    assert hung.exit_code is None
    assert "the command and its children were killed" in hung.stderr
    assert took < 3 + 10
    assert not _docker_clients_of(box), "the hung docker CLI is still running"
    resumed = run(alice, lines["ls"])  # the same sandbox, once its engine answers again
    assert resumed.status == Run.Status.SUCCEEDED and resumed.sandbox_id == box.pk
    assert fingerprint(bobs) == bob_before
    assert_every_page_answers(hung)


def _docker_clients_of(box: Sandbox) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry.name}/environ").read_bytes()
            comm = Path(f"/proc/{entry.name}/comm").read_text().strip()
        except OSError:
            continue
        if comm == "docker" and f"DOCKER_HOST={box.docker_host}".encode() in environ:
            found.append(int(entry.name))
    return found


def test_it_caps_the_logs_of_a_chatty_service(lines, sandboxes):
    client = Client()
    created = run(client, lines["chatty"])
    assert created.status == Run.Status.SUCCEEDED, created.reason
    box = sandbox_of(client)
    deadline = time.monotonic() + 60
    while "chatty done" not in run(client, lines["chatty end"]).stdout:
        assert time.monotonic() < deadline, "the chatty service did not finish talking"
        time.sleep(2)  # 150 lines of 8000 characters (1.2 MB), then "chatty done"
    logs = run(client, lines["chatty logs"])
    assert logs.status == Run.Status.SUCCEEDED
    assert logs.argv[-2:] == ["--tail", "500"]
    assert logs.truncated
    assert logs.stdout.endswith("\n[output truncated at 64 KiB]\n")
    assert len(logs.stdout) < 65 * 1024
    # On disk too: the engine rotates a container's log at 1 MB and keeps two files.
    root = Path(box.docker_host.removeprefix("unix://")).parent
    logs_on_disk = list(root.glob("data/containers/*/*-json.log*"))
    assert any(p.name.endswith(".log.1") for p in logs_on_disk), logs_on_disk
    assert sum(p.stat().st_size for p in logs_on_disk) <= 2 * MiB + 64 * 1024
    assert_every_page_answers(logs)


def test_it_lets_nothing_out_of_a_sandbox(lines, sandboxes):
    """A task has no default route and no route to the host's networks; connecting to the
    host's own address fails at once. The sandbox's own namespace has no way out either."""
    client = Client()
    created = run(client, lines["probe"])
    assert created.status == Run.Status.SUCCEEDED, created.reason
    deadline = time.monotonic() + 30
    while True:
        logs = run(client, lines["probe logs"])
        if "nc " in logs.stdout or "no host address" in logs.stdout:
            break
        assert time.monotonic() < deadline, logs.stdout
        time.sleep(0.5)
    routes = logs.stdout.split("routes:", 1)[1].split("end", 1)[0]
    assert "default" not in routes, routes
    for host in _host_addresses():
        prefix = ".".join(host.split(".")[:3]) + "."
        assert prefix not in routes, f"a route towards the host's network: {routes}"
    if _host_addresses():
        assert "nc could not connect" in logs.stdout and "nc connected" not in logs.stdout
    box = sandbox_of(client)
    namespaces = _netns_of(box)
    assert namespaces
    for netns in namespaces:
        out = subprocess.run(
            ["ip", "-n", netns, "route", "show"], capture_output=True, text=True, check=True
        ).stdout
        assert "default" not in out, out
    host_links = subprocess.run(
        ["ip", "-o", "link"], capture_output=True, text=True, check=True
    ).stdout
    assert not [ns for ns in namespaces if ns in host_links], "a host interface into the sandbox"


def _netns_of(box: Sandbox) -> list[str]:
    return [ns for ns in netns_list().split() if f"-{box.name}-n" in ns]


def test_it_runs_with_userns_remap_the_production_default(lines, sandboxes, settings):
    # Not pytest's tmp dir: with --userns-remap every directory above must be o+x.
    base = Path(tempfile.mkdtemp(prefix="cn-remap-", dir="/tmp"))
    base.chmod(0o711)
    settings.RUNNER_BASE_DIR = base
    settings.RUNNER_USERNS_REMAP = True
    try:
        client = Client()
        created = run(client, lines["create"])
        assert created.status == Run.Status.SUCCEEDED, created.reason
        box = sandbox_of(client)
        info = run_docker(["docker", "info", "--format", "{{.SecurityOptions}}"], **_at(box))
        assert "name=userns" in info.stdout
        ids = run_docker(["docker", "ps", "-q"], **_at(box)).stdout.split()
        assert ids
        pid = run_docker(["docker", "inspect", "--format", "{{.State.Pid}}", ids[0]], **_at(box))
        status = Path(f"/proc/{pid.stdout.strip()}/status").read_text()
        uid = int(status.split("Uid:")[1].split()[0])
        assert uid >= 100000, f"the task's root is uid {uid} on the host"
        assert run(client, lines["scale"]).status == Run.Status.SUCCEEDED
    finally:
        reap_sandboxes(base_dir=base)
        subprocess.run(["rm", "-rf", str(base)], check=False)


def _at(box: Sandbox) -> dict:
    return {"docker_host": box.docker_host, "timeout": 30}


# -- the disk under the sandboxes full ----------------------------------------------------------


@pytest.fixture
def small_disk(settings, images_dir) -> Iterator[Path]:
    """RUNNER_BASE_DIR on a 320 MB tmpfs: room for two sandboxes (about 125 MB each)."""
    mount = Path(tempfile.mkdtemp(prefix="cnfull-", dir="/tmp"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=320m,mode=0711", "tmpfs", str(mount)])
    settings.RUNNER_MODE = "sandbox"
    settings.RUNNER_BASE_DIR = mount
    settings.RUNNER_IMAGES_DIR = images_dir
    settings.RUNNER_POOL_SIZE = 0
    settings.RUNNER_CONVERGE_SECONDS = 30
    try:
        yield mount
    finally:
        try:
            reap_sandboxes(base_dir=mount)
        finally:
            if subprocess.run(["umount", str(mount)], check=False).returncode != 0:
                subprocess.run(["umount", "-l", str(mount)], check=False)
            mount.rmdir()
    assert str(mount) not in Path("/proc/self/mountinfo").read_text()


def fill(path: Path, *, leave: int) -> Path:
    """Fill the filesystem of path until only `leave` bytes are free."""
    filler = path / "filler"
    with filler.open("wb") as f:
        while (free := os.statvfs(path).f_bavail * os.statvfs(path).f_frsize) > leave:
            try:
                f.write(b"\0" * min(MiB, free - leave))
                f.flush()
            except OSError:
                break
    return filler


def test_it_ends_runs_clearly_when_the_sandbox_disk_is_full(lines, small_disk):
    alice, bob = Client(), Client()
    before = notes_digest()
    assert run(alice, lines["create"]).status == Run.Status.SUCCEEDED
    alices = sandbox_of(alice)
    alice_before = fingerprint(alices)
    filler = fill(small_disk, leave=4 * MiB)

    refused = run(bob, lines["ls"])  # bob has no sandbox yet: there is no room for one
    assert_final(
        refused,
        Run.Status.ENGINE_UNAVAILABLE,
        "the disk that holds the sandboxes is full, so nothing was run",
    )
    failed = Sandbox.objects.get(visitor=visitor_of(bob))
    assert failed.status == Sandbox.Status.FAILED and "No space left" in failed.error
    assert list_sandboxes(base_dir=small_disk) == [alices.name]  # nothing half-written
    assert not [ns for ns in netns_list().split() if f"-{failed.name}-" in ns]

    scaled = run(alice, lines["scale"])  # a change would hang waiting for space: not run
    assert_final(scaled, Run.Status.ENGINE_UNAVAILABLE, "The disk that holds the sandboxes is full")
    listed = run(alice, lines["ls"])  # reading still works
    assert listed.status == Run.Status.SUCCEEDED and "vote" in listed.stdout
    assert fingerprint(alices) == alice_before
    assert_every_page_answers(refused, scaled, listed)

    filler.unlink()  # space again: both carry on
    assert run(bob, lines["ls"]).status == Run.Status.SUCCEEDED
    assert run(alice, lines["scale"]).status == Run.Status.SUCCEEDED
    assert len(read_swarm(alices.docker_host).running_tasks("vote")) == 6
    assert notes_digest() == before


# -- the database busy while a real run finishes ------------------------------------------------


@pytest.mark.skipif(
    "sqlite" not in os.environ.get("DATABASE_URL", "sqlite"), reason="SQLite's own locking"
)
def test_it_finishes_a_real_run_while_the_database_is_locked(lines, sandboxes):
    client = Client()
    run(client, lines["ls"])  # the sandbox exists: the next run is quick
    held = threading.Event()

    def lock_while_running() -> None:
        db = sqlite3.connect(str(connection.settings_dict["NAME"]), timeout=10)
        db.isolation_level = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            row = db.execute("SELECT status FROM runner_run ORDER BY id DESC LIMIT 1").fetchone()
            if row and row[0] == "running":
                db.execute("BEGIN IMMEDIATE")
                held.set()
                time.sleep(2)
                db.execute("COMMIT")
                break
            time.sleep(0.005)
        db.close()

    locker = threading.Thread(target=lock_while_running)
    locker.start()
    created = run(client, lines["create"])
    locker.join()
    assert held.is_set()
    assert created.status == Run.Status.SUCCEEDED, created.reason
    assert "Converged" in created.converged
    assert_every_page_answers(created)
