#!/usr/bin/env python3
"""Operate sandbox engines by hand, without Django (run as root from the project root).

.venv/bin/python scripts/sandboxes.py check  --base-dir /var/lib/confnotes/sandboxes
.venv/bin/python scripts/sandboxes.py list   --base-dir ...
.venv/bin/python scripts/sandboxes.py start  --base-dir ... [--nodes 3] [--images DIR]
.venv/bin/python scripts/sandboxes.py stop   --base-dir ... NAME
.venv/bin/python scripts/sandboxes.py reap   --base-dir ... [--keep NAME ...]
.venv/bin/python scripts/sandboxes.py images DIR
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runner.images import build_demo_images
from runner.sandbox import (
    engine_available,
    list_sandboxes,
    reap_sandboxes,
    start_sandbox,
    stop_sandbox,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("command", choices=["check", "list", "start", "stop", "reap", "images"])
    parser.add_argument("names", nargs="*", help="sandbox names (stop) or the output dir (images)")
    parser.add_argument("--base-dir", type=Path, default=Path("/var/lib/confnotes/sandboxes"))
    parser.add_argument("--nodes", type=int, default=1)
    parser.add_argument("--images", type=Path, help="directory of stand-in image tarballs")
    parser.add_argument("--keep", nargs="*", default=[])
    parser.add_argument("-v", "--verbose", action="store_true", help="log each phase's time")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    logging.getLogger("docker").setLevel(logging.WARNING)

    if args.command == "check":
        ok, why = engine_available(base_dir=args.base_dir)
        print(why)
        return 0 if ok else 1
    if args.command == "list":
        for name in list_sandboxes(base_dir=args.base_dir):
            print(name)
        return 0
    if args.command == "images":
        out_dir = Path(args.names[0]) if args.names else Path("var/images")
        for path in build_demo_images(out_dir=out_dir):
            print(path)
        return 0
    if args.command == "start":
        images = build_demo_images(out_dir=args.images) if args.images else []
        started = time.monotonic()
        engine = start_sandbox(base_dir=args.base_dir, nodes=args.nodes, images=images)
        print(f"{engine.name} ready in {time.monotonic() - started:.2f} s")
        print(f"export DOCKER_HOST={engine.docker_host}")
        return 0
    if args.command == "stop":
        for name in args.names:
            stop_sandbox(name, base_dir=args.base_dir)
        return 0
    for name in reap_sandboxes(base_dir=args.base_dir, keep=set(args.keep)):
        print(f"removed {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
