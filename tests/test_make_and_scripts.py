"""The command lines around the project: scripts/sandboxes.py, scripts/run-dev,
bench/run_all.py and the Makefile, each run in a process of its own as a person would run them.
Nothing here starts a sandbox or a benchmark: sandboxes.py gets an empty private --base-dir,
run-dev a stand-in manage.py, run_all.py stand-in benchmarks."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAKE = shutil.which("make")


def run(argv: list[str], **options) -> subprocess.CompletedProcess[str]:
    options.setdefault("cwd", ROOT)
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, **options)


# -- scripts/sandboxes.py ------------------------------------------------------------------------


def sandboxes(*argv: str) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "scripts/sandboxes.py", *argv])


@pytest.fixture
def base_dir(tmp_path) -> Path:
    """An empty private base directory."""
    path = tmp_path / "sbx"
    path.mkdir()
    return path


def leftover(base_dir: Path, name: str) -> Path:
    """What a sandbox killed before it got far leaves: its directory and state file, no
    process, namespace or cgroup."""
    root = base_dir / name
    root.mkdir()
    (root / "state.json").write_text(json.dumps({"name": name, "phase": "starting"}))
    return root


def test_sandboxes_without_arguments_asks_for_a_command_only():
    done = sandboxes()
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        "sandboxes.py: error: the following arguments are required: COMMAND"
    )


def test_sandboxes_help_lists_every_command():
    done = sandboxes("--help")
    assert done.returncode == 0, done.stderr
    for command in ("check", "list", "start", "stop", "reap", "images"):
        assert re.search(rf"^    {command} +\S", done.stdout, re.MULTILINE), command
        assert f"scripts/sandboxes.py {command} " in done.stdout


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        ("check", ["--base-dir DIR", "-v, --verbose"]),
        ("list", ["--base-dir DIR"]),
        ("start", ["--base-dir DIR", "--nodes 1-9", "--images DIR", "(default: 1)"]),
        ("stop", ["--base-dir DIR", "NAME [NAME ...]"]),
        ("reap", ["--base-dir DIR", "--keep NAME [NAME ...]"]),
        ("images", ["[DIR]", "(default: var/images)"]),
    ],
)
def test_sandboxes_help_of_each_command(command, shown):
    done = sandboxes(command, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: sandboxes.py {command} ")
    for text in shown:
        assert text in done.stdout, text
    if command == "images":
        assert "--base-dir" not in done.stdout  # it makes no sandbox


@pytest.mark.parametrize("before", [False, True], ids=["documented", "base-dir-first"])
def test_sandboxes_stop_by_name_as_documented(base_dir, before):
    root = leftover(base_dir, "demo")
    argv = ["stop", "--base-dir", str(base_dir), "demo"]
    if before:
        argv = ["--base-dir", str(base_dir), "stop", "demo"]
    done = sandboxes(*argv)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "stopped demo\n"
    assert not root.exists()


def test_sandboxes_stop_without_a_name_is_a_usage_error(base_dir):
    done = sandboxes("stop", "--base-dir", str(base_dir))
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        "sandboxes.py stop: error: the following arguments are required: NAME"
    )


def test_sandboxes_stop_of_an_unknown_name_says_which_exist_and_stops_none(base_dir):
    root = leftover(base_dir, "demo")
    done = sandboxes("stop", "--base-dir", str(base_dir), "demo", "other")
    assert done.returncode == 1
    assert done.stderr == (
        f"sandboxes.py stop: no sandbox called other in {base_dir} (there: demo); "
        "nothing stopped.\n"
    )
    assert root.exists()
    done = sandboxes("stop", "--base-dir", str(base_dir / "empty"), "demo")
    assert done.returncode == 1
    assert "(there: none)" in done.stderr


def test_sandboxes_stop_refuses_an_invalid_name(base_dir):
    done = sandboxes("stop", "--base-dir", str(base_dir), "../etc")
    assert done.returncode == 2
    assert "argument NAME: invalid sandbox name '../etc'" in done.stderr


@pytest.mark.parametrize("nodes", ["0", "10", "-1", "three"])
def test_sandboxes_start_with_nodes_out_of_range_is_a_usage_error(base_dir, nodes):
    target = base_dir / "never"
    done = sandboxes("start", "--base-dir", str(target), "--nodes", nodes)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1] == (
        "sandboxes.py start: error: argument --nodes: the number of nodes must be between "
        f"1 and 9, not '{nodes}'"
    )
    assert not target.exists()  # refused before anything was made


def test_sandboxes_list_and_reap_on_an_empty_base_dir(base_dir):
    done = sandboxes("list", "--base-dir", str(base_dir))
    assert (done.returncode, done.stdout) == (0, "")
    done = sandboxes("reap", "--base-dir", str(base_dir), "--keep", "demo")
    assert (done.returncode, done.stdout) == (0, ""), done.stderr


# -- scripts/run-dev (make run) -------------------------------------------------------------------

# Stands in for "$PY manage.py ...": the server and the workers wait until a signal ends them,
# each writing down what it was and how it ended; stop_sandboxes writes down that it ran.
STAND_IN_MANAGE = """#!/usr/bin/env python3
import signal, sys, time
log = open(sys.argv[0] + ".log", "a", buffering=1)
command = sys.argv[2]
if command == "stop_sandboxes":
    log.write("stop_sandboxes\\n")
    sys.exit(0)
ended = False
def end(number, frame):  # once: Ctrl+C's INT and run-dev's TERM may both arrive
    global ended
    if ended:
        return
    ended = True
    log.write(f"{command} ended by {signal.Signals(number).name}\\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, end)
signal.signal(signal.SIGINT, end)
log.write(f"{command} started\\n")
while True:
    time.sleep(0.05)
"""


@pytest.fixture
def run_dev(tmp_path):
    """scripts/run-dev with the stand-in manage.py, in a process group of its own (as a
    terminal runs it); yields the process and the stand-in's log."""
    stand_in = tmp_path / "python"
    stand_in.write_text(STAND_IN_MANAGE)
    stand_in.chmod(0o755)
    log = tmp_path / "python.log"
    env = os.environ | {"PY": str(stand_in), "PORT": "8765", "RUNNER_WORKERS": "2"}
    process = subprocess.Popen(
        ["bash", "scripts/run-dev"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while started(log) < 3:  # the server and two workers
            assert process.poll() is None, "run-dev ended before starting everything"
            assert time.monotonic() < deadline, f"{started(log)} of 3 started"
            time.sleep(0.05)
        yield process, log
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def started(log: Path) -> int:
    lines = log.read_text().splitlines() if log.exists() else []
    return sum(line.endswith(" started") for line in lines)


def ended(lines: list[str]) -> list[str]:
    """What ended, by name, in order of name."""
    return sorted(line.split()[0] for line in lines if " ended by " in line)


@pytest.mark.parametrize(
    "how",
    [
        pytest.param(lambda p: os.killpg(p.pid, signal.SIGINT), id="ctrl-c-in-its-terminal"),
        pytest.param(lambda p: p.send_signal(signal.SIGTERM), id="term-to-the-script"),
    ],
)
def test_run_dev_stops_server_workers_and_then_the_sandboxes(run_dev, how):
    process, log = run_dev
    how(process)
    process.wait(timeout=30)
    lines = log.read_text().splitlines()
    assert ended(lines) == ["run_worker", "run_worker", "runserver"]
    assert lines[-1] == "stop_sandboxes", lines  # after everything it started has ended
    assert lines.count("stop_sandboxes") == 1


def test_run_dev_stops_the_workers_and_sandboxes_when_the_server_ends(run_dev):
    process, log = run_dev
    server = subprocess.run(
        ["pgrep", "-f", "-s", str(process.pid), "runserver"], capture_output=True, text=True
    )
    os.kill(int(server.stdout.split()[0]), signal.SIGTERM)
    process.wait(timeout=30)
    lines = log.read_text().splitlines()
    assert ended(lines) == ["run_worker", "run_worker", "runserver"]
    assert lines[-1] == "stop_sandboxes"


# -- bench/run_all.py ----------------------------------------------------------------------------


def test_run_all_help_lists_every_benchmark():
    done = run([sys.executable, "bench/run_all.py", "--help"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("usage: run_all.py [-h] [NAME ...]")
    for script in sorted((ROOT / "bench").glob("bench_*.py")):
        name = script.stem.removeprefix("bench_")
        assert re.search(rf"^  {name} +\S", done.stdout, re.MULTILINE), name


@pytest.fixture
def stand_in_bench(tmp_path) -> Path:
    """run_all.py beside two stand-in benchmarks that only say that they ran."""
    bench = tmp_path / "bench"
    bench.mkdir()
    shutil.copy(ROOT / "bench" / "run_all.py", bench)
    for name in ("alpha", "beta"):
        (bench / f"bench_{name}.py").write_text(
            f'"""Stand-in {name}."""\nimport sys\nprint("ran {name}", sys.argv[1:])\n'
        )
    return bench / "run_all.py"


def test_run_all_runs_the_benchmarks_named_or_all(stand_in_bench):
    done = run([sys.executable, str(stand_in_bench), "bench_beta.py"])
    assert done.returncode == 0, done.stderr
    assert "ran beta []" in done.stdout and "ran alpha" not in done.stdout
    done = run([sys.executable, str(stand_in_bench)])
    assert done.returncode == 0, done.stderr
    assert "ran alpha []" in done.stdout and "ran beta []" in done.stdout
    assert "All 2 benchmarks ran." in done.stdout


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["alpha", "gamma"], "argument NAME: no benchmark called 'gamma'; known: alpha, beta"),
        (["alpha", "--highlights", "2000"], "unrecognized arguments: --highlights 2000"),
        (["--help-me"], "unrecognized arguments: --help-me"),
    ],
)
def test_run_all_refuses_unknown_names_and_options_and_runs_nothing(stand_in_bench, argv, error):
    done = run([sys.executable, str(stand_in_bench), *argv])
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == f"run_all.py: error: {error}"
    assert "ran" not in done.stdout


# -- Makefile ------------------------------------------------------------------------------------

needs_make = pytest.mark.skipif(MAKE is None, reason="make is not installed")


def phony_targets() -> list[str]:
    text = (ROOT / "Makefile").read_text()
    return re.search(r"^\.PHONY:(.*)$", text, re.MULTILINE)[1].split()


@needs_make
def test_make_help_lists_every_target_once():
    done = run([MAKE, "--no-print-directory", "help"])
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    listed = [re.match(r"make (\S+) +- \S", line)[1] for line in lines]
    assert sorted(listed) == sorted(phony_targets())
    targets = re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert set(targets) <= set(listed)


def make_test(tmp_path: Path, target: str, path: str) -> subprocess.CompletedProcess[str]:
    """`make TARGET` with lint and the virtualenv taken as done, pytest replaced by an echo,
    axe-core not yet installed (at a path of its own) and PATH as given."""
    axe = tmp_path / "axe" / "axe.min.js"
    env = {"PATH": path, "HOME": str(tmp_path), "AXE_PATH": str(axe)}
    argv = [MAKE, "--no-print-directory", "-o", "venv", "-o", "lint", target]
    return run([*argv, "PYTEST=/bin/echo pytest ran", f"AXE={axe}"], env=env)


@needs_make
@pytest.mark.parametrize("target", ["test", "test-browser"])
def test_make_test_without_npm_says_so_in_one_line_and_goes_on(tmp_path, target):
    no_npm = tmp_path / "bin"
    no_npm.mkdir()
    done = make_test(tmp_path, target, str(no_npm))
    assert done.returncode == 0, done.stdout + done.stderr
    notes = [line for line in done.stdout.splitlines() if "nodejs and npm" in line]
    assert notes == [
        "Note: the accessibility checks need nodejs and npm (apt-get install nodejs npm); "
        "without them they are skipped (and fail in CI)."
    ]
    assert "pytest ran" in done.stdout
    assert "npm ci" not in done.stdout


@needs_make
def test_make_test_with_npm_installs_axe_core_first(tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    npm = fake / "npm"
    npm.write_text(
        '#!/bin/sh\necho "npm $*" >> "$HOME/npm.log"\n'
        'mkdir -p "$(dirname "$AXE_PATH")" && : > "$AXE_PATH"\n'
    )
    npm.chmod(0o755)
    done = make_test(tmp_path, "test", f"{fake}{os.pathsep}/usr/bin{os.pathsep}/bin")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "npm.log").read_text() == "npm ci --no-audit --no-fund --loglevel=error\n"
    assert "nodejs and npm" not in done.stdout
    assert done.stdout.index("npm ci") < done.stdout.index("pytest ran")
