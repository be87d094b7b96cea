#!/usr/bin/env python3
"""Measure sandbox engines on this machine: start and stop times, CLI latency, memory.

Run as root from the project root: `.venv/bin/python scripts/measure_sandboxes.py`.
Everything it starts lives under a temporary base directory and is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runner.execute import run_docker
from runner.images import build_demo_images
from runner.sandbox import (
    SandboxEngine,
    engine_available,
    reap_sandboxes,
    start_sandbox,
    stop_sandbox,
)
from runner.swarm import read_swarm


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    started = time.monotonic()
    value = fn()
    return time.monotonic() - started, value


def memory(engine: SandboxEngine) -> tuple[float, float]:
    """(RSS summed, PSS summed) in MB over the sandbox's processes."""
    pss = 0
    for pid in engine.processes():
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
        except OSError:
            pass
    return engine.resident_memory() / 1e6, pss / 1e6


def wait_running(engine: SandboxEngine, count: int) -> None:
    deadline = time.monotonic() + 60
    while len(read_swarm(engine.docker_host).running_tasks()) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"{count} tasks did not start")
        time.sleep(0.2)


def cli_latency(engine: SandboxEngine, cli: str, runs: int) -> float:
    env = {
        "PATH": os.environ["PATH"],
        "DOCKER_HOST": engine.docker_host,
        "HOME": tempfile.gettempdir(),
    }
    samples = []
    for _ in range(runs):
        started = time.monotonic()
        subprocess.run([cli, "service", "ls"], env=env, capture_output=True, check=True)
        samples.append(time.monotonic() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="starts per configuration")
    args = parser.parse_args()

    base_dir = Path(tempfile.mkdtemp(prefix="cn-measure-", dir="/tmp"))
    base_dir.chmod(0o711)
    ok, why = engine_available(base_dir=base_dir)
    if not ok:
        raise SystemExit(why)
    try:
        seconds, images = timed(lambda: build_demo_images(out_dir=base_dir / ".images"))
        print(f"build stand-in images (cold): {seconds:.3f} s")
        assert isinstance(images, list)

        for nodes in (1, 3):
            starts, stops, graceful = [], [], []
            for i in range(args.repeat):
                seconds, engine = timed(
                    lambda n=nodes: start_sandbox(base_dir=base_dir, nodes=n, images=images)
                )
                assert isinstance(engine, SandboxEngine)
                starts.append(seconds)
                if i == 0:
                    time.sleep(2)  # let the engines settle before measuring them idle
                    rss, pss = memory(engine)
                    print(f"{nodes} node(s) idle: RSS {rss:.0f} MB, PSS {pss:.0f} MB")
                    for cli in ("/usr/local/bin/docker", "/usr/bin/docker"):
                        if Path(cli).exists():
                            latency = cli_latency(engine, cli, 20)
                            print(f"  `{cli} service ls`: {latency * 1000:.0f} ms (median)")
                    samples = [
                        run_docker(
                            ["docker", "service", "ls"], docker_host=engine.docker_host
                        ).duration
                        for _ in range(20)
                    ]
                    print(f"  run_docker(service ls): {statistics.median(samples) * 1000:.0f} ms")
                    run_docker(
                        [
                            *("docker", "service", "create", "--detach", "--name", "vote"),
                            *("--replicas", "6", "instavote/vote"),
                        ],
                        docker_host=engine.docker_host,
                    )
                    wait_running(engine, 6)
                    rss, pss = memory(engine)
                    print(f"  with 6 running tasks: RSS {rss:.0f} MB, PSS {pss:.0f} MB")
                    seconds, _ = timed(lambda e=engine: stop_sandbox(e, base_dir=base_dir, grace=5))
                    graceful.append(seconds)
                    continue
                run_docker(
                    [
                        "docker",
                        "service",
                        "create",
                        "--detach",
                        "--replicas",
                        "3",
                        "instavote/vote",
                    ],
                    docker_host=engine.docker_host,
                )
                wait_running(engine, 3)
                seconds, _ = timed(lambda e=engine: stop_sandbox(e, base_dir=base_dir))
                stops.append(seconds)
            print(
                f"{nodes} node(s): start median {statistics.median(starts):.2f} s "
                f"(min {min(starts):.2f}, max {max(starts):.2f}); "
                f"stop (kill) median {statistics.median(stops or [0]):.2f} s; "
                f"stop (grace=5, services removed first) {graceful[0]:.2f} s"
            )
    finally:
        reap_sandboxes(base_dir=base_dir)
        shutil.rmtree(base_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
