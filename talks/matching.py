"""Which stored rows a document's notes, blocks and lines land on when a day is saved again.

Importing a day that is already stored updates it in place: a note that is still in the file
must keep its row, and with it its answer, its tags and its anchor (``#h27``, linked from other
days); a command line must keep the run history that hangs off it. Rows were once matched by
place (the third note of its parent, the second line of its block), so one note removed or
added above shifted every note after it onto its neighbour's row, answers and tags included.

Here siblings are matched by what they say, in order, as ``diff`` matches lines: the longest
runs of equal items first (difflib), then, within a stretch that differs on both sides, item by
item by place, which is a note edited where it stands. Whatever is left over is new, or goes.
Two stored siblings that say the same (an editor can put two notes at one place) are two rows:
the file keeps as many of them as it holds.

Saving (``talks.documents.save_day``) and the preview of what saving would remove
(``talks.importing.removals``) both ask this module, so the preview is what saving does.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .documents import HighlightDoc, SnippetDoc, TalkDoc


def align(stored: Sequence[Hashable], wanted: Sequence[Hashable]) -> list[int | None]:
    """For each wanted item, the index of the stored item it lands on, or None (a new one).

    Every stored index is used at most once, in order: equal runs pair up, and in a stretch
    that differs on both sides the items pair up by place.
    """
    if list(stored) == list(wanted):  # the usual re-import: nothing changed here
        return list(range(len(wanted)))
    landing: list[int | None] = [None] * len(wanted)
    # autojunk: in a list of 200 or more, an item found in more than 1% of it (a "TODO" note
    # repeated) anchors no match, only extends one; without it, 5,000 equal notes took 7 s.
    matcher = difflib.SequenceMatcher(None, stored, wanted)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in {"equal", "replace"}:
            for offset in range(min(i2 - i1, j2 - j1)):
                landing[j1 + offset] = i1 + offset
    return landing


@dataclass(frozen=True)
class StoredNote:
    pk: int
    talk_id: int
    parent_id: int | None
    position: int
    text: str


@dataclass(frozen=True)
class StoredBlock:
    pk: int
    talk_id: int
    position: int
    caption: str
    commands: tuple[str, ...]


@dataclass(frozen=True)
class StoredLine:
    pk: int
    snippet_id: int
    position: int
    command: str


def _by_place(rows: Iterable, group) -> dict:
    groups = defaultdict(list)
    for row in rows:
        groups[group(row)].append(row)
    for siblings in groups.values():
        siblings.sort(key=lambda row: (row.position, row.pk))
    return groups


def notes(stored: Iterable[StoredNote], talks: Sequence[tuple[int, TalkDoc]]) -> dict[int, int]:
    """``{id(note document): pk}`` for the notes of the stored talks ``talks`` (talk pk and
    its document) that land on a stored note; a note that lands nowhere is new, and so are
    its children."""
    groups = _by_place(stored, lambda row: (row.talk_id, row.parent_id))
    found: dict[int, int] = {}
    level = [(talk_pk, None, talk.highlights) for talk_pk, talk in talks]
    while level:
        following = []
        for talk_pk, parent_pk, docs in level:
            siblings = groups.get((talk_pk, parent_pk), [])
            landing = align([row.text for row in siblings], [doc.text for doc in docs])
            for doc, index in zip(docs, landing, strict=True):
                if index is None:
                    continue
                pk = siblings[index].pk
                found[id(doc)] = pk
                if doc.children:
                    following.append((talk_pk, pk, doc.children))
        level = following
    return found


def blocks_of(talk: TalkDoc) -> list[tuple[HighlightDoc | None, SnippetDoc]]:
    """A talk's command blocks in document order: each after the note it follows (depth
    first), then the talk's own; their place in this list is their stored position."""
    return [(note, block) for note in depth_first(talk.highlights) for block in note.snippets] + [
        (None, block) for block in talk.snippets
    ]


def blocks(stored: Iterable[StoredBlock], talks: Sequence[tuple[int, TalkDoc]]) -> dict[int, int]:
    """``{id(block document): pk}`` for the blocks that land on a stored one, by caption and
    commands, per talk."""
    groups = _by_place(stored, lambda row: row.talk_id)
    found: dict[int, int] = {}
    for talk_pk, talk in talks:
        siblings = groups.get(talk_pk, [])
        docs = [block for _, block in blocks_of(talk)]
        landing = align(
            [(row.caption, row.commands) for row in siblings],
            [(doc.caption, tuple(doc.lines)) for doc in docs],
        )
        found.update(
            (id(doc), siblings[index].pk)
            for doc, index in zip(docs, landing, strict=True)
            if index is not None
        )
    return found


def lines(
    stored: Sequence[StoredLine], blocks: Sequence[tuple[int | None, SnippetDoc]]
) -> dict[tuple[int, int], int]:
    """``{(id(block document), line index): pk}`` for the lines of the blocks (stored pk, or
    None for a new block, and document) that land on a stored line: by command within their
    block, then, for a line moved to another block (or a block split in two), by the same
    command left over from any block of the day, so that it keeps its row and run history."""
    groups = _by_place(stored, lambda row: row.snippet_id)
    found: dict[tuple[int, int], int] = {}
    for snippet_pk, doc in blocks:
        siblings = groups.get(snippet_pk, [])
        landing = align([row.command for row in siblings], doc.lines)
        found.update(
            ((id(doc), position), siblings[index].pk)
            for position, index in enumerate(landing)
            if index is not None
        )
    taken = set(found.values())
    left_over: dict[str, list[int]] = defaultdict(list)  # the day's first last, to pop()
    for row in sorted(stored, key=lambda row: (row.snippet_id, row.position, row.pk), reverse=True):
        if row.pk not in taken:
            left_over[row.command].append(row.pk)
    for _, doc in blocks:
        for position, command in enumerate(doc.lines):
            if (id(doc), position) not in found and left_over.get(command):
                found[(id(doc), position)] = left_over[command].pop()
    return found


def tree_order(notes: Iterable[tuple[int, int | None, int]]) -> list[tuple[int, int]]:
    """Stored notes of one talk, as ``(pk, parent pk, position)``, in the order of the day
    page, each followed by the notes under it: ``(pk, depth)``. Notes in a loop (possible only
    outside the admin, which refuses one) come last, by position."""
    rows = sorted(notes, key=lambda row: (row[2], row[0]))
    children: dict[int | None, list[int]] = {}
    for pk, parent_id, _ in rows:
        children.setdefault(parent_id, []).append(pk)
    depths: dict[int, int] = {}
    stack = [(pk, 0) for pk in reversed(children.get(None, []))]
    while stack:
        pk, depth = stack.pop()
        depths[pk] = depth
        stack.extend((child, depth + 1) for child in reversed(children.get(pk, [])))
    return [*depths.items(), *((pk, 0) for pk, _, _ in rows if pk not in depths)]


def depth_first(docs: list[HighlightDoc]) -> Iterator[HighlightDoc]:
    stack = list(reversed(docs))
    while stack:
        doc = stack.pop()
        yield doc
        stack.extend(reversed(doc.children))
