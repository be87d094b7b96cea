"""A sandbox's aggregate limits: its tasks share its memory and pids limits, and its tasks and
engines its CPU limit, whatever the quotas on services and replicas allow one by one.

The tests start real sandboxes (root, dockerd...; see runner.sandbox.engine_available) with
small limits and push each one with a service of the stand-in image. The engines' own place in
the limits, and one budget for several nodes: test_sandbox_engine_limits.py; the cgroup tree on
cgroup v2 and v1 and without some controllers, on fake trees: tests/runner/test_sandbox_cgroups.py.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import runner.sandbox as sandbox_module
from runner.execute import run_docker
from runner.images import build_demo_images
from runner.policy import PolicyLimits
from runner.sandbox import (
    SandboxEngine,
    SandboxError,
    SandboxLimits,
    list_sandboxes,
    start_sandbox,
    stop_sandbox,
)
from runner.swarm import read_swarm

CGROUP = Path("/sys/fs/cgroup")
# cgroup v1 refuses a task CPU quota above its parent's: at least the policy's 0.25 CPU.
LIMITS = SandboxLimits(memory_mb=128, pids=100, cpu_percent=30)
# What the command policy adds to every service a visitor creates.
PER_TASK = PolicyLimits()
# 30 sleeping children: 31 processes per task.
SLEEPERS = "i=0; while [ $i -lt 30 ]; do /bin/busybox sleep 3600 & i=$((i + 1)); done; wait"
TASK_LIMITS = (
    *("--limit-cpu", PER_TASK.cpu_limit),
    *("--limit-memory", PER_TASK.memory_limit),
    *("--limit-pids", str(PER_TASK.pids_limit)),
)


# -- helpers ------------------------------------------------------------------------------------


def v2() -> bool:
    return (CGROUP / "cgroup.controllers").exists()


def sandbox_dir(engine: SandboxEngine, controller: str, below: str = "") -> Path:
    """The sandbox's cgroup (or one below it) in the hierarchy holding controller."""
    name = engine.cgroup.strip("/") + (f"/{below}" if below else "")
    return CGROUP / name if v2() else CGROUP / controller / name


def parent_dir(engine: SandboxEngine, controller: str) -> Path:
    """Where the sandbox's limit on controller is: on its tasks (memory and pids), or on its
    tasks and engines together (CPU)."""
    return sandbox_dir(engine, controller, "" if controller == "cpu" else "containers")


def read(path: Path) -> str:
    return path.read_text().strip()


def keyed(path: Path) -> dict[str, int]:
    """A flat-keyed cgroup file ("max 3", "oom_kill 1") as a dict."""
    return {k: int(v) for k, v in (line.split() for line in path.read_text().splitlines())}


def cpu_usage_seconds(engine: SandboxEngine) -> float:
    if v2():
        return keyed(sandbox_dir(engine, "cpu") / "cpu.stat")["usage_usec"] / 1e6
    return int(read(sandbox_dir(engine, "cpuacct") / "cpuacct.usage")) / 1e9


def pids_in_parent(engine: SandboxEngine) -> int:
    """Host processes in the sandbox's tasks' pids cgroups (as `ps` counts them)."""
    below = engine.cgroup + "/containers/"
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                lines = (entry / "cgroup").read_text().splitlines()
            except OSError:
                continue
            for line in lines:
                hierarchy, controllers, path = line.split(":", 2)
                # v2: the one unified line ("0::/..."); v1: the pids hierarchy's line.
                ours = hierarchy == "0" if v2() else "pids" in controllers.split(",")
                if ours and path.startswith(below):
                    count += 1
                    break
    return count


def docker(engine: SandboxEngine, *argv: str) -> str:
    result = run_docker(["docker", *argv], docker_host=engine.docker_host, timeout=60)
    assert result.exit_code == 0, f"{argv}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def create(engine: SandboxEngine, name: str, replicas: int, *args: str) -> None:
    docker(
        engine,
        *("service", "create", "--detach", "--name", name, "--replicas", str(replicas)),
        *args,
    )


def wait_running(engine: SandboxEngine, count: int, *, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(read_swarm(engine.docker_host).running_tasks()) < count:
        assert time.monotonic() < deadline, f"fewer than {count} tasks running"
        time.sleep(0.25)


def sample(seconds: float, probe: Callable[[], None], every: float = 0.1) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        probe()
        time.sleep(every)


def cgroup_dirs_of(engine: SandboxEngine) -> list[Path]:
    return [*CGROUP.glob(f"*-{engine.name}-*"), *CGROUP.glob(f"*/*-{engine.name}-*")]


@pytest.fixture
def limited(sandboxes: Path, images_dir: Path) -> Iterator[SandboxEngine]:
    """A one-node sandbox with small aggregate limits, stopped after the test."""
    engine = start_sandbox(
        base_dir=sandboxes, images=build_demo_images(out_dir=images_dir), limits=LIMITS
    )
    try:
        yield engine
    finally:
        stop_sandbox(engine, base_dir=sandboxes)
        assert not cgroup_dirs_of(engine), "a cgroup directory of the sandbox was left behind"


# -- on the engine ------------------------------------------------------------------------------


@pytest.mark.engine
def test_the_limits_are_set_before_the_tasks_run_and_removed_with_the_sandbox(
    sandboxes: Path, images_dir: Path
) -> None:
    engine = start_sandbox(
        base_dir=sandboxes, images=build_demo_images(out_dir=images_dir), limits=LIMITS
    )
    try:
        engine_memory, engine_pids = str(LIMITS.engine_memory_bytes), str(LIMITS.engine_pids)
        if v2():
            assert read(parent_dir(engine, "memory") / "memory.max") == str(128 * 2**20)
            assert read(parent_dir(engine, "pids") / "pids.max") == "100"
            assert read(parent_dir(engine, "cpu") / "cpu.max") == "30000 100000"
            assert read(sandbox_dir(engine, "memory", "engine/n0") / "memory.max") == engine_memory
            assert read(sandbox_dir(engine, "cpu", "engine") / "cpu.weight") == "400"
        else:
            memory = parent_dir(engine, "memory")
            assert read(memory / "memory.limit_in_bytes") == str(128 * 2**20)
            if (memory / "memory.memsw.limit_in_bytes").exists():
                assert read(memory / "memory.memsw.limit_in_bytes") == str(128 * 2**20)
            assert read(parent_dir(engine, "pids") / "pids.max") == "100"
            cpu = parent_dir(engine, "cpu")
            assert (read(cpu / "cpu.cfs_quota_us"), read(cpu / "cpu.cfs_period_us")) == (
                "30000",
                "100000",
            )
            engine_cgroup = sandbox_dir(engine, "memory", "engine/n0")
            assert read(engine_cgroup / "memory.limit_in_bytes") == engine_memory
            assert read(sandbox_dir(engine, "cpu", "engine") / "cpu.shares") == "4096"
        assert read(sandbox_dir(engine, "pids", "engine/n0") / "pids.max") == engine_pids
        # dockerd makes each task's cgroup below its node's parent, in every hierarchy.
        create(engine, "web", 2, *TASK_LIMITS, "instavote/vote")
        wait_running(engine, 2)
        for controller in ("memory", "pids", "cpu"):
            node = sandbox_dir(engine, controller, "containers/n0")
            tasks = [p for p in node.iterdir() if p.is_dir()]
            assert len(tasks) == 2, (controller, tasks)
        assert pids_in_parent(engine) >= 4  # each task's sh and httpd
        assert sandbox_module.load_sandbox(engine.name, base_dir=sandboxes).limits == LIMITS
    finally:
        stop_sandbox(engine, base_dir=sandboxes)
    assert not cgroup_dirs_of(engine)
    assert engine.name not in list_sandboxes(base_dir=sandboxes)


@pytest.mark.engine
def test_a_limit_that_cannot_be_set_fails_the_start_and_leaves_nothing(
    sandboxes: Path, images_dir: Path
) -> None:
    # The kernel refuses a pids.max above PID_MAX_LIMIT (4,194,304).
    with pytest.raises(
        SandboxError, match=r"^cannot limit sandbox toomany: writing '10000000' to .*/pids\.max"
    ):
        start_sandbox(
            base_dir=sandboxes,
            name="toomany",
            images=build_demo_images(out_dir=images_dir),
            limits=SandboxLimits(pids=10_000_000),
        )
    assert list_sandboxes(base_dir=sandboxes) == []
    assert not [*CGROUP.glob("*-toomany-*"), *CGROUP.glob("*/*-toomany-*")]


@pytest.mark.engine
def test_a_sandbox_s_tasks_together_stay_within_its_pids_limit(limited: SandboxEngine) -> None:
    # 10 replicas of 31 processes each: 310 host processes without the aggregate limit.
    create(
        limited,
        "pids",
        10,
        *TASK_LIMITS,
        "instavote/vote",
        *("sh", "-c", SLEEPERS),
    )
    pids = parent_dir(limited, "pids")
    seen = {"processes": 0, "current": 0}

    def probe() -> None:
        seen["processes"] = max(seen["processes"], pids_in_parent(limited))
        seen["current"] = max(seen["current"], int(read(pids / "pids.current")))

    def reached() -> bool:
        # (On v1 the refused forks are counted in the tasks' own cgroups, which die with them.)
        peak = int(read(pids / "pids.peak")) if (pids / "pids.peak").exists() else 0
        return max(seen["current"], peak) >= LIMITS.pids

    deadline = time.monotonic() + 30
    while not reached():  # forks are refused at the limit: the test means something
        assert time.monotonic() < deadline, f"the pids limit was never reached: {seen}"
        probe()
        time.sleep(0.1)
    sample(3, probe)
    print(f"pids: at most {seen} (limit {LIMITS.pids}; 310 without it)")
    assert 50 <= seen["processes"] <= LIMITS.pids
    assert seen["current"] <= LIMITS.pids


@pytest.mark.engine
def test_a_sandbox_s_busy_tasks_get_at_most_its_cpu_limit(limited: SandboxEngine) -> None:
    # 4 tasks of 0.25 CPU each would take a whole CPU; the sandbox may have 0.3 of one.
    create(limited, "spin", 4, *TASK_LIMITS, "instavote/vote", "sh", "-c", "while :; do :; done")
    wait_running(limited, 4)
    time.sleep(1)  # past the tasks' start-up
    throttled = keyed(parent_dir(limited, "cpu") / "cpu.stat")["nr_throttled"]
    used, started = cpu_usage_seconds(limited), time.monotonic()
    time.sleep(3)
    used, elapsed = cpu_usage_seconds(limited) - used, time.monotonic() - started
    share = used / elapsed
    throttled = keyed(parent_dir(limited, "cpu") / "cpu.stat")["nr_throttled"] - throttled
    print(f"cpu: {used:.2f} CPU-s in {elapsed:.2f} s = {share:.2f} CPU (limit 0.30), ", end="")
    print(f"the sandbox throttled in {throttled} periods")
    assert share <= LIMITS.cpu_percent / 100 * 1.1
    # They did run. (On a busy machine they may get less than the limit, and not be throttled:
    # no tighter lower bound.)
    assert share >= 0.05


@pytest.mark.engine
def test_a_sandbox_s_tasks_are_oom_killed_at_its_memory_limit(limited: SandboxEngine) -> None:
    memory = parent_dir(limited, "memory")
    # The aggregate limit must hold before tasks with no memory limit of their own may run.
    limit_file = memory / ("memory.max" if v2() else "memory.limit_in_bytes")
    assert int(read(limit_file)) == LIMITS.memory_bytes
    # busybox tail keeps all of a file with no newline in memory: it grows until killed. The
    # tasks have no memory limit of their own: only the sandbox's one can kill them.
    cpu_and_pids = (*TASK_LIMITS[:2], *TASK_LIMITS[4:])
    create(limited, "hog", 3, *cpu_and_pids, "instavote/vote", "/bin/busybox", "tail", "/dev/zero")
    usage = "memory.current" if v2() else "memory.usage_in_bytes"
    peak = memory / ("memory.peak" if v2() else "memory.max_usage_in_bytes")
    seen = {"node": 0, "tasks": 0}

    def probe() -> None:
        seen["node"] = max(seen["node"], int(read(memory / usage)))
        tasks = 0
        for task in memory.iterdir():
            with contextlib.suppress(OSError):  # a killed task's cgroup goes away
                tasks += int(read(task / usage)) if task.is_dir() else 0
        seen["tasks"] = max(seen["tasks"], tasks)

    def killed() -> str:
        states = docker(limited, "service", "ps", "hog", "--no-trunc", "--format", "{{.Error}}")
        return states if "exit (137)" in states else ""  # SIGKILL: the OOM killer's

    deadline = time.monotonic() + 30
    while not (states := killed()):
        assert time.monotonic() < deadline, f"no task was OOM-killed: {seen}"
        sample(0.5, probe, every=0.05)
    if peak.exists():  # the kernel's own high-water mark (cgroup v2 since Linux 5.19)
        seen["node"] = max(seen["node"], int(read(peak)))
    print(f"memory: at most {seen} bytes (limit {LIMITS.memory_bytes}), tasks: {states!r}")
    assert LIMITS.memory_bytes * 0.75 <= seen["node"] <= LIMITS.memory_bytes
    assert seen["tasks"] <= LIMITS.memory_bytes
