#!/usr/bin/env python
"""Run every bench/bench_*.py in turn (``make bench``) and print their reports.

    python bench/run_all.py              # all of them
    python bench/run_all.py pages search # only bench_pages.py and bench_search.py

Each benchmark runs in its own process with the same Python; extra options are not passed on.
Exits non-zero if any benchmark failed (crashed), not when a goal was missed: each report says.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    scripts = sorted(BENCH_DIR.glob("bench_*.py"))
    if argv:
        wanted = {name.removeprefix("bench_").removesuffix(".py") for name in argv}
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in wanted]
        if not scripts:
            print(f"No benchmark called {', '.join(sorted(wanted))} in {BENCH_DIR}.")
            return 2
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
