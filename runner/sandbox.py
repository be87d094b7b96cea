"""Private Docker engines in swarm mode, one per visitor, each in its own network namespaces.

A sandbox is a directory under a base directory plus, per node, a network namespace and a
dockerd (which starts its own containerd). Node 0 is the swarm manager; workers join it over a
bridge that lives in the manager's namespace. Nothing is connected to the host's network: the
namespaces have no default route and no interface in the host namespace, so tasks reach neither
the host nor the internet, and two sandboxes never see each other.

A sandbox has one resource budget (SandboxLimits), whatever its number of nodes, in one cgroup
tree per hierarchy:

    /<scope>-<name>-sandbox        CPU: the whole budget, for the engines and the tasks together
        /containers                memory and processes: the budget, for all the nodes' tasks
            /n0 /n1 ...            each node's --cgroup-parent (dockerd makes a task's cgroup below)
        /engine                    a larger CPU weight: spinning tasks do not starve the engines
            /n0 /n1 ...            each node's dockerd, and so its containerd, shims and runc:
                                   memory and processes of their own (engine_memory_mb, ...)

Everything needed to tear a sandbox down is either on disk (``state.json``) or discoverable
from the host (namespace names, /proc, mountinfo, cgroups), so a sandbox left half-built or
half-dead by a crash can still be reaped. All of this needs root.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import docker

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,11}$")
# Per-sandbox /24s from this /16: nothing routes between sandboxes, but distinct subnets keep
# logs and `ip addr` output unambiguous.
SUBNET_PREFIX = "10.213"
NETNS_DIR = Path("/run/netns")
PROBE_PREFIX = "cnprobe-"  # engine_available's trial namespace, then the process id
CGROUP_ROOT = Path("/sys/fs/cgroup")
# The controllers that bound a sandbox (see SandboxLimits), and the CFS period its CPU quota is
# counted in (the kernel's default, as Docker uses for --cpus).
LIMIT_CONTROLLERS = ("memory", "pids", "cpu")
CPU_PERIOD_US = 100_000
# cgroup v1 hierarchies an engine is also put in, where mounted apart from cpu: its CPU time is
# then counted in the sandbox's cpuacct.usage with its tasks'.
ACCOUNTING_CONTROLLERS = ("cpuacct",)
# The engines' CPU weight against the tasks' within the sandbox's quota (v1 cpu.shares; v2
# cpu.weight is this / 1024 * 100): when both want more than the quota, the engines get 4/5.
ENGINE_CPU_SHARES = 4096
# A whole sandbox's CPU weight against everything else on the machine (v1 cpu.shares against
# the default 1024; v2 cpu.weight is this / 1024 * 100), about a nice-10 process's: a sandbox
# alone still gets its whole quota, but when CPU runs short the site's pages come first (with
# ten visitors' runs under way, pages took 0.5 s at the median at the default weight).
SANDBOX_CPU_SHARES = 128
STATE_FILE = "state.json"
SHIM_SOCKET_DIR = Path("/run/containerd/s")
BRIDGE = "br0"
# Unix socket paths are limited to 108 bytes; the deepest socket is swarm's control socket
# under a remapped data root (containerd's <root>/nN/x/containerd/containerd.sock.ttrpc is next).
MAX_ROOT_LEN = 108 - len("/n9/data/100000.100000/swarm/control.sock") - 1
# A sandbox still being started by a live process is left alone by the reaper for this long.
STARTING_GRACE = 300.0

REQUIRED_TOOLS = ("dockerd", "containerd", "runc", "nsenter", "unshare", "ip", "docker")
INSTALL_HINT = (
    "Running snippets needs a Linux worker running as root with Docker Engine and iproute2: "
    "on Debian/Ubuntu `apt-get install docker.io iproute2 util-linux busybox-static` "
    "(the host's own docker service is not used and may stay stopped)."
)


class SandboxError(RuntimeError):
    """A sandbox could not be started or fully removed."""


@dataclass(frozen=True)
class SandboxLimits:
    """What one sandbox may use, however many nodes it has. The defaults of the budget are
    those of notes_site.settings (RUNNER_SANDBOX_MEMORY_MB, RUNNER_SANDBOX_PIDS,
    RUNNER_SANDBOX_CPU_PERCENT).

    - CPU: cpu_percent bounds everything the sandbox runs: its engines (dockerd, containerd,
      the shims, which copy and log every line a task prints) and its tasks, on all nodes,
      from when start_sandbox returns (the engines' own start, before anyone can reach them,
      is not held back: about a CPU-second per node).
    - Memory and processes: memory_mb and pids bound all the tasks of all its nodes together.
      Each node's engine has engine_memory_mb and engine_pids of its own beside them, so that
      a task can neither OOM-kill nor fork-starve its engine, nor an engine take the machine.

    Each task also has limits of its own (the command policy adds them); these bound their
    sum, whatever the quotas on services and replicas allow. On cgroup v1 the kernel refuses
    a task's CPU quota larger than the sandbox's, so cpu_percent must be at least the per-task
    --limit-cpu (0.25 CPU = 25) or no task starts.
    """

    memory_mb: int = 512  # the tasks' memory (and, where the kernel accounts it, + swap)
    pids: int = 1024  # the tasks' processes and threads
    cpu_percent: int = 100  # CPU time per period, engines and tasks: 100 = one CPU
    # Per node, for its engine (what its cgroup was charged, measured): about 50 MB and 20
    # threads idle; each running task adds a shim, so 50 tasks (5 services of 10 replicas, the
    # default quotas) on one node took 240 MB (300 at the peak) and 674 threads. Log files'
    # page cache counts too, but is reclaimed at the limit.
    engine_memory_mb: int = 512
    engine_pids: int = 2048

    def __post_init__(self) -> None:
        for what in ("memory_mb", "pids", "cpu_percent", "engine_memory_mb", "engine_pids"):
            value = getattr(self, what)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"SandboxLimits.{what} must be a positive integer, not {value!r}")

    @property
    def memory_bytes(self) -> int:
        return self.memory_mb * 1024 * 1024

    @property
    def engine_memory_bytes(self) -> int:
        return self.engine_memory_mb * 1024 * 1024

    @property
    def cpu_quota_us(self) -> int:
        return self.cpu_percent * CPU_PERIOD_US // 100


DEFAULT_LIMITS = SandboxLimits()


@dataclass
class SandboxNode:
    """One dockerd of a sandbox, alone in its network namespace."""

    index: int
    netns: str
    ip: str
    root: Path
    cgroup_parent: str
    pid: int | None = None

    @property
    def role(self) -> str:
        return "manager" if self.index == 0 else "worker"

    @property
    def socket(self) -> Path:
        return self.root / "docker.sock"

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def data_root(self) -> Path:
        return self.root / "data"

    @property
    def exec_root(self) -> Path:
        # Kept short: containerd's sockets live below it and unix socket paths are limited.
        return self.root / "x"

    @property
    def uts(self) -> Path:
        # A persistent UTS namespace (bind-mounted here) so each node has its own hostname.
        return self.root / "uts"

    @property
    def hostname(self) -> str:
        # The names Docker's own swarm tutorial uses, so `docker node ls` reads like the docs.
        return "manager1" if self.index == 0 else f"worker{self.index}"

    @property
    def pidfile(self) -> Path:
        return self.root / "dockerd.pid"

    @property
    def log(self) -> Path:
        return self.root / "dockerd.log"


@dataclass
class SandboxEngine:
    """A running sandbox: a private swarm reached through ``docker_host`` (the manager)."""

    name: str
    root: Path
    docker_host: str
    nodes: list[SandboxNode]
    base_dir: Path
    subnet: str
    userns_remap: bool = False
    storage_driver: str | None = None
    created: float = field(default_factory=time.time)
    limits: SandboxLimits = DEFAULT_LIMITS

    @property
    def cgroup(self) -> str:
        """The sandbox's cgroup, as /proc/<pid>/cgroup names it (see the module docstring)."""
        return f"/{_sandbox_cgroup(_scope(self.base_dir), self.name)}"

    def engine_cgroup(self, node: SandboxNode) -> str:
        """The cgroup of a node's dockerd, containerd and shims."""
        return f"{self.cgroup}/engine/n{node.index}"

    def version(self) -> str:
        """The manager engine's version, e.g. "20.10.24+dfsg1"."""
        with _api(self.docker_host, timeout=5) as api:
            return str(api.version()["Version"])

    def processes(self) -> list[int]:
        """Pids of this sandbox's live processes (dockerd, containerd, shims, tasks)."""
        return sorted(_sandbox_pids(self.name, base_dir=self.base_dir, netns_inodes=set()))

    def resident_memory(self) -> int:
        """Bytes resident in this sandbox's processes (RSS summed, so shared pages count
        once per process)."""
        total = 0
        for pid in self.processes():
            with contextlib.suppress(OSError, ValueError, IndexError):
                total += int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        return total * os.sysconf("SC_PAGE_SIZE")


# -- public API ---------------------------------------------------------------------------------


def engine_available(*, base_dir: Path) -> tuple[bool, str]:
    """Whether sandboxes can be made here, with a human explanation either way."""
    problems: list[str] = []
    if os.geteuid() != 0:
        problems.append(
            "the worker is not running as root (namespaces and engines need root; run "
            "`manage.py db_worker` as root or through a root sandbox supervisor)"
        )
    missing = [tool for tool in REQUIRED_TOOLS if _which(tool) is None]
    if missing:
        problems.append("missing programs: " + ", ".join(missing))
    if not Path("/proc/self/ns/net").exists():
        problems.append("this kernel has no network namespaces")
    if not problems:
        try:
            base_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            problems.append(f"cannot create the sandbox directory {base_dir}: {exc.strerror}")
        else:
            if not _root_fits(base_dir.resolve()):
                problems.append(f"the sandbox directory {base_dir} is too long a path")
        probe = f"{PROBE_PREFIX}{os.getpid()}"
        made = _run(["ip", "netns", "add", probe], check=False)
        if made.returncode != 0:
            problems.append(
                "cannot create a network namespace (`ip netns add` failed: "
                f"{made.stderr.strip()}); containers need CAP_SYS_ADMIN"
            )
        else:
            _run(["ip", "netns", "delete", probe], check=False)
    if problems:
        return False, "Sandboxes are unavailable: " + "; ".join(problems) + ". " + INSTALL_HINT
    version = _run(["dockerd", "--version"], check=False).stdout.strip()
    unbounded = missing_limit_controllers()
    caveat = (
        f" Without the {', '.join(unbounded)} cgroup controller(s), sandboxes have no "
        "aggregate limit on them."
        if unbounded
        else ""
    )
    return True, f"Sandboxes available: {version or 'dockerd'} as root.{caveat}"


def missing_limit_controllers() -> list[str]:
    """The controllers of LIMIT_CONTROLLERS this machine lacks entirely (see SandboxLimits)."""
    return [c for c in LIMIT_CONTROLLERS if not _controller_present(c)]


def start_sandbox(
    *,
    base_dir: Path,
    name: str | None = None,
    nodes: int = 1,
    images: Sequence[Path] = (),
    userns_remap: bool = False,
    ready_timeout: float = 30,
    storage_driver: str | None = None,
    limits: SandboxLimits = DEFAULT_LIMITS,
) -> SandboxEngine:
    """Start a private swarm of `nodes` engines with `images` loaded into every node.

    The whole sandbox, engines included, has one budget, `limits`, however many nodes it has
    (see SandboxLimits). A limit that cannot be set fails the start with SandboxError; a
    controller the machine lacks altogether is skipped with a warning (logged once per
    process), and engine_available names it.

    On any failure the partial sandbox is removed before the error is raised.
    """
    if not 1 <= nodes <= 9:
        raise ValueError("nodes must be between 1 and 9")
    base_dir = _prepare_base_dir(base_dir)
    if userns_remap:
        _check_traversable(base_dir)
    engine = _allocate(base_dir=base_dir, name=name, nodes=nodes)
    engine.userns_remap = userns_remap
    engine.storage_driver = storage_driver
    engine.limits = limits
    _save_state(engine, phase="starting")
    clock = _Clock(f"start {engine.name}")
    try:
        _create_network(engine)
        clock.lap("network")
        # Before any dockerd starts: each starts inside its engine's cgroup, and its first
        # task must already be inside the limits. The CPU quota comes once the engines are
        # ready: under it, their start (about 1 CPU-second a node, before anyone can reach
        # them) took 11 s instead of 1.4 for 3 nodes at 25% of a CPU, 62 s instead of 5 for 9.
        _limit_sandbox(engine, cpu_quota=False)
        clock.lap("cgroup limits")
        deadline = time.monotonic() + ready_timeout
        for node in engine.nodes:
            _spawn_dockerd(engine, node)
        _save_state(engine, phase="starting")
        _parallel(lambda node: _wait_ready(node, deadline), engine.nodes)
        clock.lap("dockerd ready")
        manager = engine.nodes[0]
        with (
            ThreadPoolExecutor(max_workers=len(engine.nodes)) as pool,
            _api(manager.docker_host) as manager_api,
        ):
            # Loading images is independent of forming the swarm: overlap the two.
            loads = [pool.submit(_load_images, node, images) for node in engine.nodes if images]
            manager_api.init_swarm(advertise_addr=manager.ip, listen_addr=f"{manager.ip}:2377")
            clock.lap("swarm init")
            if len(engine.nodes) > 1:
                token = manager_api.inspect_swarm()["JoinTokens"]["Worker"]
                joins = [pool.submit(_join, node, manager.ip, token) for node in engine.nodes[1:]]
                for future in joins:
                    future.result()
                clock.lap("workers joined")
            for future in loads:
                future.result()
            clock.lap("images loaded")
            if len(engine.nodes) > 1:
                _wait_nodes_ready(manager_api, len(engine.nodes), deadline)
                clock.lap("nodes ready")
        _limit_sandbox(engine)
        clock.lap("CPU quota")
    except BaseException as exc:
        try:
            stop_sandbox(engine, base_dir=base_dir)
        except SandboxError as cleanup:
            exc.add_note(f"cleaning up the partial sandbox also failed: {cleanup}")
        raise
    _save_state(engine, phase="ready")
    return engine


def stop_sandbox(
    engine_or_name: SandboxEngine | str, *, base_dir: Path, grace: float = 0.0
) -> None:
    """Remove a sandbox entirely: processes, namespaces, mounts, cgroups and directories.

    Works from the name alone (reading what the state file and the host still show), so it
    also removes partial sandboxes. With grace > 0, services are removed and dockerd gets
    SIGTERM first, each step waiting up to grace seconds; without it everything is killed at
    once, which is safe because each engine lives in its own mount namespace (its mounts die
    with it) and the rest is cleaned up explicitly. Raises SandboxError if something could
    not be removed.
    """
    base_dir = base_dir.resolve()
    name = engine_or_name if isinstance(engine_or_name, str) else engine_or_name.name
    _check_name(name)
    root = base_dir / name
    scope = _scope(base_dir)
    state = _load_state(root)
    if state is not None:
        state["phase"] = "stopping"
        with contextlib.suppress(OSError):
            _write_json(root / STATE_FILE, state)

    netns = sorted(set(_netns_of(scope, name)) | set(_state_netns(state)))
    inodes = _netns_inodes(netns)
    live = [n for n in _state_nodes(state, root) if _is_dockerd_of(n.get("pid"), n["root"])]
    clock = _Clock(f"stop {name}")
    if live and grace > 0:
        # Tasks whose containers are stopped by their engine leave no mounts or shims behind;
        # killing everything at once also works but relies entirely on the clean-up below.
        _remove_services([Path(n["root"]) for n in live], deadline=time.monotonic() + grace)
        clock.lap("services removed")
        for node in live:
            _signal(node["pid"], signal.SIGTERM)
        _wait_dead([n["pid"] for n in live], deadline=time.monotonic() + grace)
        clock.lap("dockerd terminated")

    problems: list[str] = []
    shim_sockets = _shim_sockets(root)
    _kill_all(name, base_dir=base_dir, netns_inodes=inodes)
    clock.lap("processes killed")
    for path in shim_sockets:
        path.unlink(missing_ok=True)
    _unmount_under(root)
    for ns in netns:
        done = _run(["ip", "netns", "delete", ns], check=False)
        if done.returncode != 0 and (NETNS_DIR / ns).exists():
            problems.append(f"netns {ns}: {done.stderr.strip()}")
    for cgroup in _cgroup_dirs(scope, name):
        if not _remove_cgroup(cgroup):
            problems.append(f"cgroup {cgroup} is still in use")
    if root.exists():
        _unmount_under(root)
        if not _looks_like_sandbox(root):
            problems.append(f"{root} does not look like a sandbox directory: left in place")
        else:
            try:
                shutil.rmtree(root)
            except OSError as exc:
                problems.append(f"directory {root}: {exc}")
    clock.lap("namespaces, cgroups and files removed")
    left = _sandbox_pids(name, base_dir=base_dir, netns_inodes=inodes)
    if left:
        problems.append(f"processes still running: {sorted(left)}")
    if problems:
        raise SandboxError(f"sandbox {name} was not fully removed: " + "; ".join(problems))


def list_sandboxes(*, base_dir: Path) -> list[str]:
    """Names of the sandboxes of base_dir that exist in any form (directory, netns, process)."""
    base_dir = base_dir.resolve()
    scope = _scope(base_dir)
    names: set[str] = set()
    if base_dir.is_dir():
        for entry in base_dir.iterdir():
            if (
                entry.is_dir()
                and NAME_RE.match(entry.name)
                and ((entry / STATE_FILE).exists() or (entry / "n0").exists())
            ):
                names.add(entry.name)
    netns_re = re.compile(rf"^{re.escape(scope)}-([a-z0-9][a-z0-9-]{{0,11}})-n\d$")
    for ns in _netns_names():
        if m := netns_re.match(ns):
            names.add(m.group(1))
    cgroup_re = re.compile(rf"^{re.escape(scope)}-([a-z0-9][a-z0-9-]{{0,11}})(-sandbox|-n\d)$")
    for cgroup in _all_cgroup_names():
        if m := cgroup_re.match(cgroup):
            names.add(m.group(1))
    # Only a path into a node directory counts: other files under base_dir are not sandboxes.
    node_path = re.compile(re.escape(str(base_dir).encode()) + rb"/([a-z0-9][a-z0-9-]{0,11})/n\d/")
    protected = _protected_pids()
    for pid, cmdline in _proc_cmdlines():
        if pid not in protected and (m := node_path.search(cmdline)):
            names.add(m.group(1).decode())
    return sorted(names)


def reap_sandboxes(*, base_dir: Path, keep: Collection[str] = ()) -> list[str]:
    """Stop every sandbox of base_dir not in keep; return the names removed.

    Sandboxes are found however little is left of them (see list_sandboxes) and killed
    without grace. One that a live process is still starting (state "starting", at most
    STARTING_GRACE seconds old) is left alone. Raises SandboxError, after trying them all,
    if some could not be fully removed.
    """
    removed: list[str] = []
    errors = _remove_stale_probes()
    for name in list_sandboxes(base_dir=base_dir):
        if name in keep or _being_started(base_dir.resolve() / name):
            continue
        try:
            stop_sandbox(name, base_dir=base_dir, grace=0)
        except SandboxError as exc:
            errors.append(str(exc))
            continue
        removed.append(name)
    if errors:
        raise SandboxError("; ".join(errors))
    return removed


def stop_node(engine: SandboxEngine, index: int) -> None:
    """Kill one worker's engine outright (dockerd, containerd, shims, tasks): a failed node."""
    node = _worker(engine, index)
    pattern = str(node.root).encode() + b"/"
    pids = {pid for pid, cmd in _proc_cmdlines() if pattern in cmd}
    pids |= _pids_in_cgroups(_cgroup_pattern(_scope(engine.base_dir), engine.name, index))
    pids -= _protected_pids()
    for pid in pids:
        _signal(pid, signal.SIGKILL)
    _wait_dead(list(pids), deadline=time.monotonic() + 5)
    for path in _shim_sockets(node.root.parent, nodes=[node.root]):
        path.unlink(missing_ok=True)
    # A restarted dockerd cleans up after its crashed predecessor, but only mounts it knows of.
    _unmount_under(node.root)
    node.pid = None
    _save_state(engine, phase="ready")


def start_node(engine: SandboxEngine, index: int, *, ready_timeout: float = 30) -> None:
    """Restart a stopped worker's engine; it rejoins the swarm from its saved state."""
    node = _worker(engine, index)
    if _is_dockerd_of(node.pid, str(node.root)):
        return
    _limit_sandbox(engine)  # the cgroups normally outlive the engine: this adds what is missing
    _spawn_dockerd(engine, node)
    _save_state(engine, phase="ready")
    _wait_ready(node, time.monotonic() + ready_timeout)


def load_sandbox(name: str, *, base_dir: Path) -> SandboxEngine:
    """Rebuild the SandboxEngine of a running sandbox from its state file."""
    base_dir = base_dir.resolve()
    _check_name(name)
    state = _load_state(base_dir / name)
    if state is None:
        raise SandboxError(f"sandbox {name} has no state file under {base_dir}")
    nodes = [
        SandboxNode(
            index=n["index"],
            netns=n["netns"],
            ip=n["ip"],
            root=Path(n["root"]),
            cgroup_parent=n["cgroup_parent"],
            pid=n["pid"],
        )
        for n in state["nodes"]
    ]
    return SandboxEngine(
        name=name,
        root=base_dir / name,
        docker_host=nodes[0].docker_host,
        nodes=nodes,
        base_dir=base_dir,
        subnet=state["subnet"],
        userns_remap=state.get("userns_remap", False),
        storage_driver=state.get("storage_driver"),
        created=state.get("created", 0.0),
        limits=SandboxLimits(**state["limits"]) if state.get("limits") else DEFAULT_LIMITS,
    )


class _Clock:
    """Debug-logs the time each phase of a start or stop took."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.start = self.last = time.monotonic()

    def lap(self, phase: str) -> None:
        now = time.monotonic()
        log.debug(
            "%s: %s in %.3f s (%.3f s total)", self.what, phase, now - self.last, now - self.start
        )
        self.last = now


# -- allocation and state -----------------------------------------------------------------------


def _scope(base_dir: Path) -> str:
    # Namespace and cgroup names are host-global; tagging them with the base directory keeps a
    # test session's reaper away from the production worker's sandboxes.
    return "cn" + hashlib.sha256(str(base_dir).encode()).hexdigest()[:6]


def _check_name(name: str) -> None:
    if not NAME_RE.match(name):
        raise ValueError(f"invalid sandbox name {name!r}: use 1-12 of [a-z0-9-]")


def _prepare_base_dir(base_dir: Path) -> Path:
    base_dir.mkdir(parents=True, exist_ok=True)
    base_dir = base_dir.resolve()
    if not _root_fits(base_dir):
        raise ValueError(f"base_dir {base_dir} is too long for the engines' unix sockets")
    # With --userns-remap the remapped root must be able to traverse down to its data root.
    with contextlib.suppress(OSError):
        base_dir.chmod(base_dir.stat().st_mode | 0o111)
    return base_dir


def _root_fits(base_dir: Path) -> bool:
    return len(f"{base_dir}/{'x' * 12}") <= MAX_ROOT_LEN  # 12: the longest sandbox name


def _check_traversable(base_dir: Path) -> None:
    """With --userns-remap, dockerd refuses a data root the remapped root cannot reach."""
    for directory in (base_dir, *base_dir.parents):
        if not directory.stat().st_mode & 0o001:
            raise SandboxError(
                f"--userns-remap needs every directory above the sandboxes to be searchable "
                f"by others (o+x), and {directory} is not: choose another base_dir or "
                f"`chmod o+x {directory}`"
            )


@contextlib.contextmanager
def _locked(base_dir: Path) -> Iterator[None]:
    with (base_dir / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _allocate(*, base_dir: Path, name: str | None, nodes: int) -> SandboxEngine:
    """Reserve a name and a subnet under the base directory's lock, recording them on disk."""
    scope = _scope(base_dir)
    with _locked(base_dir):
        if name is None:
            while (base_dir / (name := f"sbx-{secrets.token_hex(3)}")).exists():
                pass
        _check_name(name)
        root = base_dir / name
        if root.exists() or any(ns.startswith(f"{scope}-{name}-") for ns in _netns_names()):
            raise SandboxError(f"sandbox {name} already exists")
        used = set()
        for entry in base_dir.iterdir():
            state = _load_state(entry)
            if state is not None:
                used.add(state.get("subnet_index"))
        free = [i for i in range(1, 255) if i not in used]
        if not free:
            raise SandboxError("no free sandbox subnet left (254 sandboxes exist)")
        index = free[0]
        root.mkdir(mode=0o711)
        engine = SandboxEngine(
            name=name,
            root=root,
            docker_host="",
            nodes=[
                SandboxNode(
                    index=i,
                    netns=f"{scope}-{name}-n{i}",
                    ip=f"{SUBNET_PREFIX}.{index}.{i + 1}",
                    root=root / f"n{i}",
                    cgroup_parent=f"/{_sandbox_cgroup(scope, name)}/containers/n{i}",
                )
                for i in range(nodes)
            ],
            base_dir=base_dir,
            subnet=f"{SUBNET_PREFIX}.{index}.0/24",
        )
        engine.docker_host = engine.nodes[0].docker_host
        _save_state(engine, phase="starting", subnet_index=index)
    return engine


def _save_state(engine: SandboxEngine, *, phase: str, subnet_index: int | None = None) -> None:
    path = engine.root / STATE_FILE
    previous = _load_state(engine.root) or {}
    state = {
        "name": engine.name,
        "phase": phase,
        "owner_pid": os.getpid(),
        "created": engine.created,
        "subnet": engine.subnet,
        "subnet_index": subnet_index if subnet_index is not None else previous["subnet_index"],
        "userns_remap": engine.userns_remap,
        "storage_driver": engine.storage_driver,
        "limits": asdict(engine.limits),
        "nodes": [
            {**asdict(node), "root": str(node.root), "docker_host": node.docker_host}
            for node in engine.nodes
        ],
    }
    _write_json(path, state)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


def _load_state(root: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((root / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _state_netns(state: dict[str, Any] | None) -> list[str]:
    return [n["netns"] for n in (state or {}).get("nodes", [])]


def _state_nodes(state: dict[str, Any] | None, root: Path) -> list[dict[str, Any]]:
    nodes = list((state or {}).get("nodes", []))
    for node in nodes:
        # The pid file is fresher than the state file if we crashed right after spawning.
        with contextlib.suppress(OSError, ValueError):
            node["pid"] = int((Path(node["root"]) / "dockerd.pid").read_text().strip())
    return nodes


def _looks_like_sandbox(root: Path) -> bool:
    # A guard before rmtree: a name given by mistake must not delete an unrelated directory.
    entries = [p.name for p in root.iterdir()]
    return not entries or STATE_FILE in entries or any(re.fullmatch(r"n\d", e) for e in entries)


def _being_started(root: Path) -> bool:
    state = _load_state(root)
    if not state or state.get("phase") != "starting":
        return False
    owner = state.get("owner_pid")
    fresh = time.time() - float(state.get("created", 0)) < STARTING_GRACE
    # Our own pid counts too: another thread of this worker may be starting it right now.
    return bool(owner) and _alive(int(owner)) and fresh


# -- network ------------------------------------------------------------------------------------


def _create_network(engine: SandboxEngine) -> None:
    """One namespace per node; workers hang off a bridge in the manager's namespace."""
    manager = engine.nodes[0]
    for node in engine.nodes:
        _run(["ip", "netns", "add", node.netns])
        _run(["ip", "-n", node.netns, "link", "set", "lo", "up"])
    # The manager's address sits on the bridge itself, so a one-node sandbox needs nothing more.
    _run(["ip", "-n", manager.netns, "link", "add", BRIDGE, "type", "bridge"])
    _run(["ip", "-n", manager.netns, "addr", "add", f"{manager.ip}/24", "dev", BRIDGE])
    _run(["ip", "-n", manager.netns, "link", "set", BRIDGE, "up"])
    for node in engine.nodes[1:]:
        peer = f"w{node.index}"
        # Both ends are created inside namespaces: no interface ever exists on the host side,
        # and deleting the namespaces deletes the pairs.
        _run(
            [
                *("ip", "-n", node.netns, "link", "add", "eth0", "type", "veth"),
                *("peer", "name", peer, "netns", manager.netns),
            ]
        )
        _run(["ip", "-n", manager.netns, "link", "set", peer, "master", BRIDGE, "up"])
        _run(["ip", "-n", node.netns, "addr", "add", f"{node.ip}/24", "dev", "eth0"])
        _run(["ip", "-n", node.netns, "link", "set", "eth0", "up"])


def _netns_names() -> list[str]:
    try:
        return [p.name for p in NETNS_DIR.iterdir()]
    except OSError:
        return []


def _remove_stale_probes() -> list[str]:
    """Delete the namespaces that engine_available made to try, of processes that died
    between making and deleting theirs (killed, say); returns what could not be deleted."""
    problems = []
    for ns in _netns_names():
        pid = ns.removeprefix(PROBE_PREFIX)
        if ns.startswith(PROBE_PREFIX) and pid.isdigit() and not _alive(int(pid)):
            done = _run(["ip", "netns", "delete", ns], check=False)
            if done.returncode != 0 and (NETNS_DIR / ns).exists():
                problems.append(f"netns {ns}: {done.stderr.strip()}")
    return problems


def _netns_of(scope: str, name: str) -> list[str]:
    pattern = re.compile(rf"^{re.escape(scope)}-{re.escape(name)}-n\d$")
    return [ns for ns in _netns_names() if pattern.match(ns)]


def _netns_inodes(names: Sequence[str]) -> set[int]:
    inodes = set()
    for ns in names:
        with contextlib.suppress(OSError):
            inodes.add(os.stat(NETNS_DIR / ns).st_ino)
    return inodes


# -- engines ------------------------------------------------------------------------------------


def _dockerd_argv(engine: SandboxEngine, node: SandboxNode) -> list[str]:
    argv = [
        _which("nsenter") or "nsenter",
        f"--net={NETNS_DIR / node.netns}",
        *([f"--uts={node.uts}"] if node.uts.exists() else []),
        # A private mount namespace: the engine's overlay and netns mounts stay out of the
        # host's mount table and vanish with its last process, even after a SIGKILL.
        _which("unshare") or "unshare",
        "--mount",
        "--propagation=private",
        _which("dockerd") or "dockerd",
        # An empty config file of our own: the host's /etc/docker/daemon.json must not apply.
        f"--config-file={node.root / 'daemon.json'}",
        f"--data-root={node.data_root}",
        f"--exec-root={node.exec_root}",
        f"--host={node.docker_host}",
        f"--pidfile={node.pidfile}",
        # Swarm makes its own ingress and docker_gwbridge networks; no default bridge needed.
        "--bridge=none",
        # iptables rules would only touch the node's namespace, but they cost start-up time
        # and need kernel modules; published ports cannot work here anyway (no IPVS).
        "--iptables=false",
        "--ip6tables=false",
        "--ip-forward=false",
        "--ip-masq=false",
        "--userland-proxy=false",
        # Task cgroups go under the node's parent in the sandbox's tree (see _limit_sandbox).
        # The systemd driver, Docker's default on cgroup v2 under systemd, would want a slice.
        "--exec-opt=native.cgroupdriver=cgroupfs",
        f"--cgroup-parent={node.cgroup_parent}",
        "--no-new-privileges",
        "--shutdown-timeout=2",
        "--log-level=warn",
        # A task that floods its output must not fill the disk other sandboxes share; services
        # may not choose their own log driver or options (the command policy refuses them).
        "--log-opt=max-size=1m",
        "--log-opt=max-file=2",
    ]
    if engine.storage_driver:
        argv.append(f"--storage-driver={engine.storage_driver}")
    if engine.userns_remap:
        argv.append("--userns-remap=default")
    return argv


def _spawn_dockerd(engine: SandboxEngine, node: SandboxNode) -> None:
    node.root.mkdir(mode=0o711, exist_ok=True)
    # dockerd trusts a containerd pid file whose pid answers kill(pid, 0), and a killed
    # containerd can linger as a zombie: it would then wait forever for a dead containerd.
    for pidfile in (node.exec_root / "containerd" / "containerd.pid", node.pidfile):
        with contextlib.suppress(OSError, ValueError):
            if not _alive(int(pidfile.read_text().strip())):
                pidfile.unlink()
    config = node.root / "daemon.json"
    if not config.exists():
        config.write_text("{}\n")
    if not _is_mounted(node.uts) and _which("hostname"):
        node.uts.touch()
        done = _run(["unshare", f"--uts={node.uts}", "hostname", node.hostname], check=False)
        if done.returncode != 0:  # cosmetic: the node then shows the host's name
            node.uts.unlink(missing_ok=True)
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG": "C.UTF-8",
        # Images come from tarballs: never let a task wait on an unreachable registry first.
        "DOCKER_SERVICE_PREFER_OFFLINE_IMAGE": "1",
    }
    argv = _in_cgroups(_engine_cgroup_procs(engine, node), _dockerd_argv(engine, node))
    with node.log.open("ab") as log:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=env,
            cwd=node.root,
            start_new_session=True,  # a Ctrl-C or a dying worker's group signal must not hit it
            close_fds=True,
        )
    node.pid = proc.pid  # sh, nsenter and unshare exec without forking: this is dockerd's pid
    # Reap it whenever it exits so it never lingers as a zombie under a long-lived worker.
    threading.Thread(target=proc.wait, name=f"reap-{node.netns}", daemon=True).start()


def _in_cgroups(procs: Sequence[Path], argv: list[str]) -> list[str]:
    """argv, run by a shell that first moves itself into the cgroups of the given cgroup.procs
    files and then execs it: the engine is limited from its first instruction on, and what it
    starts (containerd, which starts the shims and runc) is born inside the same cgroups. A
    move that fails ends the shell, with its reason in the node's log (see _wait_ready)."""
    moves = "".join(f"echo $$ > {shlex.quote(str(path))} && " for path in procs)
    return [_which("sh") or "/bin/sh", "-c", f'{moves}exec "$@"', "sh", *argv]


def _wait_ready(node: SandboxNode, deadline: float) -> None:
    while True:
        if _ping(node.socket):
            return
        if node.pid is None or not _alive(node.pid):
            raise SandboxError(f"dockerd of {node.netns} exited during start-up:\n{_tail(node)}")
        if time.monotonic() > deadline:
            raise SandboxError(f"dockerd of {node.netns} not ready in time:\n{_tail(node)}")
        time.sleep(0.02)


def _ping(sock_path: Path) -> bool:
    """A raw GET /_ping: cheaper than building an API client for every poll."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(1.0)
            sock.connect(str(sock_path))
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            reply = sock.recv(4096)
    except OSError:
        return False
    return reply.startswith(b"HTTP/1.") and b" 200 " in reply.split(b"\r\n", 1)[0]


def _tail(node: SandboxNode, lines: int = 15) -> str:
    try:
        return "\n".join(node.log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _api(docker_host: str, *, timeout: int = 30) -> docker.APIClient:
    # "auto": Debian's engine speaks API 1.41, older than the SDK's default.
    return docker.APIClient(base_url=docker_host, version="auto", timeout=timeout)


def _join(node: SandboxNode, manager_ip: str, token: str) -> None:
    with _api(node.docker_host) as api:
        api.join_swarm(
            remote_addrs=[f"{manager_ip}:2377"],
            join_token=token,
            listen_addr=f"{node.ip}:2377",
            advertise_addr=node.ip,
        )


def _load_images(node: SandboxNode, images: Sequence[Path]) -> None:
    with _api(node.docker_host, timeout=120) as api:
        for image in images:
            with Path(image).open("rb") as data:
                for message in api.load_image(data):
                    if isinstance(message, dict) and message.get("error"):
                        raise SandboxError(f"loading {image} into {node.netns}: {message['error']}")


def _wait_nodes_ready(api: docker.APIClient, count: int, deadline: float) -> None:
    while True:
        nodes = api.nodes()
        ready = [n for n in nodes if n.get("Status", {}).get("State") == "ready"]
        if len(ready) >= count:
            return
        if time.monotonic() > deadline:
            raise SandboxError(f"only {len(ready)} of {count} swarm nodes became ready")
        time.sleep(0.1)


def _remove_services(node_roots: Sequence[Path], *, deadline: float) -> None:
    """Remove all services and wait (bounded) until no node has containers, ignoring failures."""
    manager = node_roots[0] / "docker.sock"
    if node_roots[0].name != "n0" or not _ping(manager):
        return
    with contextlib.ExitStack() as stack:
        try:
            apis = [
                stack.enter_context(_api(f"unix://{root / 'docker.sock'}", timeout=3))
                for root in node_roots
            ]
            for service in apis[0].services():
                apis[0].remove_service(service["ID"])
            while time.monotonic() < deadline:
                if not any(api.containers(all=True) for api in apis):
                    return
                time.sleep(0.1)
        except (docker.errors.DockerException, OSError):
            return  # teardown goes on with signals either way


def _worker(engine: SandboxEngine, index: int) -> SandboxNode:
    if not 0 < index < len(engine.nodes):
        raise ValueError(f"node {index} is not a worker of {engine.name}")
    return engine.nodes[index]


def _parallel(fn: Any, items: Sequence[Any]) -> None:
    if len(items) == 1:
        fn(items[0])
        return
    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        for future in [pool.submit(fn, item) for item in items]:
            future.result()


# -- processes ----------------------------------------------------------------------------------


def _which(tool: str) -> str | None:
    path = os.environ.get("PATH", "") + ":/usr/local/sbin:/usr/sbin:/sbin"
    return shutil.which(tool, path=path)


def _run(argv: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    argv = [_which(argv[0]) or argv[0], *argv[1:]]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    if check and done.returncode != 0:
        raise SandboxError(f"{' '.join(argv)} failed: {done.stderr.strip()}")
    return done


def _proc_cmdlines() -> Iterator[tuple[int, bytes]]:
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                yield int(entry.name), Path(f"/proc/{entry.name}/cmdline").read_bytes()


def _alive(pid: int) -> bool:
    """True if pid exists and is not a zombie (a zombie holds nothing but its pid)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _is_dockerd_of(pid: int | None, node_root: str) -> bool:
    """True if pid is alive and still the dockerd of node_root (pids get reused)."""
    if not pid or not _alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return f"--pidfile={node_root}/dockerd.pid".encode() in cmdline


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _wait_dead(pids: Sequence[int], *, deadline: float) -> None:
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)


def _protected_pids() -> set[int]:
    # Never kill ourselves or whoever started us, whatever their command lines mention.
    pids, pid = {os.getpid()}, os.getppid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids


def _sandbox_pids(name: str, *, base_dir: Path, netns_inodes: set[int]) -> set[int]:
    """Live processes of a sandbox: by command line (dockerd, containerd and shims reference
    the sandbox directory), by cgroup (task processes) and by network namespace."""
    prefix = str(base_dir / name).encode() + b"/"
    scope = _scope(base_dir)
    protected = _protected_pids()
    pids = {pid for pid, cmd in _proc_cmdlines() if prefix in cmd}
    pids |= _pids_in_cgroups(_cgroup_pattern(scope, name))
    if netns_inodes:
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if os.stat(f"/proc/{entry.name}/ns/net").st_ino in netns_inodes:
                        pids.add(int(entry.name))
    return {pid for pid in pids - protected if _alive(pid)}


def _pids_in_cgroups(pattern: re.Pattern[str]) -> set[int]:
    """Processes in a cgroup whose path matches pattern in any hierarchy."""
    pids = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            lines = Path(f"/proc/{entry.name}/cgroup").read_text().splitlines()
        except OSError:
            continue
        if any(pattern.match(line.split(":", 2)[-1]) for line in lines):
            pids.add(int(entry.name))
    return pids


def _cgroup_pattern(scope: str, name: str, node: int | None = None) -> re.Pattern[str]:
    """The cgroup paths of a sandbox's processes, or of one node's (engine and tasks). Those of
    the per-node parents that sandboxes started before SandboxLimits had match too."""
    top = f"{re.escape(scope)}-{re.escape(name)}"
    if node is None:
        return re.compile(rf"^/{top}(-sandbox|-n\d)(/|$)")
    return re.compile(rf"^/{top}(-sandbox/(engine|containers)/n{node}|-n{node})(/|$)")


def _kill_all(name: str, *, base_dir: Path, netns_inodes: set[int]) -> None:
    """SIGKILL every process of the sandbox until none is left (dockerd restarts a dead
    containerd, and a dead shim's tasks get reparented, so one pass is not always enough)."""
    deadline = time.monotonic() + 10
    while pids := _sandbox_pids(name, base_dir=base_dir, netns_inodes=netns_inodes):
        for pid in pids:
            _signal(pid, signal.SIGKILL)
        _wait_dead(list(pids), deadline=min(deadline, time.monotonic() + 2))
        if time.monotonic() > deadline:
            return


def _shim_sockets(root: Path, nodes: Sequence[Path] | None = None) -> list[Path]:
    """The shim sockets of a sandbox's containers, which containerd keeps in a host-wide
    directory and a killed shim leaves behind (named as in containerd's shim.SocketAddress)."""
    found = []
    for node_root in nodes if nodes is not None else sorted(root.glob("n[0-9]")):
        address = node_root / "x" / "containerd" / "containerd.sock"
        tasks = node_root / "x" / "containerd" / "daemon" / "io.containerd.runtime.v2.task"
        with contextlib.suppress(OSError):
            for namespace in tasks.iterdir():
                for task in namespace.iterdir():
                    key = f"{address}/{namespace.name}/{task.name}".encode()
                    found.append(SHIM_SOCKET_DIR / hashlib.sha256(key).hexdigest())
    return found


# -- mounts and cgroups -------------------------------------------------------------------------

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_MNT_DETACH = 2


def _mounts_under(root: Path) -> list[str]:
    prefix = str(root)
    found = []
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            point = _unescape(line.split(" ", 5)[4])
            if point == prefix or point.startswith(prefix + "/"):
                found.append(point)
    return found


def _is_mounted(path: Path) -> bool:
    return str(path) in _mounts_under(path)


def _unescape(field_: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal.
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field_)


def _unmount_under(root: Path) -> None:
    """Lazily unmount everything under root, deepest first, until nothing is left."""
    for _ in range(5):
        points = _mounts_under(root)
        if not points:
            return
        for point in sorted(set(points), key=lambda p: p.count("/"), reverse=True):
            if _libc.umount2(point.encode(errors="surrogateescape"), _MNT_DETACH) != 0:
                # ctypes failed (EINVAL: already gone with its parent, ENOENT...): try the tool.
                _run(["umount", "-l", point], check=False)


def _cgroup_v2() -> bool:
    """Whether CGROUP_ROOT is a cgroup v2 (unified) hierarchy rather than v1's directory of
    hierarchies (a "hybrid" host's cgroup2 at CGROUP_ROOT/unified holds no controller Docker
    uses for limits, so it counts as v1)."""
    return (CGROUP_ROOT / "cgroup.controllers").exists()


def _words(path: Path) -> list[str]:
    """The words of a cgroup file such as cgroup.controllers, or none if it cannot be read."""
    try:
        return path.read_text().split()
    except OSError:
        return []


def _v1_hierarchy(controller: str) -> Path | None:
    """Where the v1 hierarchy holding controller is mounted directly under CGROUP_ROOT (the
    only place _cgroup_dirs looks, and where Docker's cgroupfs driver finds it), or None.
    A hierarchy may hold several controllers ("cpu,cpuacct"), which the mount options say."""
    root = str(CGROUP_ROOT.resolve())
    try:
        lines = Path("/proc/self/mountinfo").read_text(errors="surrogateescape").splitlines()
    except OSError:
        return None
    for line in lines:
        fields, _, tail = line.partition(" - ")
        parts, super_ = fields.split(), tail.split()
        if len(parts) < 5 or len(super_) < 3 or super_[0] != "cgroup":
            continue
        point = Path(_unescape(parts[4]))
        if str(point.parent) == root and controller in super_[2].split(","):
            return point
    return None


def _controller_present(controller: str) -> bool:
    """Whether the machine has this controller where sandboxes can use it at all."""
    if _cgroup_v2():
        return controller in _words(CGROUP_ROOT / "cgroup.controllers")
    return _v1_hierarchy(controller) is not None


_warned_unbounded: set[str] = set()
_warned_lock = threading.Lock()


def _warn_unbounded(controller: str) -> None:
    """A controller missing from the machine is not a reason to refuse every sandbox (the
    per-task limits still hold); say so once per process, and engine_available says it too."""
    with _warned_lock:
        if controller in _warned_unbounded:
            return
        _warned_unbounded.add(controller)
    log.warning(
        "this machine has no %s cgroup controller under %s: sandboxes run without an "
        "aggregate %s limit (each task keeps its own)",
        controller,
        CGROUP_ROOT,
        {"memory": "memory", "pids": "process", "cpu": "CPU"}[controller],
    )


def _limit_sandbox(engine: SandboxEngine, *, cpu_quota: bool = True) -> None:
    """Create the sandbox's cgroup tree (see the module docstring) with its limits, the CPU
    quota only if cpu_quota (it is not lifted when already set).

    Done before any dockerd starts (each starts in its engine's cgroup: _spawn_dockerd, and
    dockerd's cgroupfs driver makes each task's cgroup below its node's --cgroup-parent), and
    again before a stopped node restarts: it adds what is missing and writes the same values.
    stop_sandbox removes the whole tree (_cgroup_dirs). Raises SandboxError if a limit cannot
    be set; a controller the machine lacks is skipped with a warning (_warn_unbounded).
    """
    if _cgroup_v2():
        _limit_sandbox_v2(engine, cpu_quota=cpu_quota)
        return
    limits, top = engine.limits, engine.cgroup.strip("/")
    engines = [Path(engine.engine_cgroup(node).strip("/")) for node in engine.nodes]
    for controller in LIMIT_CONTROLLERS:
        hierarchy = _v1_hierarchy(controller)
        if hierarchy is None:
            _warn_unbounded(controller)
            continue
        _make_tree(engine, hierarchy)
        path = hierarchy / top
        if controller == "memory":
            _write_memory_v1(engine, path / "containers", limits.memory_bytes)
            for node in engines:
                _write_memory_v1(engine, hierarchy / node, limits.engine_memory_bytes)
        elif controller == "pids":
            _write_limit(engine, path / "containers" / "pids.max", str(limits.pids))
            for node in engines:
                _write_limit(engine, hierarchy / node / "pids.max", str(limits.engine_pids))
        else:
            _write_limit(engine, path / "cpu.shares", str(SANDBOX_CPU_SHARES))
            _write_limit(engine, path / "engine" / "cpu.shares", str(ENGINE_CPU_SHARES))
            if cpu_quota:
                _write_limit(engine, path / "cpu.cfs_period_us", str(CPU_PERIOD_US))
                _write_limit(engine, path / "cpu.cfs_quota_us", str(limits.cpu_quota_us))
    for controller in ACCOUNTING_CONTROLLERS:
        if (hierarchy := _v1_hierarchy(controller)) is not None:
            _make_tree(engine, hierarchy)


def _write_memory_v1(engine: SandboxEngine, path: Path, value: int) -> None:
    # memsw bounds memory + swap, so swapping cannot dodge the limit. It may never be below
    # the memory limit: set whichever order the current values allow.
    files = [path / "memory.limit_in_bytes", path / "memory.memsw.limit_in_bytes"]
    files = [f for f in files if f.exists() or f.name == "memory.limit_in_bytes"]
    try:
        for file in files:
            _write_limit(engine, file, str(value))
    except SandboxError:
        for file in reversed(files):
            _write_limit(engine, file, str(value))


def _limit_sandbox_v2(engine: SandboxEngine, *, cpu_quota: bool) -> None:
    limits = engine.limits
    available = _words(CGROUP_ROOT / "cgroup.controllers")
    wanted = []
    for controller in LIMIT_CONTROLLERS:
        if controller in available:
            wanted.append(controller)
        else:
            _warn_unbounded(controller)
    # A cgroup's limit files exist only for the controllers its parent enables for children;
    # the parents of the tree hold no process, as cgroup v2 requires of them.
    top = CGROUP_ROOT / engine.cgroup.strip("/")
    for parent in (CGROUP_ROOT, top, top / "containers", top / "engine"):
        if parent != CGROUP_ROOT:
            _make_cgroup(engine, parent)
        control = parent / "cgroup.subtree_control"
        for controller in wanted:
            if controller not in _words(control):
                _write_limit(engine, control, f"+{controller}", check=False)
    _make_tree(engine, CGROUP_ROOT)
    engines = [CGROUP_ROOT / engine.engine_cgroup(node).strip("/") for node in engine.nodes]
    if "memory" in wanted:
        for path, value in [(top / "containers", limits.memory_bytes)] + [
            (node, limits.engine_memory_bytes) for node in engines
        ]:
            _write_limit(engine, path / "memory.max", str(value))
            if (path / "memory.swap.max").exists():  # no swap: it would not count in memory.max
                _write_limit(engine, path / "memory.swap.max", "0")
    if "pids" in wanted:
        _write_limit(engine, top / "containers" / "pids.max", str(limits.pids))
        for node in engines:
            _write_limit(engine, node / "pids.max", str(limits.engine_pids))
    if "cpu" in wanted:
        _write_limit(engine, top / "cpu.weight", str(SANDBOX_CPU_SHARES * 100 // 1024))
        _write_limit(engine, top / "engine" / "cpu.weight", str(ENGINE_CPU_SHARES * 100 // 1024))
        if cpu_quota:
            _write_limit(engine, top / "cpu.max", f"{limits.cpu_quota_us} {CPU_PERIOD_US}")


def _make_tree(engine: SandboxEngine, hierarchy: Path) -> None:
    """The sandbox's cgroups in one hierarchy, parents first."""
    top = hierarchy / engine.cgroup.strip("/")
    _make_cgroup(engine, top)
    hierarchical = top / "memory.use_hierarchy"  # v1, always 1 since Linux 5.11
    if hierarchical.exists() and hierarchical.read_text().strip() != "1":
        _write_limit(engine, hierarchical, "1")  # before its children: they inherit it
    # Not "tasks": cgroup v1 has a file of that name in every cgroup.
    for kind in ("containers", "engine"):
        _make_cgroup(engine, top / kind)
        for node in engine.nodes:
            _make_cgroup(engine, top / kind / f"n{node.index}")


def _engine_cgroup_procs(engine: SandboxEngine, node: SandboxNode) -> list[Path]:
    """The cgroup.procs files of a node's engine cgroup, in each hierarchy that has one."""
    path = engine.engine_cgroup(node).strip("/")
    if _cgroup_v2():
        return [CGROUP_ROOT / path / "cgroup.procs"]
    hierarchies = {_v1_hierarchy(c) for c in (*LIMIT_CONTROLLERS, *ACCOUNTING_CONTROLLERS)}
    return [h / path / "cgroup.procs" for h in sorted(h for h in hierarchies if h is not None)]


def _make_cgroup(engine: SandboxEngine, path: Path) -> None:
    try:
        path.mkdir(exist_ok=True)
    except OSError as exc:
        raise SandboxError(
            f"cannot limit sandbox {engine.name}: creating the cgroup {path} failed: "
            f"{exc.strerror or exc}"
        ) from exc


def _write_limit(engine: SandboxEngine, path: Path, value: str, *, check: bool = True) -> None:
    """Write a cgroup file and read it back: a sandbox never runs with a limit silently
    missing (the file absent, the write refused or ignored)."""
    try:
        with path.open("w") as f:
            f.write(value)
        if check and path.read_text().strip() != value:
            raise OSError(0, f"it reads {path.read_text().strip()!r} afterwards")
    except OSError as exc:
        raise SandboxError(
            f"cannot limit sandbox {engine.name}: writing {value!r} to {path} failed: "
            f"{exc.strerror or exc}"
        ) from exc


def _all_cgroup_names() -> set[str]:
    names: set[str] = set()
    with contextlib.suppress(OSError):
        for top in CGROUP_ROOT.iterdir():
            with contextlib.suppress(OSError):
                names.update(p.name for p in top.iterdir() if p.is_dir())
            names.add(top.name)
    return names


def _sandbox_cgroup(scope: str, name: str) -> str:
    # Suffixed, so that no sandbox's name is a prefix of another's cgroup (names may hold "-").
    return f"{scope}-{name}-sandbox"


def _cgroup_dirs(scope: str, name: str) -> list[Path]:
    """The sandbox's cgroup in every hierarchy (and the per-node parents of sandboxes started
    before SandboxLimits)."""
    pattern = re.compile(rf"^{re.escape(scope)}-{re.escape(name)}(-sandbox|-n\d)$")
    found: list[Path] = []
    with contextlib.suppress(OSError):
        for top in CGROUP_ROOT.iterdir():
            if pattern.match(top.name):  # cgroup v2: the parents sit at the root
                found.append(top)
                continue
            with contextlib.suppress(OSError):
                found.extend(p for p in top.iterdir() if p.is_dir() and pattern.match(p.name))
    return found


def _remove_cgroup(path: Path) -> bool:
    """rmdir a cgroup tree bottom-up (cgroup directories are removed with rmdir, not unlink)."""
    deadline = time.monotonic() + 3
    while True:
        try:
            for dirpath, _dirs, _files in os.walk(path, topdown=False):
                os.rmdir(dirpath)
            return True
        except FileNotFoundError:
            return True
        except OSError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
