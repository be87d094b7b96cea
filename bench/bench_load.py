#!/usr/bin/env python
"""Load: readers browsing and searching while visitors run snippets in their own sandboxes.

    sudo .venv/bin/python bench/bench_load.py             # 50 readers, 10 visitors, 60 s
    sudo .venv/bin/python bench/bench_load.py --seconds 20 --readers 10 --visitors 3 --json

A production-like site (DEBUG off, a secret key, SQLite in a temporary folder, hashed static
files; see bench/_util.py) with anonymous running on is served by gunicorn on 127.0.0.1, with
``manage.py run_worker`` processes beside it making real sandboxes (root, dockerd, the production
default --userns-remap) under a short folder in /tmp; the workers run under ``nice -n 10`` as in
README's Production section (``--nice 0`` to compare). For ``--seconds``:

- each reader loops over the pages a person reads (home, conference, day, talk, tags, a tag,
  and search when /search/ exists), pausing ``--think`` seconds on average between pages
  (2 s by default: 50 readers then ask for up to 25 pages a second);
- each visitor, from its own loopback address (127.0.0.N, so the per-address limit is per
  visitor as it would be on the internet) and with its own session, presses Run on the seed's
  lines in order (create, ls, tasks, scale, update, rolling update), then on a line the bench
  adds to the block, ``docker service rm vote``, and starts over; after each Run it polls the
  run's cell once a second, as htmx does, until it answers 286.

Then no new run starts, runs in flight are given ``--drain`` seconds to finish, and everything
is stopped and removed: gunicorn, the workers, every sandbox, the temporary folders.

Reported: requests, 5xx responses, page latency p50/p95/p99 (readers' pages), runs by final
status, and every run that failed other than by policy (a refused line or a 429 rate limit).
Goals: zero 5xx, no run failed except by policy. Without root or dockerd it says so and exits 0.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _util import ROOT, gunicorn, percentile, production_env, run_python

from runner.sandbox import engine_available, list_sandboxes, reap_sandboxes

DAY = "/c/dockercon-2016/day-1/"
SEARCH_WORDS = ["swarm", "orchestration", "security", "docker", "service", "update", "node"]
CLEANUP_LINE = "docker service rm vote"
HTMX = {"HX-Request": "true"}


# -- a small HTTP client: one connection per request, as gunicorn's sync workers close them -----


@dataclass
class Reply:
    status: int
    body: str
    headers: dict[str, str]
    ms: float


class Browser:
    """Cookies and a source address; GET and POST against the site."""

    def __init__(self, base: str, *, source: str | None = None) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.source = (source, 0) if source else None
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, *, body: str = "", headers=None) -> Reply:
        sent = {"Host": f"127.0.0.1:{self.port}", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        connection = http.client.HTTPConnection(
            self.host, self.port, timeout=60, source_address=self.source
        )
        try:
            connection.request(method, path, body=body or None, headers=sent)
            response = connection.getresponse()
            data = response.read().decode("utf-8", "replace")
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    key, _, rest = value.partition("=")
                    self.cookies[key.strip()] = rest.split(";", 1)[0]
            reply = Reply(response.status, data, dict(response.getheaders()), 0.0)
        finally:
            connection.close()
        reply.ms = (time.perf_counter() - started) * 1000
        return reply


@dataclass
class Tally:
    """What every thread saw, shared under a lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    page_ms: list[float] = field(default_factory=list)
    pages_by_kind: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    client_errors: list[str] = field(default_factory=list)
    run_post_ms: list[float] = field(default_factory=list)
    visitor_runs: Counter = field(default_factory=Counter)
    rate_limited: int = 0
    requests: int = 0

    def saw(self, what: str, reply: Reply | None, error: str = "") -> None:
        with self.lock:
            self.requests += 1
            if reply is None:
                self.client_errors.append(f"{what}: {error}")
                return
            self.statuses[reply.status] += 1
            if reply.status >= 500:
                self.server_errors.append(f"{what}: {reply.status} {reply.body[:200]!r}")


def attempt(tally: Tally, what: str, call) -> Reply | None:
    try:
        reply = call()
    except OSError as exc:
        tally.saw(what, None, f"{exc.__class__.__name__}: {exc}")
        return None
    tally.saw(what, reply)
    return reply


# -- readers and visitors -----------------------------------------------------------------------


def reader(base: str, pages: list[tuple[str, str]], tally: Tally, stop: float, think: float):
    browser = Browser(base)
    rng = random.Random()
    while time.monotonic() < stop:
        kind, path = rng.choice(pages)
        if kind == "search":
            path = "/search/?" + urlencode({"q": rng.choice(SEARCH_WORDS)})
        reply = attempt(tally, f"GET {path}", lambda p=path: browser.request("GET", p))
        if reply is not None:
            with tally.lock:
                tally.page_ms.append(reply.ms)
                tally.pages_by_kind[kind] += 1
        time.sleep(rng.uniform(0.5, 1.5) * think)


def visitor(base: str, source: str, tally: Tally, stop: float, drain_until: list[float]):
    """Run the block's lines in order, again and again, each to its end, until `stop`."""
    browser = Browser(base, source=source)
    page = attempt(tally, f"GET {DAY}", lambda: browser.request("GET", DAY))
    if page is None or page.status != 200:
        return
    token = browser.cookies["csrftoken"]  # what htmx sends, as static/js/site.js does
    line_ids = list(dict.fromkeys(int(i) for i in re.findall(r"/run/line/(\d+)/", page.body)))
    headers = {"HX-Request": "true", "X-CSRFToken": token, "Referer": base + DAY}
    while time.monotonic() < stop:
        for line_id in line_ids:
            if time.monotonic() >= stop:
                return
            path = f"/run/line/{line_id}/"
            reply = attempt(
                tally, f"POST {path}", lambda p=path: browser.request("POST", p, headers=headers)
            )
            if reply is None:
                continue
            with tally.lock:
                tally.run_post_ms.append(reply.ms)
            if reply.status == 429:
                with tally.lock:
                    tally.rate_limited += 1
                time.sleep(5)
                break  # start the block again after the limit, as a person would
            if reply.status != 200:
                break
            status = _status(reply.body)
            run_id = _run_id(reply.body)
            if run_id and status in {"queued", "running"}:
                status = _wait(browser, tally, run_id, drain_until)
            with tally.lock:
                tally.visitor_runs[status or "unfinished"] += 1
            if status != "succeeded":
                break  # like a notebook: a failed line ends this pass through the block


def _run_id(body: str) -> int | None:
    found = re.search(r'hx-get="/runs/(\d+)/[?"]', body)  # the cell may add ?origin=...
    return int(found.group(1)) if found else None


def _status(body: str) -> str | None:
    found = re.search(r'data-status="(\w+)"', body)
    return found.group(1) if found else None


def _wait(browser: Browser, tally: Tally, run_id: int, drain_until: list[float]) -> str | None:
    path = f"/runs/{run_id}/"
    while time.monotonic() < drain_until[0]:
        reply = attempt(tally, f"GET {path}", lambda: browser.request("GET", path, headers=HTMX))
        if reply is not None and reply.status == 286:
            return _status(reply.body)
        time.sleep(1)
    return None


# -- the site -----------------------------------------------------------------------------------


def prepare(env: dict[str, str]) -> None:
    run_python(env, "manage.py", "migrate", "--noinput", "-v", "0")
    run_python(env, "manage.py", "collectstatic", "--noinput", "-v", "0")
    run_python(env, "manage.py", "load_demo")
    run_python(
        env,
        "manage.py",
        "shell",
        "-c",
        "from talks.models import SnippetLine as L\n"
        "last = L.objects.filter(snippet__talk__day__slug='day-1').order_by('-position').first()\n"
        f"L.objects.get_or_create(snippet=last.snippet, command={CLEANUP_LINE!r},"
        " defaults={'position': last.position + 1})\n",
    )


def start_workers(
    env: dict[str, str], count: int, logs: Path, *, nice: int
) -> list[subprocess.Popen]:
    """run_worker processes; with `nice`, their engines, tasks and shims inherit the niceness."""
    workers = []
    command = [sys.executable, "manage.py", "run_worker", "--interval", "0.1"]
    if nice:
        command = ["nice", "-n", str(nice), *command]
    for n in range(count):
        with (logs / f"worker-{n}.log").open("wb") as out:
            workers.append(
                subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
    return workers


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for worker in workers:
        try:
            worker.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


def wait_until_runnable(base: str, seconds: float = 120) -> None:
    """Until the worker's heartbeat says sandboxes work and the day page offers Run."""
    browser = Browser(base)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if "/run/line/" in browser.request("GET", DAY).body:
                return
        time.sleep(1)
    raise SystemExit("No worker reported that sandboxes can run; see the worker logs.")


def reader_pages(base: str) -> list[tuple[str, str]]:
    browser = Browser(base)
    day = browser.request("GET", DAY).body
    talks = sorted(set(re.findall(rf'href="({re.escape(DAY)}[a-z0-9-]+/)"', day)))
    tag_list = browser.request("GET", "/tags/").body
    tags = sorted(set(re.findall(r'href="(/tags/[a-z0-9-]+/)"', tag_list)))
    pages = [("home", "/"), ("conference", "/c/dockercon-2016/"), ("day", DAY), ("tags", "/tags/")]
    pages += [("talk", t) for t in talks] + [("tag", t) for t in tags]
    if browser.request("GET", "/search/?q=swarm").status == 200:
        pages += [("search", "/search/")] * max(1, len(pages) // 4)
    return pages


def final_runs(database: Path) -> tuple[Counter, list[tuple[int, str, str, str]]]:
    with contextlib.closing(sqlite3.connect(database)) as db:
        rows = db.execute("SELECT id, status, line, reason, stderr FROM runner_run").fetchall()
    # The engine's own last words where the reason points at them ("its own message is below").
    rows = [
        (i, status, line, f"{reason} {stderr.strip()[-160:]}".strip())
        for i, status, line, reason, stderr in rows
    ]
    return Counter(r[1] for r in rows), [r for r in rows if r[1] not in {"succeeded", "refused"}]


# -- main ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--readers", type=int, default=50)
    parser.add_argument("--visitors", type=int, default=10)
    parser.add_argument("--workers", type=int, default=3, help="run_worker processes")
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--think", type=float, default=2.0, help="readers' mean pause, s")
    parser.add_argument("--drain", type=float, default=180, help="time for runs in flight")
    parser.add_argument(
        "--nice",
        type=int,
        default=10,
        help="niceness of the workers and so of the sandboxes' engines (README: Production)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    base_dir = Path(tempfile.mkdtemp(prefix="cnl-", dir="/tmp"))  # short: unix socket paths
    base_dir.chmod(0o711)  # the production default --userns-remap must traverse it
    ok, why = engine_available(base_dir=base_dir)
    if not ok:
        base_dir.rmdir()
        print(f"bench_load skipped: {why}")
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="confnotes-load-"))
    env = production_env(
        tmp,
        RUNNER_ANONYMOUS="true",
        RUNNER_BASE_DIR=str(base_dir),
        RUNNER_IMAGES_DIR=str(tmp / "images"),
        RUNNER_MAX_SANDBOXES=str(args.visitors + 2),
        ALLOWED_HOSTS="127.0.0.1,localhost",
    )
    database = tmp / "bench.sqlite3"
    workers: list[subprocess.Popen] = []
    tally = Tally()
    report: dict = {}
    started = time.monotonic()
    try:
        prepare(env)
        workers = start_workers(env, args.workers, tmp, nice=args.nice)
        with gunicorn(env, workers=args.web_workers) as server:
            wait_until_runnable(server.url)
            pages = reader_pages(server.url)
            print(
                f"Load: {args.readers} readers over {len(set(pages))} pages, {args.visitors} "
                f"visitors running snippets, {args.seconds:g} s; gunicorn {args.web_workers} "
                f"workers, {args.workers} run_worker processes (nice {args.nice}), sandboxes "
                f"in {base_dir}",
                flush=True,
            )
            stop = time.monotonic() + args.seconds
            drain_until = [stop + args.drain]
            threads = [
                threading.Thread(
                    target=reader, args=(server.url, pages, tally, stop, args.think), daemon=True
                )
                for _ in range(args.readers)
            ]
            threads += [
                threading.Thread(
                    target=visitor,
                    args=(server.url, f"127.0.0.{10 + n}", tally, stop, drain_until),
                    daemon=True,
                )
                for n in range(args.visitors)
            ]
            load_started = time.monotonic()
            cpu_before = server.cpu_seconds()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=max(1.0, drain_until[0] + 10 - time.monotonic()))
            load_seconds = time.monotonic() - load_started
            web_cpu = server.cpu_seconds() - cpu_before
            still = sum(thread.is_alive() for thread in threads)
            by_status, failures = final_runs(database)
            report = build_report(args, tally, by_status, failures, load_seconds, still)
            report["machine"] = {
                "cpus": os.cpu_count(),
                "load_average_1min_at_end": round(os.getloadavg()[0], 1),
                "gunicorn_cpu_seconds": round(web_cpu, 1),
            }
    finally:
        stop_workers(workers)
        leftovers = cleanup(base_dir)
        shutil.rmtree(tmp, ignore_errors=True)
    report["cleanup"] = leftovers or "everything removed"
    report["total_seconds"] = round(time.monotonic() - started, 1)
    print_report(report)
    if args.json:
        print(json.dumps({"bench": "load", **report}, default=str))
    return 0


def cleanup(base_dir: Path) -> str:
    """Remove every sandbox under base_dir, then the folder; say what (if anything) is left."""
    problems = []
    try:
        reap_sandboxes(base_dir=base_dir)
    except Exception as exc:  # report, keep cleaning
        problems.append(str(exc))
    left = list_sandboxes(base_dir=base_dir)
    if left:
        problems.append(f"sandboxes left: {left}")
    shutil.rmtree(base_dir, ignore_errors=True)
    return "; ".join(problems)


def build_report(args, tally: Tally, by_status, failures, seconds: float, still: int) -> dict:
    ms = sorted(tally.page_ms)
    succeeded = by_status.get("succeeded", 0)
    unfinished = [r for r in failures if r[1] in {"queued", "running"}]
    failed = [r for r in failures if r[1] not in {"queued", "running"}]
    return {
        "seconds": round(seconds, 1),
        "readers": args.readers,
        "visitors": args.visitors,
        "requests": tally.requests,
        "page_requests": len(ms),
        "pages_per_second": round(len(ms) / args.seconds, 1),
        "pages_by_kind": dict(tally.pages_by_kind),
        "responses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "server_errors_5xx": len(tally.server_errors),
        "server_error_samples": tally.server_errors[:5],
        "connection_errors": len(tally.client_errors),
        "connection_error_samples": tally.client_errors[:5],
        "page_ms": {
            "p50": round(percentile(ms, 50), 1),
            "p95": round(percentile(ms, 95), 1),
            "p99": round(percentile(ms, 99), 1),
            "max": round(ms[-1], 1) if ms else 0.0,
        },
        "run_post_ms": {
            "p50": round(percentile(sorted(tally.run_post_ms), 50), 1),
            "p99": round(percentile(sorted(tally.run_post_ms), 99), 1),
        },
        "runs_by_status": dict(by_status),
        "runs_seen_by_visitors": dict(tally.visitor_runs),
        "runs_completed": succeeded,
        "runs_rate_limited_429": tally.rate_limited,
        "runs_failed_not_by_policy": [
            {"id": r[0], "status": r[1], "line": r[2], "reason": r[3][:200]} for r in failed
        ],
        "runs_unfinished": len(unfinished),
        "threads_still_running": still,
    }


def print_report(r: dict) -> None:
    if "requests" not in r:
        print(f"  No measurement (cleanup: {r.get('cleanup')}).")
        return
    p = r["page_ms"]
    print(f"  {r['requests']} requests in {r['seconds']} s (load, then the drain);", end="")
    print(f" {r['page_requests']} page reads")
    print(f"    ({r['pages_per_second']}/s: {r['pages_by_kind']})")
    print(f"  Responses: {r['responses']}; 5xx: {r['server_errors_5xx']}", end="")
    print(f"; connection errors: {r['connection_errors']}")
    for sample in r["server_error_samples"] + r["connection_error_samples"]:
        print(f"    {sample}")
    print(f"  Page latency: p50 {p['p50']} ms, p95 {p['p95']} ms, p99 {p['p99']} ms")
    print(f"    (max {p['max']} ms); Run POST p50 {r['run_post_ms']['p50']} ms")
    print(f"  Runs: {r['runs_by_status']}; 429 rate-limited: {r['runs_rate_limited_429']}")
    print(f"  Runs completed (succeeded): {r['runs_completed']}")
    for f in r["runs_failed_not_by_policy"]:
        print(f"    FAILED not by policy: #{f['id']} {f['status']} {f['line']!r}: {f['reason']}")
    if r["runs_unfinished"]:
        print(f"  Runs still queued or running after the drain: {r['runs_unfinished']}")
    goals = r["server_errors_5xx"] == 0 and not r["runs_failed_not_by_policy"]
    print(f"  Goals (zero 5xx, no run failed except by policy): {'met' if goals else 'MISSED'}")
    m = r.get("machine", {})
    load = m.get("load_average_1min_at_end")
    print(f"  Machine: {m.get('cpus')} CPUs, load average {load} at the end;", end="")
    print(f" gunicorn used {m.get('gunicorn_cpu_seconds')} CPU-seconds")
    print(f"  Cleanup: {r['cleanup']}; {r['total_seconds']} s in all")


if __name__ == "__main__":
    sys.exit(main())
