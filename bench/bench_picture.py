#!/usr/bin/env python
"""Server-side rendering of the swarm picture: 3 nodes and 30 tasks, against baselines.

    python bench/bench_picture.py [--nodes 3] [--tasks 30] [--history 12] [--repeat 300]

It builds the picture a worker would have stored (``picture_to_data``, through JSON), then
times what the polled fragment does per request once its rows are loaded: decode the stored
picture, build the view data (``swarm_view``, progress) and render ``runner/_swarm.html#swarm``
with its controls. Two baselines are timed in the same run: ``json.dumps`` of the same stored
data (what a client-side chart would be sent) and rendering a trivial template through the same
engine (the fixed cost of any render). It prints median and p95 per render, their ratios, and
the fragment's size, raw and gzipped. Goal: the picture renders in under 50 ms (p95).

It needs no database and no engine.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from _util import percentile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notes_site.test_settings")

GOAL_P95_MS = 50.0


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    fn()  # warm the template cache and imports
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=30)
    parser.add_argument("--history", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()

    import django

    django.setup()
    from django.template import engines
    from django.template.loader import get_template
    from django.test import RequestFactory
    from django.utils import timezone

    from runner.picture import (
        Progress,
        picture_from_data,
        picture_to_data,
        progress_of,
        swarm_view,
    )
    from tests.runner.swarm_fixtures import big_picture

    picture = big_picture(nodes=args.nodes, tasks=args.tasks, history=args.history)
    now = timezone.now()
    stored = json.loads(json.dumps(picture_to_data(picture, at=now)))
    progress = json.loads(json.dumps(progress_of(picture, "vote", kind="update", at=now).to_data()))
    request = RequestFactory().get("/swarm/?block=1", HTTP_HX_REQUEST="true")
    request.session = {}
    template = get_template("runner/_swarm.html#swarm")
    trivial = engines["django"].from_string("<p>{{ sandbox }} {{ block }}</p>")

    class Box:  # what the view passes as the sandbox
        name, nodes, status = "sbx-bench", args.nodes, "ready"

    def render_picture() -> str:
        decoded, at = picture_from_data(stored)
        context = {
            "block": 1,
            "sandbox": Box,
            "view": swarm_view(decoded, at=at),
            "in_flight": [],
            "progress": [Progress.from_data(progress, now=now)],
            "live": True,
            "can_run": True,
            "can_control": True,
            "node_choices": range(1, 4),
            "nodes": args.nodes,
        }
        return template.render(context, request)

    def render_trivial() -> str:
        return trivial.render({"sandbox": Box.name, "block": 1}, request)

    def dump_json() -> str:
        return json.dumps(stored)

    fragment = render_picture().encode()
    assert fragment.count(b'<li class="task ') == args.tasks, "the picture lost tasks"
    results = {
        "picture": timed(render_picture, args.repeat),
        "json.dumps": timed(dump_json, args.repeat),
        "trivial template": timed(render_trivial, args.repeat),
    }
    print(
        f"Swarm picture: {args.nodes} nodes, {args.tasks} running tasks, "
        f"{args.history} shut-down tasks; {args.repeat} renders each"
    )
    picture_median = statistics.median(results["picture"])
    for name, samples in results.items():
        median = statistics.median(samples)
        ratio = picture_median / median if median else float("inf")
        print(
            f"  {name:<17} min {min(samples):7.3f} ms  median {median:7.3f} ms"
            f"  p95 {percentile(samples, 95):7.3f} ms"
            + ("" if name == "picture" else f"  (picture is {ratio:5.1f}x this)")
        )
    print(
        f"  fragment: {len(fragment):,} bytes ({len(gzip.compress(fragment)):,} gzipped); "
        f"stored picture {len(json.dumps(stored)):,} bytes of JSON"
    )
    worst = percentile(results["picture"], 95)
    verdict = "OK" if worst < GOAL_P95_MS else "SLOWER THAN THE GOAL"
    print(f"  goal: p95 under {GOAL_P95_MS:.0f} ms: {verdict} ({worst:.2f} ms)")
    return 0 if worst < GOAL_P95_MS else 1


if __name__ == "__main__":
    sys.exit(main())
