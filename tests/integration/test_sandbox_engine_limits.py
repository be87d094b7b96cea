"""A sandbox's engines are inside its CPU limit, and a sandbox of several nodes has one budget.

A task that floods its output made its engine work for it (the shim copies every line, dockerd
logs it) outside any limit: a sandbox used more CPU than its limit, and a host's worth with 8
such tasks. And each node had a budget of its own, so 3 nodes had 3. On real engines (root,
dockerd...; see runner.sandbox.engine_available), read from /proc and from the cgroup files
themselves, whatever the layout runner.sandbox chose: the limits a process is under are those of
its cgroup and of the cgroup's ancestors, in each hierarchy.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.execute import run_docker
from runner.images import build_demo_images
from runner.policy import PolicyLimits
from runner.sandbox import SandboxEngine, SandboxLimits, start_sandbox, stop_sandbox
from runner.swarm import read_swarm

pytestmark = pytest.mark.engine

CGROUP = Path("/sys/fs/cgroup")
# 0.3 CPU: more than a task's own 0.25 (cgroup v1 refuses a task quota above the sandbox's),
# less than a flooding task's engine took alone (0.5 to 0.8 CPU, measured).
LIMITS = SandboxLimits(memory_mb=256, pids=200, cpu_percent=30)
PER_TASK = PolicyLimits()
TASK_LIMITS = (
    *("--limit-cpu", PER_TASK.cpu_limit),
    *("--limit-memory", PER_TASK.memory_limit),
    *("--limit-pids", str(PER_TASK.pids_limit)),
)
FLOOD = f"while :; do echo {'A' * 110}; done"  # as the security tester's service printed
TICKS = os.sysconf("SC_CLK_TCK")


# -- reading the limits a process is under ------------------------------------------------------


def v2() -> bool:
    return (CGROUP / "cgroup.controllers").exists()


def cgroup_of(pid: int, controller: str) -> str:
    """The pid's cgroup in the hierarchy holding controller (v2: the unified one)."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        hierarchy, controllers, path = line.split(":", 2)
        if (hierarchy == "0") if v2() else (controller in controllers.split(",")):
            return path
    raise AssertionError(f"process {pid} is in no {controller} hierarchy")


def directory(cgroup: str, controller: str) -> Path:
    return (CGROUP if v2() else CGROUP / controller) / cgroup.strip("/")


def limit_in(cgroup: str, controller: str) -> int | None:
    """The limit a cgroup itself sets on controller, or None (CPU: the quota per 100 ms)."""
    files = {
        "cpu": "cpu.max" if v2() else "cpu.cfs_quota_us",
        "memory": "memory.max" if v2() else "memory.limit_in_bytes",
        "pids": "pids.max",
    }
    try:
        text = (directory(cgroup, controller) / files[controller]).read_text().split()[0]
    except (OSError, IndexError):
        return None
    if text in ("max", "-1") or int(text) >= 2**62:  # v1 memory's "unlimited" is near 2**63
        return None
    if controller == "cpu":
        period = (directory(cgroup, controller) / "cpu.cfs_period_us") if not v2() else None
        per = (
            int(period.read_text())
            if period
            else int((directory(cgroup, controller) / "cpu.max").read_text().split()[1])
        )
        return int(text) * 100_000 // per
    return int(text)


def limits_over(pid: int, controller: str) -> dict[str, int]:
    """Every limit on controller that pid is under: its cgroup's and its ancestors'."""
    parts = cgroup_of(pid, controller).strip("/").split("/")
    found = {}
    while parts and parts[0]:
        cgroup = "/" + "/".join(parts)
        if (value := limit_in(cgroup, controller)) is not None:
            found[cgroup] = value
        parts.pop()
    return found


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def engine_processes(engine: SandboxEngine) -> dict[int, str]:
    """The sandbox's dockerd, containerd and shim processes, by pid."""
    found = {pid: comm(pid) for pid in engine.processes()}
    return {
        pid: name
        for pid, name in found.items()
        if name in ("dockerd", "containerd") or name.startswith("containerd-shim")
    }


def task_pids(engine: SandboxEngine) -> dict[int, int]:
    """The main process of every running container of the sandbox, with its node's index."""
    pids = {}
    for node in engine.nodes:
        ids = docker(node.docker_host, "ps", "--quiet").split()
        for container in ids:
            pid = docker(node.docker_host, "inspect", "--format", "{{.State.Pid}}", container)
            pids[int(pid)] = node.index
    return pids


def docker(docker_host: str, *argv: str) -> str:
    result = run_docker(["docker", *argv], docker_host=docker_host, timeout=60)
    assert result.exit_code == 0, f"{argv}\n{result.stdout}\n{result.stderr}"
    return result.stdout.strip()


def wait_running(engine: SandboxEngine, count: int, *, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(read_swarm(engine.docker_host).running_tasks()) < count:
        assert time.monotonic() < deadline, f"fewer than {count} tasks running"
        time.sleep(0.25)


def cpu_seconds(pids: list[int]) -> float:
    """CPU time the processes used so far (user + system), as /proc counts it."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


def usage_seconds(cgroup: str) -> float:
    """CPU time a cgroup's processes used so far, as the kernel counts it for the cgroup."""
    if v2():
        stat = (directory(cgroup, "cpu") / "cpu.stat").read_text().split()
        return int(stat[stat.index("usage_usec") + 1]) / 1e6
    return int((directory(cgroup, "cpuacct") / "cpuacct.usage").read_text()) / 1e9


@pytest.fixture
def start(sandboxes: Path, images_dir: Path) -> Iterator:
    """Starts sandboxes with LIMITS and stops them after the test."""
    started: list[SandboxEngine] = []
    images = build_demo_images(out_dir=images_dir)

    def start(nodes: int) -> SandboxEngine:
        engine = start_sandbox(base_dir=sandboxes, nodes=nodes, images=images, limits=LIMITS)
        started.append(engine)
        return engine

    yield start
    for engine in started:
        stop_sandbox(engine, base_dir=sandboxes)


# -- the engines --------------------------------------------------------------------------------


def test_every_engine_process_of_every_node_is_under_the_sandbox_s_cpu_limit(start) -> None:
    engine = start(nodes=2)
    docker(
        engine.docker_host,
        *("service", "create", "--detach", "--name", "web", "--replicas", "2"),
        *TASK_LIMITS,
        "instavote/vote",
    )
    wait_running(engine, 2)

    engines = engine_processes(engine)
    names = sorted(engines.values())
    assert names.count("dockerd") == names.count("containerd") == 2, names
    assert len([n for n in names if n.startswith("containerd-shim")]) >= 2, names
    quotas = set()
    for pid, name in engines.items():
        cpu = limits_over(pid, "cpu")
        # Under the sandbox's quota, and under memory and process limits of its own.
        assert min(cpu.values(), default=None) == LIMITS.cpu_quota_us, (name, cpu)
        quotas |= {cgroup for cgroup, quota in cpu.items() if quota == LIMITS.cpu_quota_us}
        memory, pids = limits_over(pid, "memory"), limits_over(pid, "pids")
        assert min(memory.values(), default=None) == LIMITS.engine_memory_bytes, (name, memory)
        assert min(pids.values(), default=None) == LIMITS.engine_pids, (name, pids)
        print(f"{name} ({pid}) in {cgroup_of(pid, 'cpu')}: cpu {cpu}, memory {memory}")
    # One quota, which the tasks are under too.
    assert len(quotas) == 1, quotas
    for pid in task_pids(engine):
        assert quotas <= set(limits_over(pid, "cpu")), limits_over(pid, "cpu")


def test_a_flood_of_output_keeps_the_sandbox_engines_included_within_its_cpu_limit(
    start,
) -> None:
    engine = start(nodes=1)
    dockerd = engine.nodes[0].pid
    assert dockerd is not None
    docker(
        engine.docker_host,
        *("service", "create", "--detach", "--name", "flood", "--replicas", "2"),
        *TASK_LIMITS,
        *("instavote/vote", "sh", "-c", FLOOD),
    )
    wait_running(engine, 2)
    time.sleep(1)  # past the tasks' start-up
    pids = engine.processes()
    engines = list(engine_processes(engine))
    quota = [c for c, q in limits_over(dockerd, "cpu").items() if q == LIMITS.cpu_quota_us]
    cgroup = quota[0] if quota else "/"  # (without one, the root's usage: not asserted)

    started = time.monotonic()
    used, by_engines, by_cgroup = cpu_seconds(pids), cpu_seconds(engines), usage_seconds(cgroup)
    time.sleep(3)
    elapsed = time.monotonic() - started
    used = (cpu_seconds(pids) - used) / elapsed
    by_engines = (cpu_seconds(engines) - by_engines) / elapsed
    by_cgroup = (usage_seconds(cgroup) - by_cgroup) / elapsed

    limit = LIMITS.cpu_percent / 100
    print(
        f"flood of 2 tasks: the sandbox's processes used {used:.2f} CPU (engines {by_engines:.2f})"
        f", its cgroup {by_cgroup:.2f} (limit {limit:.2f})"
    )
    # /proc's ticks are 10 ms each, counted per process: a little slack.
    assert used <= limit * 1.15 + 0.02
    assert quota, "the engine is under no CPU quota"
    assert by_cgroup <= limit * 1.1
    # The flood ran, and its engine worked for it. (On a busy machine the sandbox may get less
    # than its limit: no tighter lower bound.)
    assert used >= 0.05 and by_engines > 0.01


# -- one budget ---------------------------------------------------------------------------------


def test_a_sandbox_of_three_nodes_has_one_budget_not_one_per_node(start) -> None:
    engine = start(nodes=3)
    # Tasks without limits of their own: only the sandbox's hold them.
    docker(
        engine.docker_host,
        *("service", "create", "--detach", "--name", "web", "--replicas", "3"),
        "instavote/vote",
    )
    wait_running(engine, 3)
    tasks = task_pids(engine)
    assert len(set(tasks.values())) == 3, f"the tasks did not spread over the nodes: {tasks}"

    budget = {"cpu": LIMITS.cpu_quota_us, "memory": LIMITS.memory_bytes, "pids": LIMITS.pids}
    for controller, value in budget.items():
        limits = {}
        for pid in tasks:
            limits.update(limits_over(pid, controller))
        print(f"{controller}: the tasks of 3 nodes are under {limits}")
        # However many nodes, the tasks together are under one limit, the budget: not 3.
        assert limits == {next(iter(limits)): value}, limits
    # And the engines of all three nodes are under the same CPU quota as the tasks.
    for node in engine.nodes:
        assert node.pid is not None
        assert limits_over(node.pid, "cpu") == limits_over(next(iter(tasks)), "cpu")
