"""What importing a day would remove from the stored one, found before anything is written.

``save_day`` matches talks by slug and notes, blocks and lines by what they say among their
siblings (``talks.matching``), and removes what the document no longer has. ``removals`` asks
the same over the stored rows (``landing.land``: read once per table), so the preview and the
import command can say what would go, naming it, and ask before it does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from .. import matching
from ..documents import DAY_TEXT_FIELDS, DayDoc
from ..models import Conference, Day, Highlight, Snippet, SnippetLine, Talk
from .landing import Landing, land

_LABELS = {
    "title": "title",
    "intro": "intro",
    "summary": "summary",
    "author": "sign-off",
    "author_title": "sign-off",
    "next_day_title": "next day’s title",
}


@dataclass
class Removals:
    """What an import would take away from an existing day, and what it would leave alone."""

    talks: list[str] = field(default_factory=list)  # titles of the talks that go
    talk_pks: list[int] = field(default_factory=list)
    note_pks: list[int] = field(default_factory=list)  # the notes that go, in day order
    note_texts: list[str] = field(default_factory=list)
    answers: int = 0  # resolved follow-ups among the notes that go: their answers go too
    snippet_pks: list[int] = field(default_factory=list)
    line_pks: list[int] = field(default_factory=list)  # the command lines that go
    commands: list[str] = field(default_factory=list)
    runs: int = 0  # saved run outputs that would lose their command line
    replaced: list[str] = field(default_factory=list)  # day texts the file rewrites
    kept: list[str] = field(default_factory=list)  # day texts the file does not hold

    @property
    def notes(self) -> int:
        return len(self.note_pks)

    @property
    def snippets(self) -> int:
        return len(self.snippet_pks)

    @property
    def lines(self) -> int:
        return len(self.line_pks)

    def __bool__(self) -> bool:
        return bool(self.talks or self.notes or self.snippets or self.lines)

    def describe(self) -> str:
        """One sentence for people, naming the first few of each: "1 talk (“Keynote”),
        2 notes (“Low MTTR”, “Seamless”) and 1 command line (`docker service tasks vote`)"."""
        parts = []
        if self.talks:
            parts.append(f"{_plural(len(self.talks), 'talk')} ({_some(self.talks)})")
        if self.notes:
            notes = f"{_plural(self.notes, 'note')} ({_some(self.note_texts, _quoted)})"
            if self.answers:
                notes += (
                    f", {_plural(self.answers, 'resolved follow-up')} with "
                    f"{'its answer' if self.answers == 1 else 'their answers'} among them"
                )
            parts.append(notes)
        if self.snippets or self.lines:
            text = _plural(self.lines, "command line")
            if self.snippets:
                text = f"{_plural(self.snippets, 'snippet')} ({text} in all)"
            if self.commands:
                text += f": {_some(self.commands, lambda command: f'`{_short(command)}`')}"
            if self.runs:
                text += (
                    f"; {_plural(self.runs, 'saved run output')} would lose "
                    f"{'its line' if self.runs == 1 else 'their lines'}"
                )
            parts.append(text)
        if len(parts) > 1:
            return ", ".join(parts[:-1]) + " and " + parts[-1]
        return parts[0] if parts else "nothing"


_NOTE_FIELDS = (
    *("pk", "talk_id", "parent_id", "position", "style", "kind", "text"),
    *("resolved_at", "resolution", "resolution_url"),
)


def stored_fingerprint(days: Iterable[DayDoc]) -> str:
    """A short digest of everything stored that importing ``days`` would update or remove,
    with what it holds, to tell at confirm time whether the stored days are still what the
    editor saw in the preview: whether each conference and day exists, their fields, and
    every talk, note, snippet and command line of the days (text, position, parent, kind,
    tags, answers...). An edit made meanwhile, a note added, moved or deleted, all change it.
    Saved runs are left out: visitors add them all the time, and a run only loses its line.

    A fixed number of queries (eight) whatever the size of the days."""
    keys = sorted({(doc.conference.slug, doc.number) for doc in days})
    slugs = sorted({slug for slug, _ in keys})
    digest = hashlib.sha256()

    def feed(kind: str, rows: Iterable) -> None:
        for row in rows:
            digest.update(json.dumps([kind, *row], default=str).encode())
            digest.update(b"\n")

    feed("keys", [key for key in keys])
    feed(
        "conference",
        Conference.objects.filter(slug__in=slugs)
        .order_by("slug")
        .values_list("slug", "pk", "name", "location", "starts_on", "description"),
    )
    wanted = set(keys)
    stored_days = [
        row
        for row in Day.objects.filter(conference__slug__in=slugs, number__in={n for _, n in keys})
        .order_by("conference__slug", "number")
        .values_list("conference__slug", "number", "pk", "slug", "date", *DAY_TEXT_FIELDS)
        if (row[0], row[1]) in wanted
    ]
    feed("day", stored_days)
    day_pks = [row[2] for row in stored_days]
    if not day_pks:
        return digest.hexdigest()[:32]
    in_days = {"talk__day_id__in": day_pks}
    feed(
        "talk",
        Talk.objects.filter(day_id__in=day_pks)
        .order_by("pk")
        .values_list("pk", "day_id", "position", "kind", "title", "slug", "session_url"),
    )
    feed(
        "talk-tag",
        Talk.tags.through.objects.filter(**in_days)
        .order_by("talk_id", "tag_id")
        .values_list("talk_id", "tag_id"),
    )
    feed(
        "note",
        Highlight.objects.filter(**in_days).order_by("pk").values_list(*_NOTE_FIELDS),
    )
    feed(
        "note-tag",
        Highlight.tags.through.objects.filter(highlight__talk__day_id__in=day_pks)
        .order_by("highlight_id", "tag_id")
        .values_list("highlight_id", "tag_id"),
    )
    feed(
        "snippet",
        Snippet.objects.filter(**in_days)
        .order_by("pk")
        .values_list("pk", "talk_id", "highlight_id", "position", "caption", "language"),
    )
    feed(
        "line",
        SnippetLine.objects.filter(snippet__talk__day_id__in=day_pks)
        .order_by("pk")
        .values_list("pk", "snippet_id", "position", "command"),
    )
    return digest.hexdigest()[:32]


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


SHOWN = 5  # how many of each kind describe() names
SHORT = 60  # characters of a note or command it shows


def _some(items: list[str], show=lambda item: f"“{item}”") -> str:
    shown = ", ".join(show(item) for item in items[:SHOWN])
    more = len(items) - SHOWN
    return shown + (f" and {more:,} more" if more > 0 else "")


def _quoted(text: str) -> str:
    return f"“{_short(text)}”"


def _short(text: str) -> str:
    text = " ".join(text.split())  # a note's text on one line
    return text if len(text) <= SHORT else text[: SHORT - 1].rstrip() + "…"


def removals(doc: DayDoc, day: Day | None, landing: Landing | None = None) -> Removals:
    """What saving ``doc`` over ``day`` (None: a new day) would remove or leave as stored;
    ``landing``, when given, is ``land(doc, day)`` already read."""
    found = Removals()
    if day is None:
        return found
    found.kept = _labels(name for name in DAY_TEXT_FIELDS if name in doc.absent)
    found.replaced = _labels(
        name
        for name in DAY_TEXT_FIELDS
        if name not in doc.absent and name != "title"
        and getattr(day, name) and getattr(day, name) != getattr(doc, name)
    )  # fmt: skip
    landing = landing or land(doc, day)
    kept_talk_pks = {pk for pk, _ in landing.kept_talks}
    gone_talks = [(pk, title) for pk, title in landing.talks.values() if pk not in kept_talk_pks]
    found.talks = [title for _, title in gone_talks]
    found.talk_pks = sorted(pk for pk, _ in gone_talks)

    notes = list(landing.notes.values())
    kept_notes = set(landing.note_landing.values())
    in_day_order = _day_order(notes, [pk for pk, _ in landing.talks.values()])
    gone = [note for note in in_day_order if note.pk not in kept_notes]
    found.note_pks = [note.pk for note in gone]
    found.note_texts = [note.text for note in gone]
    found.answers = sum(1 for note in gone if landing.details[note.pk].resolved_at)

    kept_block_pks = {pk for pk, _ in landing.every_block if pk is not None}
    found.snippet_pks = sorted(
        block.pk for block in landing.blocks if block.pk not in kept_block_pks
    )
    kept_lines = set(landing.line_landing.values())
    gone_lines = sorted(
        (line for line in landing.lines if line.pk not in kept_lines),
        key=lambda line: (line.snippet_id, line.position, line.pk),
    )
    found.line_pks = [line.pk for line in gone_lines]
    found.commands = [line.command for line in gone_lines]
    found.runs = sum(landing.runs[line.pk] for line in gone_lines)
    return found


def _day_order(notes: list[matching.StoredNote], talk_pks: list[int]) -> list[matching.StoredNote]:
    """The stored notes as the day page shows them: talk by talk, each tree depth first."""
    by_pk = {note.pk: note for note in notes}
    by_talk: dict[int, list[tuple[int, int | None, int]]] = {}
    for note in notes:
        by_talk.setdefault(note.talk_id, []).append((note.pk, note.parent_id, note.position))
    return [
        by_pk[pk] for talk_pk in talk_pks for pk, _ in matching.tree_order(by_talk.get(talk_pk, []))
    ]


def _labels(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(_LABELS[name] for name in names))
