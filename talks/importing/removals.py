"""What importing a day would remove from the stored one, counted before anything is written.

``save_day`` matches rows by natural key (talk slug; parent and position among siblings;
snippet position in its talk; line position in its snippet) and removes what the document no
longer has. ``removals`` walks the same keys over the stored rows, read once per table, so the
preview and the import command can say what would go and ask before it does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db.models import Count

from ..documents import DAY_TEXT_FIELDS, DayDoc, HighlightDoc, TalkDoc
from ..models import Day, Highlight, Snippet, SnippetLine, Talk

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
    notes: int = 0
    answers: int = 0  # resolved follow-ups among the notes that go: their answers go too
    snippets: int = 0
    lines: int = 0
    runs: int = 0  # saved run outputs that would lose their command line
    replaced: list[str] = field(default_factory=list)  # day texts the file rewrites
    kept: list[str] = field(default_factory=list)  # day texts the file does not hold

    def __bool__(self) -> bool:
        return bool(self.talks or self.notes or self.snippets or self.lines)

    def describe(self) -> str:
        """One sentence for people: "3 talks (…), 45 notes (…) and 1 snippet (…)"."""
        parts = []
        if self.talks:
            shown = ", ".join(f"“{title}”" for title in self.talks[:5])
            more = len(self.talks) - 5
            shown += f" and {more:,} more" if more > 0 else ""
            parts.append(f"{_plural(len(self.talks), 'talk')} ({shown})")
        if self.notes:
            notes = _plural(self.notes, "note")
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
            if self.runs:
                text += (
                    f"; {_plural(self.runs, 'saved run output')} would lose "
                    f"{'its line' if self.runs == 1 else 'their lines'}"
                )
            parts.append(text)
        if len(parts) > 1:
            return ", ".join(parts[:-1]) + " and " + parts[-1]
        return parts[0] if parts else "nothing"


def fingerprint(planned: Iterable[tuple[DayDoc, Removals]]) -> str:
    """A short digest of what an import would remove, to tell at confirm time whether it is
    still what the editor saw in the preview (the stored day may have changed meanwhile).
    Saved runs are left out: visitors add them all the time, and they only lose their line."""
    seen = [
        {"day": [doc.conference.slug, doc.number], "talks": found.talks, "notes": found.notes}
        | {"answers": found.answers, "snippets": found.snippets, "lines": found.lines}
        for doc, found in planned
    ]
    return hashlib.sha256(json.dumps(seen).encode()).hexdigest()[:32]


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def removals(doc: DayDoc, day: Day | None) -> Removals:
    """What saving ``doc`` over ``day`` (None: a new day) would remove or leave as stored."""
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
    stored = Talk.objects.filter(day=day).values_list("slug", "pk", "title")
    talks = {slug: (pk, title) for slug, pk, title in stored}
    kept_talks = {talks[talk.slug][0]: talk for talk in doc.talks if talk.slug in talks}
    found.talks = [title for pk, title in talks.values() if pk not in kept_talks]

    rows = Highlight.objects.filter(talk__day=day).order_by()
    by_key = {
        (talk_id, parent_id, position): (pk, resolved)
        for pk, talk_id, parent_id, position, resolved in rows.values_list(
            "pk", "talk_id", "parent_id", "position", "resolved_at"
        )
    }
    kept_notes = _kept_highlights(kept_talks, by_key)
    gone = [resolved for pk, resolved in by_key.values() if pk not in kept_notes]
    found.notes = len(gone)
    found.answers = sum(1 for resolved in gone if resolved)

    snippets = {
        (talk_id, position): pk
        for pk, talk_id, position in Snippet.objects.filter(talk__day=day)
        .order_by()
        .values_list("pk", "talk_id", "position")
    }
    wanted_lines = {}  # kept snippet pk -> how many lines the document gives it
    for talk_pk, talk in kept_talks.items():
        blocks = [s for h in _depth_first(talk.highlights) for s in h.snippets] + talk.snippets
        for position, snippet in enumerate(blocks):
            pk = snippets.get((talk_pk, position))
            if pk is not None:
                wanted_lines[pk] = len(snippet.lines)
    found.snippets = sum(1 for pk in snippets.values() if pk not in wanted_lines)
    lines = SnippetLine.objects.filter(snippet__talk__day=day).order_by()
    if _runs_are_recorded():
        counted = lines.annotate(runs_count=Count("runs")).values_list(
            "snippet_id", "position", "runs_count"
        )
    else:
        counted = ((snippet, position, 0) for snippet, position in lines.values_list(
            "snippet_id", "position"
        ))  # fmt: skip
    for snippet_pk, position, runs in counted:
        if snippet_pk not in wanted_lines or position >= wanted_lines[snippet_pk]:
            found.lines += 1
            found.runs += runs
    return found


def _labels(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(_LABELS[name] for name in names))


def _kept_highlights(kept_talks: dict[int, TalkDoc], by_key: dict) -> set[int]:
    """The pks of stored notes that the document's notes land on, level by level."""
    kept: set[int] = set()
    level = [(talk_pk, None, talk.highlights) for talk_pk, talk in kept_talks.items()]
    while level:
        following = []
        for talk_pk, parent_pk, docs in level:
            for position, doc in enumerate(docs):
                match = by_key.get((talk_pk, parent_pk, position))
                if match is None:
                    continue  # a new note: its children are new too
                kept.add(match[0])
                if doc.children:
                    following.append((talk_pk, match[0], doc.children))
        level = following
    return kept


def _depth_first(docs: list[HighlightDoc]) -> Iterator[HighlightDoc]:
    stack = list(reversed(docs))
    while stack:
        doc = stack.pop()
        yield doc
        stack.extend(reversed(doc.children))


def _runs_are_recorded() -> bool:
    """The runner records runs against lines (``SnippetLine.runs``); notes work without it."""
    return any(rel.get_accessor_name() == "runs" for rel in SnippetLine._meta.related_objects)
