"""The batch a rolling update shows, over the task states of each slot (M4 of the QA review).

Six replicas of vote go from :movies to :indent, `--update-delay 10s`, with parallelism 1 and 2,
stop-first (the default: the old task stops, then its replacement starts) and start-first. Each
row is one moment; a slot counts once whatever its two tasks are doing, and the batch never goes
back while the update goes forward.
"""

from __future__ import annotations

import pytest

from runner.picture import Progress, progress_of
from runner.swarm import SwarmPicture
from tests.runner.swarm_fixtures import T0, node, service, task

NODES = ["manager1", "worker1", "worker2"]
OLD = "instavote/vote:movies"
NEW = "instavote/vote:indent"


def slot_tasks(slot: int, code: str) -> list:
    """One slot's tasks. O: old running; U: new running; s: old stopping, no new task yet;
    S: old stopping, new one assigned to a node; P: the same, the new one pending (no node yet);
    n: new starting, old gone; F: new starting
    beside the old one (start-first); f: new running, old one stopping (start-first)."""
    where = NODES[(slot - 1) % 3]
    old_gone = task("vote", slot, where, image=OLD, state="shutdown", desired="shutdown")
    old_running = task("vote", slot, where, image=OLD)
    old_stopping = task("vote", slot, where, image=OLD, desired="shutdown")
    new_running = task("vote", slot, where, image=NEW)
    return {
        "O": [old_running],
        "U": [new_running, old_gone],
        "s": [old_stopping],
        "S": [
            old_stopping,
            task("vote", slot, where, image=NEW, state="assigned", desired="ready"),
        ],
        "P": [old_stopping, task("vote", slot, None, image=NEW, state="pending", desired="ready")],
        "n": [task("vote", slot, where, image=NEW, state="starting"), old_gone],
        "F": [old_running, task("vote", slot, where, image=NEW, state="preparing")],
        "f": [new_running, old_stopping],
    }[code]


def moment(codes: str, parallelism: int) -> Progress:
    tasks = [t for slot, code in enumerate(codes, start=1) for t in slot_tasks(slot, code)]
    vote = service(image=NEW, replicas=6, parallelism=parallelism, delay=10, update="updating")
    picture = SwarmPicture(nodes=[node(n) for n in NODES], services=[vote], tasks=tasks)
    return progress_of(picture, "vote", kind="update", at=T0)


# (slots, tasks updated, batch shown, a batch is in flight)
STOP_FIRST_BY_2 = [
    ("OOOOOO", 0, 1, False),
    ("sOOOOO", 0, 1, True),
    ("ssOOOO", 0, 1, True),
    ("SSOOOO", 0, 1, True),  # was "batch 2 of 3": old and new task of a slot counted twice
    ("nPOOOO", 0, 1, True),
    ("UnOOOO", 1, 1, True),
    ("UUOOOO", 2, 2, False),  # the delay: batch 2 is due
    ("UUsOOO", 2, 2, True),
    ("UUSSOO", 2, 2, True),  # was "batch 3 of 3"
    ("UUUnOO", 3, 2, True),
    ("UUUUOO", 4, 3, False),
    ("UUUUPs", 4, 3, True),
    ("UUUUUn", 5, 3, True),
    ("UUUUUU", 6, 3, False),
]
STOP_FIRST_BY_1 = [
    ("OOOOOO", 0, 1, False),
    ("SOOOOO", 0, 1, True),  # was "batch 2 of 6"
    ("nOOOOO", 0, 1, True),
    ("UOOOOO", 1, 2, False),
    ("USOOOO", 1, 2, True),
    ("UUOOOO", 2, 3, False),
    ("UUSOOO", 2, 3, True),
    ("UUnOOO", 2, 3, True),
    ("UUUUUS", 5, 6, True),
    ("UUUUUU", 6, 6, False),
]
START_FIRST_BY_2 = [
    ("OOOOOO", 0, 1, False),
    ("FFOOOO", 0, 1, True),
    ("fFOOOO", 1, 1, True),
    ("ffOOOO", 2, 2, False),  # both new tasks run; the old ones still stopping count no more
    ("UUOOOO", 2, 2, False),
    ("UUFFOO", 2, 2, True),
    ("UUffOO", 4, 3, False),
    ("UUUUFF", 4, 3, True),
    ("UUUUff", 6, 3, False),
]
START_FIRST_BY_1 = [
    ("OOOOOO", 0, 1, False),
    ("FOOOOO", 0, 1, True),
    ("fOOOOO", 1, 2, False),
    ("UFOOOO", 1, 2, True),
    ("UfOOOO", 2, 3, False),
    ("UUFOOO", 2, 3, True),
    ("UUUUUF", 5, 6, True),
    ("UUUUUf", 6, 6, False),
]


@pytest.mark.parametrize(
    ("parallelism", "rows"),
    [(2, STOP_FIRST_BY_2), (1, STOP_FIRST_BY_1), (2, START_FIRST_BY_2), (1, START_FIRST_BY_1)],
    ids=["stop-first-by-2", "stop-first-by-1", "start-first-by-2", "start-first-by-1"],
)
def test_it_shows_the_batch_of_the_slots_touched_never_going_back(parallelism, rows):
    seen = []
    for codes, done, batch, in_flight in rows:
        progress = moment(codes, parallelism)
        got = (progress.done, progress.batch, progress.batch_running)
        assert got == (done, batch, in_flight), codes
        assert progress.batches == 6 // parallelism
        seen.append(progress.batch)
    assert seen == sorted(seen), f"the batch went back: {seen}"


@pytest.mark.parametrize(("parallelism", "rows"), [(2, STOP_FIRST_BY_2), (1, STOP_FIRST_BY_1)])
def test_a_batch_never_runs_ahead_of_the_tasks_it_holds(parallelism, rows):
    for codes, *_ in rows:
        progress = moment(codes, parallelism)
        touched = sum(1 for code in codes if code != "O")
        # The batch under way holds the last slot touched; one more only while a delay runs.
        between = not progress.batch_running and 0 < touched < 6 and touched % parallelism == 0
        assert progress.batch == max(1, -(-touched // parallelism)) + int(between), codes
        assert progress.done <= touched


def test_the_next_batch_counts_down_only_between_batches():
    waiting = moment("UUOOOO", 2)
    assert Progress.from_data(waiting.to_data(), now=T0).batch_label == (
        "batch 2 of 3 (2 at a time) starts in 10 s"
    )
    busy = moment("UUSSOO", 2)
    assert busy.next_batch_at is None
    assert Progress.from_data(busy.to_data(), now=T0).batch_label == "batch 2 of 3 (2 at a time)"
