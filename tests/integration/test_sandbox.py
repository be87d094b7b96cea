"""Real private engines: the seed commands, isolation, teardown, reaping, multi-node swarms.

Needs root, dockerd, containerd, runc, nsenter and ip (see runner.sandbox.engine_available).
Without them these tests skip, except under CI, where they fail.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from runner.execute import ExecResult, run_docker
from runner.images import DEMO_IMAGES, build_demo_images
from runner.sandbox import (
    SandboxEngine,
    engine_available,
    list_sandboxes,
    reap_sandboxes,
    start_node,
    start_sandbox,
    stop_node,
    stop_sandbox,
)
from runner.swarm import SwarmPicture, read_nodes, read_swarm
from tests.integration.helpers import (
    assert_nothing_left,
    host_links,
    live_pids_mentioning,
    shim_sockets_of,
    short_base_dir,
)

pytestmark = pytest.mark.engine

SEED = [
    "docker service create --detach --name vote -p 8080:80 instavote/vote",
    "docker service ls",
    "docker service ps vote",
    "docker service scale --detach vote=6",
    "docker service update --detach vote --image instavote/vote:movies",
    "docker service update --detach vote --image instavote/vote:indent "
    "--update-parallelism 2 --update-delay 10s",
]


# -- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base_dir() -> Iterator[Path]:
    with short_base_dir("cn-sbx-") as path:
        yield path


@pytest.fixture(scope="module")
def engine(base_dir: Path) -> None:
    """Skip (or, under CI, fail) when this machine cannot run sandboxes."""
    ok, why = engine_available(base_dir=base_dir)
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(why, pytrace=False)
        pytest.skip(why)


@pytest.fixture(scope="module")
def images(engine: None, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return build_demo_images(out_dir=tmp_path_factory.mktemp("images"))


@pytest.fixture(scope="module")
def sandbox(base_dir: Path, images: list[Path]) -> Iterator[SandboxEngine]:
    """One sandbox shared by the tests of this module that only add to it."""
    engine = start_sandbox(base_dir=base_dir, images=images)
    try:
        yield engine
    finally:
        stop_sandbox(engine, base_dir=base_dir)


@pytest.fixture
def make_sandbox(base_dir: Path, images: list[Path]) -> Iterator[Callable[..., SandboxEngine]]:
    """Start extra sandboxes for one test; whatever the test did not stop is stopped after."""
    started: list[SandboxEngine] = []

    def make(**kwargs: object) -> SandboxEngine:
        engine = start_sandbox(base_dir=base_dir, images=images, **kwargs)  # type: ignore[arg-type]
        started.append(engine)
        return engine

    yield make
    for engine in started:
        stop_sandbox(engine, base_dir=base_dir)


# -- helpers ------------------------------------------------------------------------------------


def docker(engine: SandboxEngine, line: str, *, ok: bool = True) -> ExecResult:
    result = run_docker(shlex.split(line), docker_host=engine.docker_host, timeout=60)
    if ok:
        assert result.exit_code == 0, f"{line}\n{result.stdout}\n{result.stderr}"
    assert "\x1b" not in result.stdout + result.stderr
    return result


def wait_for(
    engine: SandboxEngine,
    check: Callable[[SwarmPicture], bool],
    *,
    timeout: float,
    what: str,
) -> SwarmPicture:
    deadline = time.monotonic() + timeout
    while True:
        picture = read_swarm(engine.docker_host)
        if check(picture):
            return picture
        if time.monotonic() > deadline:
            tasks = [
                (t.slot, t.node_hostname, t.image, t.state, t.desired_state, t.message, t.error)
                for t in picture.tasks
            ]
            pytest.fail(f"not {what} after {timeout} s: {tasks}")
        time.sleep(0.25)


# -- tests --------------------------------------------------------------------------------------


def test_it_runs_the_seed_commands(sandbox: SandboxEngine) -> None:
    created = docker(sandbox, SEED[0])
    assert re.fullmatch(r"[a-z0-9]{25}\n", created.stdout)

    listed = docker(sandbox, SEED[1])
    assert re.search(
        r"vote\s+replicated\s+\d/1\s+instavote/vote:latest\s+\*:8080->80/tcp", listed.stdout
    )

    wait_for(sandbox, lambda p: len(p.running_tasks("vote")) == 1, timeout=30, what="1 running")
    tasks = docker(sandbox, SEED[2])
    assert re.search(
        r"vote\.1\s+instavote/vote:latest\s+manager1\s+Running\s+Running", tasks.stdout
    )

    scaled = docker(sandbox, SEED[3])
    assert "vote scaled to 6" in scaled.stdout
    wait_for(sandbox, lambda p: len(p.running_tasks("vote")) == 6, timeout=30, what="6 running")

    docker(sandbox, SEED[4])
    docker(sandbox, SEED[5])

    def converged(picture: SwarmPicture) -> bool:
        running = picture.running_tasks("vote")
        return len(running) == 6 and {t.image for t in running} == {"instavote/vote:indent"}

    picture = wait_for(sandbox, converged, timeout=120, what="6 running instavote/vote:indent")
    (service,) = picture.services
    assert service.image == "instavote/vote:indent"
    assert (service.update_parallelism, service.update_delay) == (2, 10.0)
    assert picture.update_progress("vote") == (6, 6)
    assert sorted(t.slot for t in picture.running_tasks("vote")) == [1, 2, 3, 4, 5, 6]


def test_it_loads_every_stand_in_image(sandbox: SandboxEngine) -> None:
    listed = docker(sandbox, "docker image ls --format {{.Repository}}:{{.Tag}}")
    assert set(listed.stdout.split()) >= set(DEMO_IMAGES)
    labels = docker(
        sandbox, "docker image inspect instavote/vote:movies --format '{{json .Config.Labels}}'"
    )
    assert "offline stand-in for instavote/vote:movies" in labels.stdout
    assert re.match(r"\d+\.\d+\.\d+", sandbox.version())


def test_it_keeps_two_sandboxes_apart(make_sandbox: Callable[..., SandboxEngine]) -> None:
    links_before = host_links()
    first, second = make_sandbox(), make_sandbox()
    assert first.nodes[0].ip != second.nodes[0].ip

    for engine in (first, second):
        docker(engine, SEED[0])  # the same name, as written in the notes, in both
    first_ids = docker(first, "docker service ls --quiet").stdout.split()
    second_ids = docker(second, "docker service ls --quiet").stdout.split()
    assert len(first_ids) == len(second_ids) == 1
    assert first_ids != second_ids

    cluster = "docker info --format {{.Swarm.Cluster.ID}}"
    assert docker(first, cluster).stdout != docker(second, cluster).stdout
    for engine in (first, second):
        routes = subprocess.run(
            ["ip", "-n", engine.nodes[0].netns, "route", "show", "default"],
            capture_output=True,
            text=True,
        )
        assert routes.stdout == "", "a sandbox must have no way out"
    assert host_links() <= links_before


def test_it_leaves_nothing_behind_when_stopped(
    base_dir: Path, make_sandbox: Callable[..., SandboxEngine]
) -> None:
    links_before = host_links()
    engine = make_sandbox()
    docker(engine, "docker service create --detach --name vote --replicas 3 instavote/vote")
    wait_for(engine, lambda p: len(p.running_tasks()) == 3, timeout=30, what="3 running")
    sockets = shim_sockets_of(engine)
    assert len(sockets) == 3 and all(s.exists() for s in sockets)
    assert len(live_pids_mentioning(f"{engine.cgroup}/containers/")) >= 3  # the tasks

    started = time.monotonic()
    stop_sandbox(engine, base_dir=base_dir)
    assert time.monotonic() - started < 10

    assert_nothing_left(engine, links_before=links_before)
    assert not [s for s in sockets if s.exists()], "shim sockets were left in /run/containerd/s"


def test_it_stops_gracefully_when_given_time(
    base_dir: Path, make_sandbox: Callable[..., SandboxEngine]
) -> None:
    links_before = host_links()
    engine = make_sandbox()
    docker(engine, "docker service create --detach --name vote --replicas 2 instavote/vote")
    wait_for(engine, lambda p: len(p.running_tasks()) == 2, timeout=30, what="2 running")

    stop_sandbox(engine, base_dir=base_dir, grace=5)

    assert_nothing_left(engine, links_before=links_before)


def test_it_reaps_a_crashed_sandbox(
    base_dir: Path,
    sandbox: SandboxEngine,
    make_sandbox: Callable[..., SandboxEngine],
    tmp_path: Path,
) -> None:
    links_before = host_links()
    crashed = make_sandbox()
    docker(crashed, "docker service create --detach --name vote --replicas 2 instavote/vote")
    wait_for(crashed, lambda p: len(p.running_tasks()) == 2, timeout=30, what="2 running")
    # A crash: dockerd dies without cleaning up (its containerd, shims and tasks live on) and
    # the state file is half-written.
    pid = crashed.nodes[0].pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    (crashed.root / "state.json").write_text('{"name": "')
    assert live_pids_mentioning(str(crashed.root) + "/")

    # Another base directory's reaper must not touch it.
    assert reap_sandboxes(base_dir=tmp_path / "elsewhere") == []
    assert crashed.name in list_sandboxes(base_dir=base_dir)

    assert reap_sandboxes(base_dir=base_dir, keep={sandbox.name}) == [crashed.name]

    assert_nothing_left(crashed, links_before=links_before)
    assert docker(sandbox, "docker service ls").exit_code == 0  # the kept one is untouched


def test_it_forms_a_multi_node_swarm(make_sandbox: Callable[..., SandboxEngine]) -> None:
    engine = make_sandbox(nodes=3)

    listed = docker(engine, "docker node ls")
    assert len(re.findall(r"\bReady\s+Active\b", listed.stdout)) == 3
    nodes = read_nodes(engine.docker_host)
    assert [n.hostname for n in nodes] == ["manager1", "worker1", "worker2"]
    assert all(n.ready for n in nodes)
    assert [n.leader for n in nodes] == [True, False, False]

    # Tasks spread over the nodes and reach each other over an overlay network (VXLAN between
    # the nodes' namespaces); the service VIP needs IPVS, so address tasks directly.
    docker(engine, "docker network create --driver overlay --attachable backend")
    docker(
        engine,
        "docker service create --detach --name web --network backend --replicas 3 "
        "instavote/vote:movies",
    )
    # A task may sit in "preparing" while a worker sets up its end of the overlay network:
    # usually a second or two, once over 30 s during a full `make test` on 2 cores.
    picture = wait_for(engine, lambda p: len(p.running_tasks()) == 3, timeout=90, what="3 up")
    assert {t.node_hostname for t in picture.running_tasks()} == {
        "manager1",
        "worker1",
        "worker2",
    }
    container = docker(engine, "docker ps --quiet --filter name=web").stdout.split()[0]
    # Each node gossips its tasks' names to the others: the other nodes' tasks may take a
    # moment to appear in this one's DNS after they run.
    deadline = time.monotonic() + 20
    while True:
        lookup = docker(engine, f"docker exec {container} /bin/busybox nslookup tasks.web")
        found = re.findall(r"Address:\s+(10\.\d+\.\d+\.\d+)$", lookup.stdout, re.MULTILINE)
        addresses = sorted(set(found))
        if len(addresses) == 3 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert len(addresses) == 3, lookup.stdout
    for address in addresses:
        page = run_docker(
            [
                *("docker", "exec", container, "/bin/busybox", "sh", "-c"),
                f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | /bin/busybox nc -w 3 {address} 80",
            ],
            docker_host=engine.docker_host,
            timeout=20,
        )
        assert "<h1>instavote/vote:movies</h1>" in page.stdout, (address, page)

    # A worker's engine can be killed and brought back (for the self-healing demos).
    worker = engine.nodes[2]
    old_pid = worker.pid
    stop_node(engine, 2)
    assert old_pid is not None and not live_pids_mentioning(f"--pidfile={worker.pidfile}")
    start_node(engine, 2)
    assert worker.pid != old_pid
    deadline = time.monotonic() + 30
    while not all(n.ready for n in read_nodes(engine.docker_host)):
        assert time.monotonic() < deadline, "worker2 did not come back"
        time.sleep(0.25)


def test_it_runs_tasks_as_unprivileged_host_users_with_userns_remap(
    make_sandbox: Callable[..., SandboxEngine],
) -> None:
    engine = make_sandbox(userns_remap=True)

    info = docker(engine, "docker info --format '{{json .SecurityOptions}}'")
    assert "name=userns" in info.stdout
    docker(engine, "docker service create --detach --name vote instavote/vote")
    wait_for(engine, lambda p: len(p.running_tasks()) == 1, timeout=30, what="1 running")
    uids = set()
    for pid in live_pids_mentioning(f"{engine.cgroup}/containers/n0/"):
        status = Path(f"/proc/{pid}/status").read_text()
        uids.add(int(re.search(r"^Uid:\s+(\d+)", status, re.MULTILINE).group(1)))  # type: ignore[union-attr]
    assert uids and min(uids) >= 100000, uids


def test_it_explains_what_is_missing(base_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import runner.sandbox

    monkeypatch.setattr(runner.sandbox.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(
        runner.sandbox, "_which", lambda tool: None if tool in ("dockerd", "nsenter") else tool
    )

    ok, why = engine_available(base_dir=base_dir)

    assert not ok
    assert "not running as root" in why
    assert "missing programs: dockerd, nsenter" in why
    assert "apt-get install docker.io" in why


def test_the_reaper_removes_trial_namespaces_of_dead_processes(base_dir: Path) -> None:
    # engine_available makes and deletes a namespace to try; a process killed in between
    # left it behind for good.
    gone = subprocess.Popen(["true"])
    gone.wait()
    dead, mine = f"cnprobe-{gone.pid}", f"cnprobe-{os.getpid()}"
    for ns in (dead, mine):
        subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        reap_sandboxes(base_dir=base_dir)
        names = os.listdir("/run/netns")
        assert dead not in names
        assert mine in names  # a live process may be trying right now
    finally:
        for ns in (dead, mine):
            subprocess.run(["ip", "netns", "delete", ns], check=False, capture_output=True)
