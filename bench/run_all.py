#!/usr/bin/env python
"""Run every bench/bench_*.py in turn (``make bench``) and print their reports.

    python bench/run_all.py              # all of them
    python bench/run_all.py pages search # only bench_pages.py and bench_search.py

Each benchmark runs in its own process with the same Python and its default options; to give
one options, run it directly (``python bench/bench_pages.py --help``).
Exits non-zero if any benchmark failed (crashed), not when a goal was missed: each report says.
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def known_benchmarks() -> dict[str, Path]:
    """Short name (``pages``) to script, for every bench/bench_*.py."""
    return {s.stem.removeprefix("bench_"): s for s in sorted(BENCH_DIR.glob("bench_*.py"))}


def summary(script: Path) -> str:
    """The first line of a script's docstring."""
    try:
        doc = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8"))) or ""
    except (OSError, SyntaxError, ValueError):
        doc = ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def build_parser(benchmarks: dict[str, Path]) -> argparse.ArgumentParser:
    listing = "\n".join(f"  {name:<10} {summary(script)}" for name, script in benchmarks.items())
    parser = argparse.ArgumentParser(
        prog="run_all.py",
        description=__doc__,
        epilog=f"benchmarks (in {BENCH_DIR}):\n{listing}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )

    def benchmark(value: str) -> str:
        name = Path(value).name.removesuffix(".py").removeprefix("bench_")
        if name not in benchmarks:
            raise argparse.ArgumentTypeError(
                f"no benchmark called {value!r}; known: {', '.join(benchmarks)}"
            )
        return name

    parser.add_argument(
        "names",
        nargs="*",
        type=benchmark,
        metavar="NAME",
        help="benchmarks to run, in the order listed below (default: all); "
        "`pages`, `bench_pages` and `bench_pages.py` are the same",
    )
    return parser


def main(argv: list[str]) -> int:
    benchmarks = known_benchmarks()
    args = build_parser(benchmarks).parse_args(argv)
    wanted = set(args.names)
    scripts = [s for name, s in benchmarks.items() if not wanted or name in wanted]
    failed = []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        started = time.monotonic()
        result = subprocess.run([sys.executable, str(script)], cwd=BENCH_DIR.parent, check=False)
        took = time.monotonic() - started
        if result.returncode != 0:
            failed.append(script.name)
            print(f"== {script.name} FAILED (exit code {result.returncode}) after {took:.0f} s")
        else:
            print(f"== {script.name} done in {took:.0f} s", flush=True)
        print()
    if failed:
        print(f"Failed: {', '.join(failed)}")
        return 1
    print(f"All {len(scripts)} benchmark{'s' if len(scripts) != 1 else ''} ran.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
