"""A sandbox's cgroup tree (runner.sandbox._limit_sandbox) on fake cgroup trees (folders), as
root or not: one budget whatever the number of nodes, the engines inside its CPU limit and
beside its memory and process limits, on cgroup v2 and v1; an engine started inside its
cgroups; the reaper finding the tree, and the per-node cgroups of sandboxes started before it.

The same on real engines: tests/integration/test_sandbox_limits.py and
tests/integration/test_sandbox_engine_limits.py.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest

import runner.sandbox as sandbox_module
from runner.sandbox import SandboxEngine, SandboxLimits, list_sandboxes

LIMITS = SandboxLimits(
    memory_mb=128, pids=100, cpu_percent=30, engine_memory_mb=200, engine_pids=300
)
LIMIT_FILES = {"memory.max", "memory.swap.max", "pids.max", "cpu.max", "cpu.weight"}
LIMIT_FILES_V1 = {
    "memory.limit_in_bytes",
    "memory.memsw.limit_in_bytes",
    "pids.max",
    "cpu.cfs_quota_us",
    "cpu.cfs_period_us",
    "cpu.shares",
}


def read(path: Path) -> str:
    return path.read_text().strip()


def limits_in(tree: Path, names: set[str]) -> dict[str, str]:
    """Every limit file written in a fake tree, by its path under tree."""
    return {
        str(path.relative_to(tree)): read(path)
        for path in sorted(tree.rglob("*"))
        if path.is_file() and path.name in names
    }


@pytest.fixture
def cgroup_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in CGROUP_ROOT (a folder), with no warning given yet in this process."""
    root = tmp_path / "cgroup"
    root.mkdir()
    monkeypatch.setattr(sandbox_module, "CGROUP_ROOT", root)
    monkeypatch.setattr(sandbox_module, "_warned_unbounded", set())
    return root


@pytest.fixture
def v2_root(cgroup_root: Path) -> Path:
    (cgroup_root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (cgroup_root / "cgroup.subtree_control").write_text("")
    return cgroup_root


def allocated(tmp_path: Path, nodes: int, limits: SandboxLimits = LIMITS) -> SandboxEngine:
    """A sandbox as start_sandbox has it before its cgroups are made (a folder, a state file)."""
    base_dir = tmp_path / "base"
    base_dir.mkdir(exist_ok=True)
    engine = sandbox_module._allocate(base_dir=base_dir.resolve(), name="sbx-1", nodes=nodes)
    engine.limits = limits
    return engine


def spy_writes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Path, str]]:
    writes: list[tuple[Path, str]] = []
    real = sandbox_module._write_limit

    def write(engine: SandboxEngine, path: Path, value: str, *, check: bool = True) -> None:
        writes.append((path, value))
        real(engine, path, value, check=check)

    monkeypatch.setattr(sandbox_module, "_write_limit", write)
    return writes


# -- cgroup v2 ----------------------------------------------------------------------------------


def test_on_cgroup_v2_three_nodes_have_one_budget_and_the_engines_are_inside_its_cpu_limit(
    v2_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    engine = allocated(tmp_path, nodes=3)
    top = v2_root / engine.cgroup.strip("/")
    assert engine.cgroup == f"/{sandbox_module._scope(engine.base_dir)}-sbx-1-sandbox"
    for where in ("containers", "engine/n0", "engine/n1", "engine/n2"):
        (top / where).mkdir(parents=True)
        (top / where / "memory.swap.max").write_text("max\n")  # the kernel accounts swap
    writes = spy_writes(monkeypatch)

    sandbox_module._limit_sandbox(engine)

    # The whole budget once, on the sandbox (CPU) or on all its tasks (memory, processes), and
    # each engine's own memory and processes: nothing is per node but the engines'.
    assert limits_in(v2_root, LIMIT_FILES) == {
        f"{top.name}/containers/memory.max": str(128 * 2**20),
        f"{top.name}/containers/memory.swap.max": "0",
        f"{top.name}/containers/pids.max": "100",
        f"{top.name}/cpu.max": "30000 100000",
        f"{top.name}/cpu.weight": "12",  # pages first when CPU runs short
        f"{top.name}/engine/cpu.weight": "400",
        **{f"{top.name}/engine/n{i}/memory.max": str(200 * 2**20) for i in range(3)},
        **{f"{top.name}/engine/n{i}/memory.swap.max": "0" for i in range(3)},
        **{f"{top.name}/engine/n{i}/pids.max": "300" for i in range(3)},
    }
    # Each parent enables the controllers for its children before their limits are written.
    enabled = [(p.parent, v) for p, v in writes if p.name == "cgroup.subtree_control"]
    for parent in (v2_root, top, top / "containers", top / "engine"):
        assert [v for p, v in enabled if p == parent] == ["+memory", "+pids", "+cpu"], parent
    assert writes.index((top / "cgroup.subtree_control", "+memory")) < writes.index(
        (top / "containers" / "memory.max", str(128 * 2**20))
    )
    for node in engine.nodes:
        # dockerd makes each task's cgroup below its node's parent, inside the tasks' budget;
        # the engine itself starts in its own cgroup, inside the CPU limit.
        assert f"--cgroup-parent={engine.cgroup}/containers/n{node.index}" in (
            sandbox_module._dockerd_argv(engine, node)
        )
        assert (top / "containers" / f"n{node.index}").is_dir()
        assert sandbox_module._engine_cgroup_procs(engine, node) == [
            top / "engine" / f"n{node.index}" / "cgroup.procs"
        ]
    assert not caplog.records


def test_the_cpu_quota_can_wait_until_the_engines_are_ready(v2_root: Path, tmp_path: Path) -> None:
    engine = allocated(tmp_path, nodes=2)
    top = v2_root / engine.cgroup.strip("/")

    sandbox_module._limit_sandbox(engine, cpu_quota=False)
    assert not (top / "cpu.max").exists()
    assert read(top / "containers" / "memory.max") == str(128 * 2**20)

    sandbox_module._limit_sandbox(engine)  # again, as start_sandbox does once they answer
    assert read(top / "cpu.max") == "30000 100000"
    assert read(top / "containers" / "memory.max") == str(128 * 2**20)


def test_a_controller_the_machine_lacks_is_skipped_with_one_warning(
    cgroup_root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (cgroup_root / "cgroup.controllers").write_text("cpu memory\n")
    (cgroup_root / "cgroup.subtree_control").write_text("cpu memory\n")
    engine = allocated(tmp_path, nodes=2)
    top = cgroup_root / engine.cgroup.strip("/")

    with caplog.at_level(logging.WARNING, logger="runner.sandbox"):
        sandbox_module._limit_sandbox(engine)
        sandbox_module._limit_sandbox(engine)

    assert [r.getMessage() for r in caplog.records] == [
        f"this machine has no pids cgroup controller under {cgroup_root}: sandboxes run "
        "without an aggregate process limit (each task keeps its own)"
    ]
    assert not list(top.rglob("pids.max"))
    assert read(top / "containers" / "memory.max") == str(128 * 2**20)
    assert sandbox_module.missing_limit_controllers() == ["pids"]


# -- cgroup v1 ----------------------------------------------------------------------------------


def test_on_cgroup_v1_the_same_tree_is_made_in_each_hierarchy(
    cgroup_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # cpu and cpuacct mounted together, as most distributions do.
    hierarchies = {
        "memory": cgroup_root / "memory",
        "pids": cgroup_root / "pids",
        "cpu": cgroup_root / "cpu,cpuacct",
        "cpuacct": cgroup_root / "cpu,cpuacct",
    }
    for path in hierarchies.values():
        path.mkdir(exist_ok=True)
    monkeypatch.setattr(sandbox_module, "_v1_hierarchy", hierarchies.get)
    engine = allocated(tmp_path, nodes=3)
    name = engine.cgroup.strip("/")
    # A kernel before 5.11 may have a memory hierarchy that is not hierarchical: the sandbox's
    # cgroup is made so before its children, which inherit it.
    (hierarchies["memory"] / name).mkdir()
    (hierarchies["memory"] / name / "memory.use_hierarchy").write_text("0\n")
    (hierarchies["memory"] / name / "containers").mkdir()
    (hierarchies["memory"] / name / "containers" / "memory.memsw.limit_in_bytes").write_text("")

    sandbox_module._limit_sandbox(engine)

    assert read(hierarchies["memory"] / name / "memory.use_hierarchy") == "1"
    assert limits_in(cgroup_root, LIMIT_FILES_V1) == {
        f"memory/{name}/containers/memory.limit_in_bytes": str(128 * 2**20),
        f"memory/{name}/containers/memory.memsw.limit_in_bytes": str(128 * 2**20),
        **{f"memory/{name}/engine/n{i}/memory.limit_in_bytes": str(200 * 2**20) for i in range(3)},
        f"pids/{name}/containers/pids.max": "100",
        **{f"pids/{name}/engine/n{i}/pids.max": "300" for i in range(3)},
        f"cpu,cpuacct/{name}/cpu.cfs_period_us": "100000",
        f"cpu,cpuacct/{name}/cpu.cfs_quota_us": "30000",
        f"cpu,cpuacct/{name}/cpu.shares": "128",
        f"cpu,cpuacct/{name}/engine/cpu.shares": "4096",
    }
    for node in engine.nodes:
        for hierarchy in ("memory", "pids", "cpu,cpuacct"):
            assert (cgroup_root / hierarchy / name / "containers" / f"n{node.index}").is_dir()
        # Every hierarchy that limits or counts it, once each.
        assert sandbox_module._engine_cgroup_procs(engine, node) == [
            cgroup_root / hierarchy / name / "engine" / f"n{node.index}" / "cgroup.procs"
            for hierarchy in ("cpu,cpuacct", "memory", "pids")
        ]


# -- starting an engine in its cgroups ----------------------------------------------------------


def test_an_engine_is_moved_into_its_cgroups_before_it_runs(tmp_path: Path) -> None:
    procs = [tmp_path / "cpu" / "cgroup.procs", tmp_path / "memory" / "cgroup.procs"]
    for path in procs:
        path.parent.mkdir()
    ran = tmp_path / "ran"

    # The program (dockerd) is exec'd by the shell that moved itself: the same process.
    argv = sandbox_module._in_cgroups(procs, ["/bin/sh", "-c", f"echo $$ > {ran}"])
    done = subprocess.run(argv, capture_output=True, text=True, timeout=10)

    assert done.returncode == 0, done.stderr
    assert read(procs[0]) == read(procs[1]) == read(ran)


def test_an_engine_that_cannot_be_moved_into_its_cgroups_does_not_run(tmp_path: Path) -> None:
    gone = tmp_path / "gone" / "cgroup.procs"
    ran = tmp_path / "ran"

    argv = sandbox_module._in_cgroups([gone], ["/bin/sh", "-c", f"echo $$ > {ran}"])
    done = subprocess.run(argv, capture_output=True, text=True, timeout=10)

    assert done.returncode != 0
    assert not ran.exists()
    assert str(gone) in done.stderr  # in the node's log, which _wait_ready's error quotes


# -- finding the tree ---------------------------------------------------------------------------


def test_the_reaper_finds_each_sandbox_s_cgroups_and_those_of_older_per_node_ones(
    cgroup_root: Path, tmp_path: Path
) -> None:
    base_dir = tmp_path / "base"
    base_dir.mkdir()
    scope = sandbox_module._scope(base_dir.resolve())
    for hierarchy in ("cpu", "memory"):
        (cgroup_root / hierarchy / f"{scope}-new-sandbox" / "containers" / "n0").mkdir(parents=True)
        # A sandbox whose name ends like an older sandbox's node.
        (cgroup_root / hierarchy / f"{scope}-new-n1-sandbox").mkdir()
        # An older sandbox: one cgroup per node.
        (cgroup_root / hierarchy / f"{scope}-old-n0").mkdir()
        (cgroup_root / hierarchy / f"{scope}-old-n1").mkdir()
        (cgroup_root / hierarchy / "cnother-theirs-sandbox").mkdir()  # another base directory's

    assert list_sandboxes(base_dir=base_dir) == ["new", "new-n1", "old"]
    assert sorted(sandbox_module._cgroup_dirs(scope, "new")) == [
        cgroup_root / "cpu" / f"{scope}-new-sandbox",
        cgroup_root / "memory" / f"{scope}-new-sandbox",
    ]
    assert len(sandbox_module._cgroup_dirs(scope, "old")) == 4

    # Processes by cgroup: the whole sandbox, or one node (its engine and its tasks).
    everything, node0 = (
        sandbox_module._cgroup_pattern(scope, "new"),
        sandbox_module._cgroup_pattern(scope, "new", 0),
    )
    for path in (f"/{scope}-new-sandbox/engine/n0", f"/{scope}-new-sandbox/containers/n0/f00"):
        assert everything.match(path) and node0.match(path), path
    assert everything.match(f"/{scope}-new-sandbox/engine/n1")
    assert not node0.match(f"/{scope}-new-sandbox/engine/n1")
    assert not everything.match(f"/{scope}-new-n1-sandbox/engine/n0")
    assert sandbox_module._cgroup_pattern(scope, "old", 1).match(f"/{scope}-old-n1/f00")


def test_the_limits_are_positive_whole_numbers() -> None:
    assert SandboxLimits() == SandboxLimits(
        memory_mb=512, pids=1024, cpu_percent=100, engine_memory_mb=512, engine_pids=2048
    )
    for bad in ({"pids": 0}, {"memory_mb": -1}, {"cpu_percent": 0.5}, {"engine_pids": True}):
        with pytest.raises(ValueError, match="must be a positive integer"):
            SandboxLimits(**bad)  # type: ignore[arg-type]
