#!/usr/bin/env python
"""Page speed: each day page as Django serves it, against the same HTML as a static file.

    python bench/bench_pages.py                  # 10 s of load per measurement
    python bench/bench_pages.py --seconds 3 --json

It builds a production-like site in a temporary folder (DEBUG off, a secret key, SQLite, static
files collected and hashed; see bench/_util.py) holding the demo day and a generated day of 200
talks and 2,000 highlights (tests/factories.py), saves each day page's HTML as a file among the
static files, and serves both with gunicorn (2 workers) and whitenoise on 127.0.0.1. Each page
is loaded for ``--seconds`` as the static file, then as the dynamic page, with wrk when it is
installed (``apt-get install wrk``) or a Python client otherwise, and the requests/s, p50 and p99
latencies and their ratio are printed, with the page weight: HTML, CSS and JavaScript as sent
without compression, images excluded.

Goals: the dynamic page reaches at least 0.8x the static file's throughput; the demo day weighs
under 100 KB.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import ROOT, LoadResult, Server, fetch, gunicorn, load, production_env, run_python

GOAL_RATIO = 0.8
GOAL_WEIGHT = 100_000


@dataclass(frozen=True)
class Page:
    name: str
    slug: str
    url: str


PAGES = [
    Page("Demo day", "demo-day", "/c/dockercon-2016/day-1/"),
    Page("200 talks, 2,000 highlights", "big-day", "/c/generated-conf/day-1/"),
]
ASSET = re.compile(
    r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"|<script[^>]+src="([^"]+)"', re.IGNORECASE
)


def prepare() -> None:
    """In the site's environment: migrate, collect static files, load the days, save the HTML."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from talks.demo import DEMO_DAYS
    from talks.documents import save_day
    from tests.factories import make_big_day

    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    for doc in DEMO_DAYS:
        save_day(doc)
    make_big_day(talks=200, highlights_per_talk=10)
    saved = Path(settings.STATIC_ROOT) / "bench"
    saved.mkdir(exist_ok=True)
    for page in PAGES:
        response = Client().get(page.url)
        assert response.status_code == 200, (page.url, response.status_code)
        (saved / f"{page.slug}.html").write_bytes(response.content)


def page_weight(base: str, html: bytes) -> int:
    """The HTML and the stylesheets and scripts it loads, in bytes as sent uncompressed."""
    total = len(html)
    for match in ASSET.finditer(html.decode()):
        total += len(fetch(base + (match.group(1) or match.group(2))))
    return total


@dataclass
class Measured:
    """Several load rounds of one URL: throughput overall, latencies as medians of rounds."""

    requests: int = 0
    seconds: float = 0.0
    errors: int = 0
    cpu_seconds: float = 0.0
    p50s: list[float] = field(default_factory=list)
    p99s: list[float] = field(default_factory=list)

    def add(self, result: LoadResult, cpu_seconds: float) -> None:
        self.requests += result.requests
        self.seconds += result.seconds
        self.errors += result.errors
        self.cpu_seconds += cpu_seconds
        self.p50s.append(result.p50_ms)
        self.p99s.append(result.p99_ms)

    def summary(self) -> dict[str, float]:
        return {
            "requests_per_second": round(self.requests / self.seconds, 1),
            "p50_ms": round(statistics.median(self.p50s), 2),
            "p99_ms": round(statistics.median(self.p99s), 2),
            "server_cpu_ms_per_request": round(self.cpu_seconds / self.requests * 1000, 3),
            "requests": self.requests,
            "errors": self.errors,
        }


def measure(
    server: Server,
    urls: dict[str, str],
    *,
    seconds: float,
    rounds: int,
    connections: int,
    headers: dict[str, str],
) -> dict[str, dict[str, float]]:
    """Load each URL for ``seconds`` in all, in ``rounds`` interleaved rounds, so that a busy
    spell of the machine falls on both alike."""
    measured = {name: Measured() for name in urls}
    for _ in range(rounds):
        for name, url in urls.items():
            before = server.cpu_seconds()
            result = load(url, seconds=seconds / rounds, connections=connections, headers=headers)
            measured[name].add(result, server.cpu_seconds() - before)
    return {name: m.summary() for name, m in measured.items()}


def csrf_cookie(url: str) -> str:
    """The CSRF cookie the site gives a first visit, as a browser would send it back."""
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (http://127.0.0.1)
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            if name.strip() == "csrftoken":
                return f"csrftoken={rest.split(';')[0]}"
    raise SystemExit(f"{url} set no CSRF cookie.")


def print_result(label: str, result: dict[str, float]) -> None:
    errors = f"   {result['errors']} errors" if result["errors"] else ""
    print(
        f"      {label:<13} {result['requests_per_second']:8.1f} req/s   "
        f"p50 {result['p50_ms']:7.2f} ms   p99 {result['p99_ms']:7.2f} ms   "
        f"server CPU {result['server_cpu_ms_per_request']:.2f} ms/request{errors}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10, help="load time per URL and mode")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--json", action="store_true", help="print one JSON line too")
    parser.add_argument(
        "--page", choices=[page.slug for page in PAGES], help="measure this page only"
    )
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.prepare:
        prepare()
        return 0

    tool = "wrk" if shutil.which("wrk") else "a Python client (apt-get install wrk for wrk)"
    print(
        f"Page speed: gunicorn (2 workers) + whitenoise on 127.0.0.1, production settings, "
        f"persistent database connections; {tool} with {args.connections} connections, "
        f"{args.seconds:g} s per URL and mode in {args.rounds} interleaved rounds"
    )
    report = []
    missed = False
    with tempfile.TemporaryDirectory(prefix="confnotes-bench-pages-") as tmp:
        env = production_env(Path(tmp))
        run_python(env, str(ROOT / "bench" / "bench_pages.py"), "--prepare")
        with gunicorn(env, workers=2, ready_path=PAGES[0].url) as server:
            modes = {
                "first visits (no cookies)": {},
                "returning readers (the CSRF cookie)": {"Cookie": csrf_cookie(server.url + "/")},
            }
            for page in [p for p in PAGES if args.page in (None, p.slug)]:
                urls = {
                    "static": f"{server.url}/static/bench/{page.slug}.html",
                    "dynamic": server.url + page.url,
                }
                html = fetch(urls["dynamic"])
                if len(html) != len(fetch(urls["static"])):
                    print(f"  note: {page.name}: the static copy differs in length")
                for _ in range(8):  # fill each worker's cache; not measured
                    for url in urls.values():
                        fetch(url)
                weight = page_weight(server.url, html)
                row: dict = {
                    "page": page.name,
                    "url": page.url,
                    "html_bytes": len(html),
                    "weight_bytes": weight,
                }
                print(
                    f"  {page.name} ({page.url}): HTML {len(html) / 1000:.1f} KB, page weight "
                    f"{weight / 1000:.1f} KB (HTML + CSS + JS, uncompressed, no images)"
                )
                if page.slug == "demo-day":
                    heavy = weight >= GOAL_WEIGHT
                    missed = missed or heavy
                    print(
                        f"    page weight goal < {GOAL_WEIGHT / 1000:.0f} KB: "
                        f"{'MISSED' if heavy else 'met'}"
                    )
                for mode, headers in modes.items():
                    results = measure(
                        server,
                        urls,
                        seconds=args.seconds,
                        rounds=args.rounds,
                        connections=args.connections,
                        headers=headers,
                    )
                    static, dynamic = results["static"], results["dynamic"]
                    ratio = dynamic["requests_per_second"] / static["requests_per_second"]
                    cpu_ratio = (
                        static["server_cpu_ms_per_request"] / dynamic["server_cpu_ms_per_request"]
                    )
                    row[mode] = {
                        **results,
                        "ratio": round(ratio, 3),
                        "cpu_ratio": round(cpu_ratio, 3),
                    }
                    print(f"    {mode}:")
                    print_result("static file", static)
                    print_result("dynamic page", dynamic)
                    met = ratio >= GOAL_RATIO and not dynamic["errors"]
                    missed = missed or not met
                    print(
                        f"      dynamic / static: {ratio:.2f}x the throughput "
                        f"({cpu_ratio:.2f}x by server CPU per request); goal >= {GOAL_RATIO}x: "
                        f"{'met' if met else 'MISSED'}"
                    )
                report.append(row)
    if args.json:
        print(json.dumps({"bench": "pages", "seconds": args.seconds, "results": report}))
    if missed:
        print("  Some goals were missed (see above).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
