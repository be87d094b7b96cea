#!/usr/bin/env python3
"""Operate sandbox engines by hand, without Django (run as root from the project root).

.venv/bin/python scripts/sandboxes.py check  [--base-dir DIR]
.venv/bin/python scripts/sandboxes.py list   [--base-dir DIR]
.venv/bin/python scripts/sandboxes.py start  [--base-dir DIR] [--nodes 1-9] [--images DIR]
.venv/bin/python scripts/sandboxes.py stop   [--base-dir DIR] NAME [NAME ...]
.venv/bin/python scripts/sandboxes.py reap   [--base-dir DIR] [--keep NAME ...]
.venv/bin/python scripts/sandboxes.py images [DIR]

--base-dir defaults to /var/lib/confnotes/sandboxes (the worker's RUNNER_BASE_DIR in
production); -v logs each phase's time. Both may also come before the command.
`sandboxes.py COMMAND --help` describes each command.
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
    NAME_RE,
    SandboxError,
    engine_available,
    list_sandboxes,
    reap_sandboxes,
    start_sandbox,
    stop_sandbox,
)

DEFAULT_BASE_DIR = Path("/var/lib/confnotes/sandboxes")
DEFAULT_IMAGES_DIR = Path("var/images")
MAX_NODES = 9  # as runner.sandbox.start_sandbox allows


def sandbox_name(value: str) -> str:
    if not NAME_RE.match(value):
        raise argparse.ArgumentTypeError(
            f"invalid sandbox name {value!r}: use 1-12 of a-z, 0-9 and -, starting with a "
            "letter or digit"
        )
    return value


def node_count(value: str) -> int:
    try:
        nodes = int(value)
    except ValueError:
        nodes = 0
    if not 1 <= nodes <= MAX_NODES:
        raise argparse.ArgumentTypeError(
            f"the number of nodes must be between 1 and {MAX_NODES}, not {value!r}"
        )
    return nodes


def build_parser() -> argparse.ArgumentParser:
    # --base-dir and -v are accepted before the command and after it. Their defaults are
    # SUPPRESS so that a subcommand which is not given them keeps what came before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--base-dir",
        type=Path,
        default=argparse.SUPPRESS,
        metavar="DIR",
        help=f"the directory the sandboxes live in (default: {DEFAULT_BASE_DIR})",
    )
    verbose = argparse.ArgumentParser(add_help=False)
    verbose.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="log each phase's time",
    )

    parser = argparse.ArgumentParser(
        prog="sandboxes.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common, verbose],
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, summary: str, *, engines: bool = True) -> argparse.ArgumentParser:
        return commands.add_parser(
            name, help=summary, description=summary, parents=[common, verbose] if engines else []
        )

    command(
        "check",
        "Say whether sandboxes can run here (root, programs, network namespaces, the base "
        "directory); exit 1 if not.",
    )
    command("list", "Print the name of each sandbox under the base directory, one a line.")
    start = command(
        "start", "Start a sandbox (a private swarm) and print its name and DOCKER_HOST."
    )
    start.add_argument(
        "--nodes",
        type=node_count,
        default=1,
        metavar=f"1-{MAX_NODES}",
        help="engines in its swarm (default: 1)",
    )
    start.add_argument(
        "--images",
        type=Path,
        metavar="DIR",
        help="load the stand-in images into every node (built in DIR if missing)",
    )
    stop = command("stop", "Stop and remove the named sandboxes entirely.")
    stop.add_argument(
        "names",
        nargs="+",
        type=sandbox_name,
        metavar="NAME",
        help="a sandbox of the base directory (see the list command)",
    )
    reap = command("reap", "Stop every sandbox of the base directory except those kept.")
    reap.add_argument(
        "--keep",
        nargs="+",
        type=sandbox_name,
        default=[],
        metavar="NAME",
        help="sandboxes to leave running",
    )
    images = command(
        "images", "Build the stand-in image tarballs if missing; print their paths.", engines=False
    )
    images.add_argument(
        "out_dir",
        nargs="?",
        type=Path,
        default=DEFAULT_IMAGES_DIR,
        metavar="DIR",
        help=f"where to put them (default: {DEFAULT_IMAGES_DIR})",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    base_dir: Path = getattr(args, "base_dir", DEFAULT_BASE_DIR)
    logging.basicConfig(level=logging.DEBUG if getattr(args, "verbose", False) else logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    logging.getLogger("docker").setLevel(logging.WARNING)
    try:
        return run(args, base_dir)
    except (SandboxError, ValueError) as exc:
        print(f"sandboxes.py {args.command}: {exc}", file=sys.stderr)
        return 1


def run(args: argparse.Namespace, base_dir: Path) -> int:
    if args.command == "check":
        ok, why = engine_available(base_dir=base_dir)
        print(why)
        return 0 if ok else 1
    if args.command == "list":
        for name in list_sandboxes(base_dir=base_dir):
            print(name)
        return 0
    if args.command == "images":
        for path in build_demo_images(out_dir=args.out_dir):
            print(path)
        return 0
    if args.command == "start":
        images = build_demo_images(out_dir=args.images) if args.images else []
        started = time.monotonic()
        engine = start_sandbox(base_dir=base_dir, nodes=args.nodes, images=images)
        print(f"{engine.name} ready in {time.monotonic() - started:.2f} s")
        print(f"export DOCKER_HOST={engine.docker_host}")
        return 0
    if args.command == "stop":
        existing = list_sandboxes(base_dir=base_dir)
        unknown = [name for name in args.names if name not in existing]
        if unknown:
            # None is stopped: a mistyped name among several is better noticed first.
            there = ", ".join(existing) if existing else "none"
            print(
                f"sandboxes.py stop: no sandbox called {', '.join(unknown)} in {base_dir}"
                f" (there: {there}); nothing stopped.",
                file=sys.stderr,
            )
            return 1
        for name in dict.fromkeys(args.names):
            stop_sandbox(name, base_dir=base_dir)
            print(f"stopped {name}")
        return 0
    for name in reap_sandboxes(base_dir=base_dir, keep=set(args.keep)):
        print(f"removed {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
