"""Tasks cannot fill the host's disk, and templates cannot fill the CLI's memory, on real engines.

F2 of the security review: a task wrote to its container's writable layer without limit
(`dd ... of=/fill` in two replicas put 600 MB on the host's disk in 25 s). Every service now has
a read-only root file system and a 16 MB tmpfs at /tmp, which counts against its memory limit.
F1: `--format` templates that repeat their output made the docker CLI hold 13 GB; the policy
refuses them, and the CLI runs under a memory limit whatever gets through.
Runs go through the web endpoints, tasks in-process (django-tasks' immediate backend).
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from django.test import Client

from runner.execute import run_docker
from runner.models import Run, Sandbox
from runner.swarm import read_swarm
from talks.models import SnippetLine
from tests.integration.helpers import run, sandbox_of

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]
MiB = 1024 * 1024
FILL = (
    "docker service create --name fill --replicas 2 instavote/vote sh -c "
    '"dd if=/dev/zero of=/fill bs=1M count=300; dd if=/dev/zero of=/tmp/fill bs=1M count=300; '
    'ls -l /tmp/fill; echo filled; sleep 3600"'
)
HUGE = "{{range 999}}{{range 999}}{{range 999}}xxxxx{{end}}{{end}}{{end}}"


@pytest.fixture
def lines(demo_day) -> dict[str, SnippetLine]:
    """The seed's lines, and in the same block the ones this module adds."""
    seed = list(SnippetLine.objects.order_by("position"))
    extra = {
        "fill": FILL,
        "writable again": "docker service update --read-only=false vote",
        "tmp removed": "docker service update --mount-rm /tmp vote",
        "mount added": "docker service update --mount-add type=volume,target=/data vote",
        "huge": f"docker service ls --format '{HUGE}'",
    }
    made = {
        name: SnippetLine.objects.create(snippet=seed[0].snippet, position=position, command=line)
        for position, (name, line) in enumerate(extra.items(), start=100)
    }
    names = ["create", "ls", "tasks", "scale", "movies", "indent"]
    return dict(zip(names, seed, strict=True)) | made


def disk_use(box: Sandbox) -> int:
    """Bytes the sandbox holds on the host's disk (its engine's data root and state)."""
    root = Path(box.docker_host.removeprefix("unix://")).parent.parent
    out = subprocess.run(
        ["du", "-sx", "--block-size=1", str(root)], capture_output=True, text=True, check=True
    ).stdout
    return int(out.split()[0])


def task_logs(host: str, service: str, *, until: str, count: int, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        logs = run_docker(["docker", "service", "logs", "--raw", service], docker_host=host)
        text = logs.stdout + logs.stderr
        if text.count(until) >= count:
            return text
        assert time.monotonic() < deadline, f"{service} did not get to {until!r}: {text}"
        time.sleep(1)


def spec_of(host: str, service: str) -> dict:
    inspected = run_docker(
        ["docker", "service", "inspect", "--format", "{{json .Spec.TaskTemplate}}", service],
        docker_host=host,
    )
    return json.loads(inspected.stdout)


def test_the_seed_runs_read_only_and_a_task_cannot_fill_the_disk(lines, sandboxes):
    client = Client()
    created = run(client, lines["create"])
    assert created.status == Run.Status.SUCCEEDED, (created.reason, created.stderr)
    assert "Converged. vote: 1/1 tasks running" in created.converged
    assert "a read-only file system with 16M of scratch space in `/tmp`" in created.note
    host = sandbox_of(client).docker_host
    container = spec_of(host, "vote")["ContainerSpec"]
    assert container["ReadOnly"] is True
    assert container["Mounts"] == [
        {"Type": "tmpfs", "Target": "/tmp", "TmpfsOptions": {"SizeBytes": 16 * MiB}}
    ]

    movies = run(client, lines["movies"])
    assert movies.status == Run.Status.SUCCEEDED, (movies.reason, movies.converged)
    running = read_swarm(host).running_tasks("vote")
    assert {t.image for t in running} == {"instavote/vote:movies"}
    assert spec_of(host, "vote")["ContainerSpec"]["ReadOnly"] is True

    box = sandbox_of(client)
    before = disk_use(box)
    fill = run(client, lines["fill"])
    assert fill.status == Run.Status.SUCCEEDED, (fill.reason, fill.converged)
    logs = task_logs(host, "fill", until="filled", count=2, timeout=60)
    assert logs.count("dd: can't open '/fill': Read-only file system") == 2, logs
    assert logs.count("dd: error writing '/tmp/fill': No space left on device") == 2, logs
    assert logs.count(f" {16 * MiB} ") == 2, logs  # `ls -l`: /tmp/fill stopped at 16 MiB
    grown = disk_use(box) - before
    assert grown < 20 * MiB, f"the sandbox grew by {grown / MiB:.0f} MB on the host's disk"
    assert len(read_swarm(host).running_tasks("fill")) == 2  # within the memory limit, alive

    for name, said in [
        ("writable again", "`--read-only=false` is not allowed"),
        ("tmp removed", "the scratch space at `/tmp` that the sandbox adds itself stays"),
        ("mount added", "Mounts are not allowed in the sandbox"),
    ]:
        refused = run(client, lines[name])
        assert refused.status == Run.Status.REFUSED, (name, refused.status)
        assert said in refused.reason, refused.reason
    assert spec_of(host, "vote")["ContainerSpec"]["ReadOnly"] is True


def test_a_template_cannot_fill_the_cli_s_memory(lines, sandboxes, settings):
    client = Client()
    assert run(client, lines["create"]).status == Run.Status.SUCCEEDED
    refused = run(client, lines["huge"])
    assert refused.status == Run.Status.REFUSED
    assert "`range` may walk only a list or map of the data" in refused.reason

    # What the policy would refuse, run as if it had slipped through: the limit stops it.
    host = sandbox_of(client).docker_host
    result = run_docker(["docker", "service", "ls", "--format", HUGE], docker_host=host, timeout=30)
    assert result.exit_code == 2, result.stderr
    assert result.out_of_memory and not result.timed_out
    assert result.stderr.endswith(
        f"[The docker command ran out of memory (it may use at most "
        f"{settings.RUNNER_CLI_MEMORY_MB} MB here), so it was stopped; the Go runtime's stack "
        "dump that followed is left out.]\n"
    )
    assert "goroutine" not in result.stderr
    assert result.duration < 10, result.duration
    listed = run(client, lines["ls"])  # the sandbox carries on as before
    assert listed.status == Run.Status.SUCCEEDED and "vote" in listed.stdout
