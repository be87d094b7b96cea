"""Benchmark: importing notes (the seed file and a generated 1 MB document).

Prints time and peak memory (tracemalloc) for parsing and for a full import (parse + save into a
throwaway SQLite database), with ratios against two baselines measured in the same run: merely
decoding and splitting the text, and ``markdown.markdown()`` of the same text.

Run: .venv/bin/python bench/bench_import.py [--size-mb 1] [--no-save]
(--no-save skips the database.)
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "talks" / "seeds" / "dockercon-2016-day1.txt"
GOAL_SECONDS = 2.0
IMPORT_RUNS = 3

VOCABULARY = (
    "swarm service node task replica rolling update parallelism delay image registry network "
    "overlay ingress routing mesh secret config volume mount seccomp apparmor namespace cgroup "
    "kernel container orchestration scheduler healthcheck rollback manager worker raft quorum"
)
WORDS = VOCABULARY.split()


def setup_django(database: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    # The test settings carry their own secret key; `make bench` exports the production module.
    os.environ["DJANGO_SETTINGS_MODULE"] = "notes_site.test_settings"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def _sentence(rng: random.Random, words: int = 12) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize()


def plain_notes(*, size: int, seed: int = 2016) -> str:
    """Plain-text notes like the seed's, repeated with variety until ``size`` bytes."""
    rng = random.Random(seed)
    out = [
        "BenchConf 2020 Highlights Day 1",
        "",
        "We went to BenchConf in Lyon. " + _sentence(rng, 30) + ".",
        "",
        "Day 1",
        "",
    ]
    length, talk = sum(len(line) + 1 for line in out), 0
    while length < size:
        talk += 1
        block = [f"Generated Talk Number {talk}", "", f"https://example.org/talks/{talk}", ""]
        for _ in range(6):
            block.append(f"  • {_sentence(rng)}.")
            block.append(f"    • {_sentence(rng, 8)} (Need to figure out details)")
            block.append(f"      • {_sentence(rng, 6)} https://example.org/{rng.randrange(999)}")
        block.append("    • Pitfalls of " + rng.choice(WORDS) + ":")
        block.append("    • " + _sentence(rng, 3))
        if talk % 5 == 0:
            block += ["", "Example commands:", "", "docker service ls", "docker service ps web"]
        block += ["", "Handling secrets", "", f"{_sentence(rng, 20)}.", ""]
        out += block
        length += sum(len(line) + 1 for line in block)
    out += ["Summary", "", "A long day.", "", "Bench Person", "", "Engineer at Bench"]
    return "\n".join(out) + "\n"


def measure(fn: Callable[[], object], *, repeat: int = 3) -> tuple[float, int]:
    """Best time of ``repeat`` untraced runs (seconds), then the peak traced memory (bytes)
    of one more run under tracemalloc (which slows it down, so it is not timed)."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return best, peak


def measure_once(fn: Callable[[], object]) -> tuple[float, int]:
    """One run, timed and traced together: for steps too slow to repeat."""
    gc.collect()
    tracemalloc.start()
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, peak


def row(name: str, seconds: float, peak: int | None, baselines: dict[str, float]) -> str:
    ratios = "  ".join(f"{seconds / base:7.1f}× {label}" for label, base in baselines.items())
    memory = f"{peak / 1e6:7.1f} MB peak" if peak is not None else "   (not traced)"
    return f"  {name:<34} {seconds * 1000:9.1f} ms  {memory}  {ratios}"


def bench_document(name: str, data: bytes, *, save: bool, reimport: bool = True) -> float | None:
    import markdown

    from talks.importing import decode_notes, import_notes, parse_notes
    from talks.models import Conference, Tag

    text = decode_notes(data).text
    split_time, split_peak = measure(lambda: data.decode("utf-8").splitlines())
    markdown_time, markdown_peak = measure(lambda: markdown.markdown(text), repeat=1)
    baselines = {"read+split": split_time, "markdown()": markdown_time}
    parse_time, parse_peak = measure(lambda: parse_notes(text))
    result = parse_notes(text)
    print(f"\n{name}: {len(data) / 1e6:.2f} MB, {len(text.splitlines()):,} lines, "
          f"{sum(1 for _ in _highlights(result.day)):,} highlights")  # fmt: skip
    print(row("baseline: decode + split lines", split_time, split_peak, baselines))
    print(row("baseline: markdown.markdown()", markdown_time, markdown_peak, baselines))
    print(row("parse (parse_notes)", parse_time, parse_peak, baselines))
    if not save:
        return None
    times = []
    for _ in range(IMPORT_RUNS):
        Conference.objects.all().delete()
        Tag.objects.all().delete()
        gc.collect()
        start = time.perf_counter()
        import_notes(text)
        times.append(time.perf_counter() - start)
    import_time = statistics.median(times)
    Conference.objects.all().delete()
    Tag.objects.all().delete()
    gc.collect()
    tracemalloc.start()  # one more import, traced for its peak memory (and not timed)
    import_notes(text)
    import_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(row(f"import, empty db (median of {IMPORT_RUNS})", import_time, import_peak, baselines))
    print(
        f"  {'':<34} best {min(times) * 1000:.1f} ms, worst {max(times) * 1000:.1f} ms; parsing "
        f"is {parse_time / import_time:.1%} of the import, the rest is save_day() (bulk writes, "
        "Markdown rendering, search indexing)"
    )
    if reimport:
        again_time, again_peak = measure_once(lambda: import_notes(text))
        print(row("re-import, traced (nothing changes)", again_time, again_peak, baselines))
    return import_time


def _highlights(day):
    stack = [h for talk in day.talks for h in talk.highlights]
    while stack:
        highlight = stack.pop()
        yield highlight
        stack.extend(highlight.children)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=float, default=1.0)
    parser.add_argument("--no-save", action="store_true", help="Parse only; no database.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        setup_django(Path(directory) / "bench.sqlite3")
        print("Import benchmark (best of 3 for fast steps; peak memory from tracemalloc)")
        bench_document("Seed: dockercon-2016-day1.txt", SEED.read_bytes(), save=not args.no_save)
        size = int(args.size_mb * 1_000_000)
        generated = plain_notes(size=size).encode("utf-8")
        import_time = bench_document(
            "Generated plain-text notes", generated, save=not args.no_save, reimport=False
        )
        from talks.documents import DayDoc
        from talks.exporting import MarkdownExporter
        from talks.importing import parse_notes

        day: DayDoc = parse_notes(generated.decode()).day
        as_markdown = MarkdownExporter().render_day(day).encode("utf-8")
        bench_document("The same notes as exported Markdown", as_markdown, save=False)
    if import_time is not None:
        verdict = "met" if import_time < GOAL_SECONDS else "NOT met"
        print(f"\nGoal: {args.size_mb:g} MB imported in under {GOAL_SECONDS:g} s: {verdict} "
              f"({import_time:.2f} s).")  # fmt: skip


if __name__ == "__main__":
    main()
