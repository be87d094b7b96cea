"""What the admin's import preview shows: each day's structure, cut short on large documents,
and what importing it would change in the stored day: what it removes, and the stored texts it
replaces with the file's.

A preview of 100,000 notes would be megabytes of HTML that nobody reads: each talk shows its
first ``NOTES_PER_TALK`` notes (depth first), the whole preview at most ``MAX_SHOWN_NOTES``,
and the rest are counted ("… and 99,950 more notes"). The import still saves everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..documents import DayDoc, HighlightDoc, SnippetDoc, TalkDoc
from ..models import Conference, Day
from .checks import conference_changes
from .detect import find_links
from .landing import land
from .overwrites import Overwrites, overwrites
from .removals import Removals, removals
from .result import ParseResult
from .service import day_stats

NOTES_PER_TALK = 50
MAX_SHOWN_NOTES = 500
MAX_SHOWN_TALKS = 200


@dataclass
class NotePreview:
    """A highlight as the preview shows it: with the links found in it."""

    text: str
    style: str
    kind: str
    line: int | None
    links: list[str]
    snippets: list[SnippetDoc]
    children: list[NotePreview] = field(default_factory=list)


@dataclass
class TalkPreview:
    talk: TalkDoc
    notes: list[NotePreview]
    hidden: int  # notes of this talk not shown


@dataclass
class DayPreview:
    doc: DayDoc
    stats: str
    existing: Day | None
    conference_exists: bool
    talks: list[TalkPreview]
    hidden_talks: int
    hidden_notes: int  # in all, shown talks' and hidden talks'
    removals: Removals
    overwrites: Overwrites  # the stored texts the file's replace
    conference_changes: list[str] = field(default_factory=list)  # in words
    missing_permissions: list[str] = field(default_factory=list)


class _Budget:
    def __init__(self, total: int) -> None:
        self.total = total

    def take(self, wanted: int) -> int:
        given = min(wanted, self.total)
        self.total -= given
        return given


def _count(highlights: list[HighlightDoc]) -> int:
    count, stack = 0, list(highlights)
    while stack:
        doc = stack.pop()
        count += 1
        stack.extend(doc.children)
    return count


def _shown_notes(highlights: list[HighlightDoc], limit: int) -> list[NotePreview]:
    """The first ``limit`` notes, depth first, as a tree (no recursion: nesting is unbounded
    in hostile input, and the parser caps it only when it reads)."""
    roots: list[NotePreview] = []
    stack: list[tuple[HighlightDoc, list[NotePreview]]] = [(h, roots) for h in reversed(highlights)]
    shown = 0
    while stack and shown < limit:
        doc, siblings = stack.pop()
        note = NotePreview(
            text=doc.text,
            style=doc.style,
            kind=doc.kind,
            line=doc.source_line,
            links=find_links(doc.text),
            snippets=doc.snippets,
        )
        siblings.append(note)
        shown += 1
        stack.extend((child, note.children) for child in reversed(doc.children))
    return roots


def day_previews(result: ParseResult) -> list[DayPreview]:
    budget = _Budget(MAX_SHOWN_NOTES)
    previews = []
    for doc in result.days:
        conference = Conference.objects.filter(slug=doc.conference.slug).first()
        existing = conference.days.filter(number=doc.number).first() if conference else None
        landing = land(doc, existing) if existing else None
        talks, hidden = [], 0
        for index, talk in enumerate(doc.talks):
            total = _count(talk.highlights)
            if index >= MAX_SHOWN_TALKS:
                hidden += total
                continue
            shown = budget.take(min(total, NOTES_PER_TALK))
            notes = _shown_notes(talk.highlights, shown) if shown else []
            talks.append(TalkPreview(talk, notes, total - shown))
            hidden += total - shown
        previews.append(
            DayPreview(
                doc=doc,
                stats=str(day_stats(doc)),
                existing=existing,
                conference_exists=conference is not None,
                conference_changes=conference_changes(doc.conference, conference),
                talks=talks,
                hidden_talks=max(0, len(doc.talks) - MAX_SHOWN_TALKS),
                hidden_notes=hidden,
                removals=removals(doc, existing, landing),
                overwrites=overwrites(doc, existing, landing),
            )
        )
    return previews
