"""Helpers for the tests that drive real engines: runs through the web, and what is left behind."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.test import Client

from runner.models import Run, Sandbox
from runner.sandbox import SandboxEngine, list_sandboxes, reap_sandboxes
from talks.models import SnippetLine
from tests.visitors import visitor_of

HX = {"HTTP_HX_REQUEST": "true"}


def run(client: Client, line: SnippetLine) -> Run:
    """Press Run on a line; the task runs on commit, so the run is finished on return."""
    response = client.post(f"/run/line/{line.pk}/", **HX)
    assert response.status_code == 200, response.content
    return Run.objects.filter(snippet_line=line).latest("id")


def sandbox_of(client: Client) -> Sandbox:
    return Sandbox.objects.get(visitor=visitor_of(client), status=Sandbox.Status.READY)


def is_dockerd(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "dockerd"
    except OSError:
        return False


def live_pids_mentioning(text: str) -> set[int]:
    """Live processes whose command line or cgroup mentions text."""
    found = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes()
            cgroup = Path(f"/proc/{entry.name}/cgroup").read_text()
            state = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and (text.encode() in cmdline or text in cgroup):
            found.add(int(entry.name))
    return found


def netns_list() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


def host_links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    return {line.split(":")[1].strip() for line in out.splitlines()}


def shim_sockets_of(engine: SandboxEngine) -> list[Path]:
    """containerd names each shim's socket sha256(<containerd address>/<namespace>/<id>)."""
    sockets = []
    for pid in live_pids_mentioning(str(engine.root) + "/"):
        args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        if "-id" in args and "-address" in args:
            key = f"{args[args.index('-address') + 1]}/moby/{args[args.index('-id') + 1]}"
            sockets.append(Path("/run/containerd/s") / hashlib.sha256(key.encode()).hexdigest())
    return sockets


def assert_nothing_left(engine: SandboxEngine, *, links_before: set[str]) -> None:
    name = engine.name
    assert not live_pids_mentioning(str(engine.root) + "/"), "a process of the sandbox survived"
    assert not live_pids_mentioning(engine.cgroup), "a process in the sandbox's cgroups survived"
    assert name not in netns_list()
    mounts = Path("/proc/self/mountinfo").read_text()
    assert str(engine.root) not in mounts
    assert not engine.root.exists()
    assert not list(Path("/sys/fs/cgroup").glob(f"*/*-{name}-*"))
    assert not list(Path("/sys/fs/cgroup").glob(f"*-{name}-*"))
    assert host_links() <= links_before, "an interface appeared in the host namespace"
    assert name not in list_sandboxes(base_dir=engine.base_dir)


def assert_gone(box: Sandbox, base_dir: Path) -> None:
    root = Path(base_dir) / box.name
    assert not live_pids_mentioning(str(root) + "/")
    assert box.name not in netns_list()
    assert str(root) not in Path("/proc/self/mountinfo").read_text()
    assert not root.exists()


@contextmanager
def short_base_dir(prefix: str) -> Iterator[Path]:
    """A sandbox base directory directly under /tmp, reaped and removed afterwards.

    Short, because unix socket paths below it are limited to 108 bytes; o+x, so that with
    --userns-remap the remapped root can traverse down to its data root.
    """
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o711)
    try:
        yield path
    finally:
        # Safety net for a test that failed half-way: nothing of this session may outlive it.
        if os.geteuid() == 0:
            reap_sandboxes(base_dir=path)
        shutil.rmtree(path, ignore_errors=True)
