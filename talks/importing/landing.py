"""Where a document's talks, notes, blocks and lines land on a stored day, found before anything
is written.

``save_day`` matches talks by slug and notes, blocks and lines by what they say among their
siblings (``talks.matching``). ``land`` asks ``talks.matching`` the same over the stored rows,
read once per table (four queries, whatever the size of the day), so that the preview can say
what saving would remove (``removals``) and which stored texts it would replace with the
file's (``overwrites``), as saving will do it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

from django.db.models import Count, Value

from .. import matching
from ..documents import DayDoc, SnippetDoc, TalkDoc
from ..models import Day, Highlight, Snippet, SnippetLine, Talk


class NoteDetails(NamedTuple):
    """What a stored note holds besides its place and text (``matching.StoredNote``)."""

    style: str
    kind: str
    resolved_at: dt.datetime | None
    resolution: str


@dataclass
class Landing:
    """The stored day's rows, and where the document's talks, notes, blocks and lines land."""

    talks: dict[str, tuple[int, str]]  # slug: (pk, title), in day order
    kept_talks: list[tuple[int, TalkDoc]]  # the document's talks that are stored, with the pk
    notes: dict[int, matching.StoredNote]
    details: dict[int, NoteDetails]
    note_landing: dict[int, int]  # id(note document): the stored note's pk
    blocks: list[matching.StoredBlock]
    # Every block of the document, in the order saving places them, with the stored block it
    # lands on (None: a new block), as a line may move to any of them (matching.lines).
    every_block: list[tuple[int | None, SnippetDoc]]
    block_landing: dict[int, int]  # id(block document): the stored block's pk
    lines: list[matching.StoredLine]
    line_landing: dict[tuple[int, int], int]  # (id(block document), line index): pk
    runs: dict[int, int]  # line pk: saved run outputs


def land(doc: DayDoc, day: Day) -> Landing:
    """Read ``day``'s talks, notes, blocks and lines, and match ``doc``'s to them."""
    stored = Talk.objects.filter(day=day).order_by("position", "pk")
    talks = {slug: (pk, title) for slug, pk, title in stored.values_list("slug", "pk", "title")}
    kept_talks = [(talks[talk.slug][0], talk) for talk in doc.talks if talk.slug in talks]

    notes: dict[int, matching.StoredNote] = {}
    details: dict[int, NoteDetails] = {}
    rows = (
        Highlight.objects.filter(talk__day=day)
        .order_by()
        .values_list(
            *("pk", "talk_id", "parent_id", "position", "text"),
            *("style", "kind", "resolved_at", "resolution"),
        )
    )
    for pk, talk_id, parent_id, position, text, *more in rows:
        notes[pk] = matching.StoredNote(pk, talk_id, parent_id, position, text)
        details[pk] = NoteDetails(*more)
    note_landing = matching.notes(list(notes.values()), kept_talks)

    lines_query = SnippetLine.objects.filter(snippet__talk__day=day).order_by()
    if _runs_are_recorded():
        lines_query = lines_query.annotate(runs_count=Count("runs"))
    else:
        lines_query = lines_query.annotate(runs_count=Value(0))
    runs: dict[int, int] = {}
    lines = []
    for pk, snippet_id, position, command, count in lines_query.values_list(
        "pk", "snippet_id", "position", "command", "runs_count"
    ):
        lines.append(matching.StoredLine(pk, snippet_id, position, command))
        runs[pk] = count
    commands: dict[int, list[str]] = {}
    for line in sorted(lines, key=lambda line: (line.position, line.pk)):
        commands.setdefault(line.snippet_id, []).append(line.command)
    blocks = [
        matching.StoredBlock(pk, talk_id, position, caption, tuple(commands.get(pk, ())))
        for pk, talk_id, position, caption in Snippet.objects.filter(talk__day=day)
        .order_by()
        .values_list("pk", "talk_id", "position", "caption")
    ]
    block_landing = matching.blocks(blocks, kept_talks)
    every_block = [
        (block_landing.get(id(block)), block)
        for talk in doc.talks
        for _, block in matching.blocks_of(talk)
    ]
    return Landing(
        talks=talks,
        kept_talks=kept_talks,
        notes=notes,
        details=details,
        note_landing=note_landing,
        blocks=blocks,
        every_block=every_block,
        block_landing=block_landing,
        lines=lines,
        line_landing=matching.lines(lines, every_block),
        runs=runs,
    )


def _runs_are_recorded() -> bool:
    """The runner records runs against lines (``SnippetLine.runs``); notes work without it."""
    return any(rel.get_accessor_name() == "runs" for rel in SnippetLine._meta.related_objects)
