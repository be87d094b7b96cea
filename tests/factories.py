"""Reproducible generated notes for tests and benchmarks."""

from __future__ import annotations

import datetime as dt
import random

from talks.documents import ConferenceDoc, DayDoc, HighlightDoc, SnippetDoc, TalkDoc, save_day
from talks.models import Conference, Day, Snippet, SnippetLine, Talk


def lone_line(command: str) -> SnippetLine:
    """A command line in a block of its own, in a talk of a new day of DockerCon 2016."""
    conference = Conference.objects.create(name="DockerCon 2016", slug="dockercon-2016")
    day = Day.objects.create(conference=conference, number=1, title="Day 1", slug="day-1")
    talk = Talk.objects.create(day=day, title="Keynote", slug="keynote")
    snippet = Snippet.objects.create(talk=talk)
    return SnippetLine.objects.create(snippet=snippet, command=command)


def block_of(count: int) -> list[SnippetLine]:
    """A block of ``count`` lines (``docker service ls``, then ``docker node ls``), as lone_line."""
    first = lone_line("docker service ls")
    more = [
        SnippetLine.objects.create(snippet=first.snippet, position=i, command="docker node ls")
        for i in range(1, count)
    ]
    return [first, *more]


WORDS = (  # noqa: SIM905 (one sentence of words reads better than a list of 34)
    "swarm service node task replica rolling update parallelism delay image registry network "
    "overlay ingress routing mesh secret config volume mount seccomp apparmor namespace cgroup "
    "kernel container orchestration scheduler healthcheck rollback manager worker raft quorum"
).split()


# Notes for the demo day holding only one of its talks, with two bullets: importing them over
# the stored day would remove the other talks, notes and snippets (tests of that removal).
PARTIAL = """---
conference: DockerCon 2016
day: 1
---

## Keynote highlights

- Docker 1.12 has orchestration built in
- Swarm mode is optional
"""


def _sentence(rng: random.Random, words: int = 12) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def big_day_doc(*, talks: int = 200, highlights_per_talk: int = 10, seed: int = 2016) -> DayDoc:
    """A day of ``talks`` talks with ``highlights_per_talk`` highlights each, nested 3 deep."""
    rng = random.Random(seed)
    talk_docs = []
    for t in range(talks):
        top: list[HighlightDoc] = []
        made = 0
        while made < highlights_per_talk:
            node = HighlightDoc(_sentence(rng), tags=[rng.choice(["security", "networking"])])
            made += 1
            if made < highlights_per_talk:
                child = HighlightDoc(_sentence(rng))
                node.children.append(child)
                made += 1
                if made < highlights_per_talk:
                    child.children.append(HighlightDoc(_sentence(rng)))
                    made += 1
            top.append(node)
        if t % 20 == 0:
            top[0].snippets.append(SnippetDoc(lines=["docker service ls", "docker node ls"]))
        talk_docs.append(TalkDoc(title=f"Generated talk {t + 1}", highlights=top, tags=["bench"]))
    return DayDoc(
        conference=ConferenceDoc(name="Generated Conf", slug="generated-conf"),
        number=1,
        title="A very long generated day",
        date=dt.date(2020, 1, 1),
        summary=_sentence(rng, 30),
        author="Generator",
        talks=talk_docs,
    )


def make_big_day(*, talks: int = 200, highlights_per_talk: int = 10) -> Day:
    day, _ = save_day(big_day_doc(talks=talks, highlights_per_talk=highlights_per_talk))
    return day
