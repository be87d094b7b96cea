"""An update that keeps the image (`--force`, `--replicas` with `--force`, other settings)
replaces every task with one of the same image: counted by image alone, the picture said
"6 of 6 tasks updated, 100%" from the start of a two-minute rolling update."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from runner.picture import picture_from_data, picture_to_data, progress_of
from runner.swarm import SwarmPicture
from tests.runner.swarm_fixtures import T0, node, service, task

STARTED = T0 + timedelta(minutes=5)  # when the forced update began


def forced(new_tasks: int, replicas: int = 4) -> SwarmPicture:
    """`vote` updating (same image), ``new_tasks`` of its slots replaced so far."""
    vote = replace(service("vote", replicas=replicas, update="updating"), update_started_at=STARTED)
    tasks = [
        replace(
            task("vote", slot, "manager1", at=STARTED + timedelta(seconds=slot)),
            created_at=STARTED + timedelta(seconds=slot) if slot <= new_tasks else T0,
        )
        for slot in range(1, replicas + 1)
    ]
    return SwarmPicture(nodes=[node("manager1")], services=[vote], tasks=tasks)


def test_a_forced_update_counts_only_the_tasks_made_for_it():
    picture = forced(new_tasks=1)
    assert picture.update_progress("vote") == (1, 4)
    progress = progress_of(picture, "vote", kind="update", at=STARTED + timedelta(seconds=30))
    assert (progress.done, progress.total, progress.percent) == (1, 4, 25)
    assert progress.state == "updating"
    done = forced(new_tasks=4)
    assert done.update_progress("vote") == (4, 4)


def test_tasks_of_another_image_are_old_whenever_they_were_made():
    picture = forced(new_tasks=4)
    other = replace(picture.tasks[0], image="instavote/vote:indent")
    picture = replace(picture, tasks=[other, *picture.tasks[1:]])
    assert picture.update_progress("vote") == (3, 4)


def test_a_service_never_updated_counts_by_image():
    vote = service("vote", replicas=2)
    tasks = [task("vote", slot, "manager1") for slot in (1, 2)]
    picture = SwarmPicture(nodes=[node("manager1")], services=[vote], tasks=tasks)
    assert picture.update_progress("vote") == (2, 2)


def test_the_stored_picture_keeps_when_the_update_began_and_each_task_was_made():
    picture, _ = picture_from_data(picture_to_data(forced(new_tasks=2), at=STARTED))
    assert picture.services[0].update_started_at == STARTED
    assert picture.update_progress("vote") == (2, 4)
    older = picture_to_data(forced(new_tasks=2), at=STARTED)  # as stored before: no dates
    for row in older["tasks"]:
        row.pop()
    del older["services"][0]["started"]
    assert picture_from_data(older)[0].update_progress("vote") == (4, 4)  # by image, as before
