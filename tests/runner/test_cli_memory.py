"""The docker CLI's memory limit: set before it runs, and a plain message when it is reached.

F1 of the security review: a `--format` template made the CLI hold 13 GB before the timeout.
The fake-CLI tests check the limit and the message; one test runs the real docker CLI (no engine
needed: `docker context ls` formats the local contexts) and shows it stopped within seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from runner.execute import run_docker

HOST = "unix:///nonexistent/docker.sock"
MiB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]
GO_OUT_OF_MEMORY = """\
Warning: something the CLI said first
fatal error: runtime: out of memory

runtime stack:
runtime.throw({0x22846f?, 0x460767?})
\t/usr/local/go/src/runtime/panic.go:1101 +0x4a fp=0xc00006d590 sp=0xc00006d560 pc=0x49d04a

goroutine 1 gp=0xc000002380 m=nil [runnable]:
text/template.(*state).walkRange-range1({0x1137a20?, 0xc000218c68?, 0x82?})
\t/usr/local/go/src/text/template/exec.go:405 +0x8a fp=0xc000052980 sp=0xc000052978 pc=0x6406ea
"""


def _data_limit(stdout: str) -> int:
    line = next(line for line in stdout.splitlines() if line.startswith("Max data size"))
    return int(line.split()[3])


def test_it_runs_the_cli_under_the_data_limit_from_the_settings(fake_docker, settings) -> None:
    fake_docker("#!/bin/sh\ncat /proc/self/limits\n")

    assert _data_limit(run_docker(["docker", "ps"], docker_host=HOST).stdout) == 256 * MiB
    settings.RUNNER_CLI_MEMORY_MB = 64
    assert _data_limit(run_docker(["docker", "ps"], docker_host=HOST).stdout) == 64 * MiB
    given = run_docker(["docker", "ps"], docker_host=HOST, memory_mb=100)
    assert _data_limit(given.stdout) == 100 * MiB
    assert given.argv == ("docker", "ps")  # the argv as asked, for the record


def test_it_explains_a_missing_prlimit(fake_docker, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_docker("#!/bin/sh\necho ran\n")
    monkeypatch.setenv("PATH", str(fake.parent))  # docker is there, prlimit is not

    result = run_docker(["docker", "ps"], docker_host=HOST)

    assert result.exit_code == 127
    assert result.stdout == ""
    assert result.stderr == (
        "prlimit: command not found (install util-linux on the worker: it bounds the memory of "
        "the docker CLI)\n"
    )


def test_it_says_plainly_when_the_cli_runs_out_of_memory(fake_docker, tmp_path: Path) -> None:
    dump = tmp_path / "dump.txt"
    dump.write_text(GO_OUT_OF_MEMORY)
    fake_docker(f"#!/bin/sh\necho partial\ncat {dump} >&2\nexit 2\n")

    result = run_docker(["docker", "service", "ls"], docker_host=HOST, memory_mb=128)

    assert result.exit_code == 2
    assert result.out_of_memory
    assert not result.timed_out
    assert result.stdout == "partial\n"
    assert result.stderr == (
        "Warning: something the CLI said first\n"
        "fatal error: runtime: out of memory\n"
        "[The docker command ran out of memory (it may use at most 128 MB here), so it was "
        "stopped; the Go runtime's stack dump that followed is left out.]\n"
    )


def test_a_cut_off_stack_dump_does_not_count_as_cut_off_output(fake_docker, tmp_path) -> None:
    dump = tmp_path / "dump.txt"
    dump.write_text(GO_OUT_OF_MEMORY + "goroutine 2 [sleep]:\n" * 500)
    fake_docker(f"#!/bin/sh\ncat {dump} >&2\nexit 2\n")

    result = run_docker(["docker", "node", "ls"], docker_host=HOST, max_output=2000)

    assert result.out_of_memory
    assert not result.truncated  # only the stack dump was cut, and it is left out anyway
    assert "goroutine" not in result.stderr and "output truncated" not in result.stderr


@pytest.mark.parametrize(
    ("script", "code"),
    [
        # Another Go fatal error: not about memory.
        ("echo 'fatal error: concurrent map writes' >&2; exit 2", 2),
        # A service's own log line, passed on by `docker service logs` (which exits 0).
        ("echo 'fatal error: runtime: out of memory' >&2; exit 0", 0),
        # The words without the Go runtime's exit status.
        ("echo 'fatal error: runtime: out of memory' >&2; exit 1", 1),
    ],
)
def test_it_leaves_other_errors_as_they_are(fake_docker, script: str, code: int) -> None:
    fake_docker(f"#!/bin/sh\n{script}\n")

    result = run_docker(["docker", "service", "logs", "vote"], docker_host=HOST)

    assert result.exit_code == code
    assert not result.out_of_memory
    assert "ran out of memory" not in result.stderr


_MEASURE = textwrap.dedent(
    """
    import json, resource, sys
    from runner.execute import run_docker

    result = run_docker(
        ["docker", "context", "ls", "--format", sys.argv[1]],
        docker_host="unix:///nonexistent/docker.sock",
        memory_mb=int(sys.argv[2]),
        timeout=30,
    )
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(json.dumps({**result.__dict__, "peak": peak}))
    """
)


@pytest.mark.skipif(not shutil.which("docker"), reason="the docker CLI is not installed")
def test_the_real_cli_is_stopped_at_its_limit_within_seconds() -> None:
    """Without the limit this template grows the CLI by gigabytes until the timeout (13 GB)."""
    template = "{{range 999}}{{range 999}}{{range 999}}xxxxx{{end}}{{end}}{{end}}"
    # A process of its own, so that its children's peak memory is the CLI's alone.
    measured = subprocess.run(
        [sys.executable, "-c", _MEASURE, template, "256"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    result = json.loads(measured.stdout)

    assert result["exit_code"] == 2, result
    assert result["out_of_memory"]
    assert "ran out of memory (it may use at most 256 MB here)" in result["stderr"]
    assert "goroutine" not in result["stderr"]
    assert result["duration"] < 10
    # The limit counts data only; the resident size adds the CLI's code (about 40 MB).
    assert result["peak"] < 384 * MiB, result["peak"] / MiB


@pytest.mark.django_db
def test_a_run_that_runs_out_of_memory_says_so_in_its_reason(fake_docker, tmp_path, settings):
    from runner import runs
    from runner.models import Run, Sandbox
    from tests.factories import lone_line

    settings.RUNNER_MODE, settings.RUNNER_BASE_DIR = "sandbox", tmp_path
    settings.RUNNER_CLI_MEMORY_MB = 96
    dump = tmp_path / "dump.txt"
    dump.write_text(GO_OUT_OF_MEMORY)
    fake_docker(f"#!/bin/sh\ncat {dump} >&2\nexit 2\n")
    line = lone_line("docker service ls --format '{{.Name}}'")
    visitor = "e" * 24
    box = Sandbox.objects.create(
        name="sbx-oom", visitor=visitor, status=Sandbox.Status.READY, docker_host=HOST
    )
    decision = runs.decide(line.command, visitor)
    queued = Run.objects.create(
        snippet_line=line, visitor=visitor, line=line.command, argv=list(decision.argv)
    )
    runs.execute_run(runs._claim_queued(queued.pk, box), box)
    run = Run.objects.get(pk=queued.pk)
    assert run.status == Run.Status.FAILED and run.exit_code == 2
    assert run.reason == (
        "The docker command ran out of memory (it may use at most 96 MB here) and was stopped: "
        "its output would be too large. Ask for less, e.g. a --format template that repeats less."
    )
    assert "goroutine" not in run.stderr
