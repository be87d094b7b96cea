#!/usr/bin/env python
"""Benchmark: the runner's overhead, and the first run with a warm pool versus a cold start.

Needs root and Debian's docker.io (real sandboxes). One run of this script measures, in the same
sandbox and the same minute:

* direct: ``docker service ls`` through runner.execute.run_docker against the sandbox's socket;
* through the runner: POST /run/line/<id>/ (the web view, in this process) → the database task
  queue → a real ``manage.py run_worker`` process → the time the worker stamps on the run as it
  saves it finished (``finished_at``).

Both run as deployed: DEBUG off, and the worker's default housekeeping (every 30 s).

Goal (issue #3): the runner at most 1.5x the direct call, and under 150 ms added at the median.
Then a new visitor's first run with RUNNER_POOL_SIZE=1 (a warm sandbox waiting) against
RUNNER_POOL_SIZE=0 (a sandbox started for the run).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from _util import percentile

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 30


def setup(tmp: Path, *, pool: int) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "notes_site.settings",
        # As deployed: DEBUG logs every query (on SQLite with one more query to quote its
        # parameters), which no production site pays. Plain HTTP in this process, as behind a
        # TLS proxy; anonymous visitors may run, as on the demo site.
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key-not-used-for-anything-0123456789",
        "SECURE_SSL_REDIRECT": "false",
        "RUNNER_ANONYMOUS": "true",
        "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}",
        "CONFNOTES_VAR_DIR": str(tmp / "var"),
        "RUNNER_BASE_DIR": str(tmp / "sbx"),
        "RUNNER_IMAGES_DIR": str(tmp / "images"),
        "RUNNER_POOL_SIZE": str(pool),
        "RUNNER_RATE_PER_MINUTE": "100000",
        # Its visitors all come from this process's one address.
        "RUNNER_SANDBOXES_PER_ADDRESS": "100",
        "RUNNER_USERNS_REMAP": "false",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)  # this process is the web side of the measurement
    return env


def start_worker(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_worker"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=open(env["CONFNOTES_VAR_DIR"] + "/worker.log", "ab"),
    )


def stop_worker(worker: subprocess.Popen) -> None:
    if worker.poll() is not None:
        return
    os.killpg(worker.pid, signal.SIGTERM)
    try:
        worker.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    if os.geteuid() != 0 or not shutil.which("dockerd"):
        print("bench_runner needs root and dockerd (apt-get install docker.io): skipped.")
        return 0
    # A SIGTERM (e.g. from `timeout`) must still run the clean-up below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp = Path(tempfile.mkdtemp(prefix="cnbr-", dir="/tmp"))
    tmp.chmod(0o711)
    env = setup(tmp, pool=0)
    sys.path.insert(0, str(ROOT))
    # No collectstatic here: the run cell needs no static files.
    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from runner.execute import run_docker
    from runner.models import Run, RunnerStatus, Sandbox
    from runner.sandbox import reap_sandboxes
    from talks.models import SnippetLine

    call_command("migrate", verbosity=0)
    call_command("load_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    line = SnippetLine.objects.get(command="docker service ls")
    worker = start_worker(env)
    try:
        while not RunnerStatus.objects.filter(available=True).exists():
            time.sleep(0.05)

        def press_run(client: Client) -> float:
            """Seconds from the POST to the moment the worker stamped the run finished.

            The run's own ``finished_at`` (same clock, same machine) marks the end, so the
            waiting below, slow on purpose, takes no CPU from the run it measures.
            """
            started = time.time()
            response = client.post(f"/run/line/{line.pk}/", HTTP_HX_REQUEST="true")
            assert response.status_code == 200, response.content
            run = Run.objects.filter(snippet_line=line).latest("id")
            while True:
                run.refresh_from_db()
                if run.status not in Run.IN_FLIGHT:
                    break
                time.sleep(0.02)
            assert run.status == Run.Status.SUCCEEDED, run.reason
            stages["web, until the run is recorded"].append(run.created_at.timestamp() - started)
            stages["queued, until a worker claims it"].append(
                (run.started_at - run.created_at).total_seconds()
            )
            stages["claimed, until finished"].append(
                (run.finished_at - run.started_at).total_seconds()
            )
            return run.finished_at.timestamp() - started

        stages: dict[str, list[float]] = {
            "web, until the run is recorded": [],
            "queued, until a worker claims it": [],
            "claimed, until finished": [],
        }
        visitor = Client()
        cold_first = press_run(visitor)  # starts the visitor's sandbox (no pool)
        box = Sandbox.objects.get(status=Sandbox.Status.READY)
        for values in stages.values():
            values.clear()
        direct, through = [], []
        for _ in range(args.rounds):  # interleaved, so load on the machine hits both alike
            started = time.perf_counter()
            result = run_docker(["docker", "service", "ls"], docker_host=box.docker_host)
            assert result.ok, result.stderr
            direct.append(time.perf_counter() - started)
            through.append(press_run(visitor))
        stage_medians = {name: statistics.median(values) for name, values in stages.items()}

        # The first run of new visitors: a warm pool versus a sandbox started on demand.
        colds = [cold_first]
        for _ in range(2):
            colds.append(press_run(Client()))
        stop_worker(worker)
        env = setup(tmp, pool=1)
        from django.conf import settings

        settings.RUNNER_POOL_SIZE = 1
        worker = start_worker(env)
        warms = []
        for _ in range(3):
            deadline = time.monotonic() + 60
            while not Sandbox.objects.filter(visitor="", status=Sandbox.Status.READY).exists():
                assert time.monotonic() < deadline, "the warm pool never filled"
                time.sleep(0.05)
            warms.append(press_run(Client()))
    except BaseException:
        print((tmp / "var" / "worker.log").read_text()[-3000:])
        raise
    finally:
        stop_worker(worker)
        reap_sandboxes(base_dir=tmp / "sbx")
        shutil.rmtree(tmp, ignore_errors=True)

    d_med, t_med = statistics.median(direct), statistics.median(through)

    def ms(values: list[float], pct: float = 50) -> str:
        return f"{percentile(values, pct) * 1000:7.1f} ms"

    print(f"Runner overhead, `docker service ls`, {args.rounds} rounds interleaved")
    print(f"  direct run_docker      median {ms(direct)}  p95 {ms(direct, 95)}")
    print(f"  POST, queue, worker    median {ms(through)}  p95 {ms(through, 95)}")
    print(f"  ratio {t_med / d_med:.2f}x (goal <= 1.5x)")
    print(f"  added {(t_med - d_med) * 1000:.0f} ms at the median (goal < 150 ms)")
    for name, value in stage_medians.items():  # each stage's own median: they need not add up
        print(f"    {name:<34} median {value * 1000:7.1f} ms")
    print(
        "First run of a new visitor (each: "
        + ", ".join(f"{c * 1000:.0f}" for c in colds)
        + " ms cold; "
        + ", ".join(f"{w * 1000:.0f}" for w in warms)
        + " ms warm)"
    )
    print(f"  cold start (no pool)   median {ms(colds)}")
    print(f"  warm pool of 1         median {ms(warms)}")
    print(f"  warm / cold            {statistics.median(warms) / statistics.median(colds):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
