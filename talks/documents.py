"""Notes as plain data, and saving them: shared by the demo content and the importers.

A ``DayDoc`` is a whole day of notes in the model's structure, independent of any file format.
``save_day`` writes one atomically and idempotently: saving the same document twice changes
nothing, and saving an edited one updates rows in place (matched by natural keys: talk slug,
position among siblings), so snippet run history survives a re-import.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.text import slugify

from .models import Conference, Day, Highlight, Snippet, SnippetLine, Tag, Talk


@dataclass
class SnippetDoc:
    lines: list[str]
    caption: str = ""
    language: str = "console"


@dataclass
class HighlightDoc:
    text: str
    style: str = Highlight.Style.BULLET
    kind: str = Highlight.Kind.NOTE
    tags: list[str] = field(default_factory=list)
    children: list[HighlightDoc] = field(default_factory=list)
    snippets: list[SnippetDoc] = field(default_factory=list)
    source_line: int | None = None


@dataclass
class TalkDoc:
    title: str
    kind: str = Talk.Kind.TALK
    session_url: str = ""
    tags: list[str] = field(default_factory=list)
    highlights: list[HighlightDoc] = field(default_factory=list)
    snippets: list[SnippetDoc] = field(default_factory=list)
    slug: str = ""

    def __post_init__(self) -> None:
        if not self.slug:
            self.slug = slugify(self.title)[:200] or "talk"


@dataclass
class ConferenceDoc:
    name: str
    slug: str = ""
    location: str = ""
    starts_on: dt.date | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not self.slug:
            self.slug = slugify(self.name)[:200] or "conference"


@dataclass
class DayDoc:
    conference: ConferenceDoc
    number: int
    title: str
    date: dt.date | None = None
    intro: str = ""
    summary: str = ""
    author: str = ""
    author_title: str = ""
    next_day_title: str = ""
    talks: list[TalkDoc] = field(default_factory=list)


@dataclass
class SaveReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0

    def count(self, created: bool, changed: bool) -> None:
        if created:
            self.created += 1
        elif changed:
            self.updated += 1
        else:
            self.unchanged += 1


def _upsert(model, lookup: dict, values: dict, report: SaveReport):
    """get-or-create by ``lookup``; save only when a value differs (keeps timestamps honest)."""
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        obj = model(**lookup, **values)
        obj.save()
        report.count(created=True, changed=True)
        return obj
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    for name in changed:
        setattr(obj, name, values[name])
    if changed:
        obj.save()
    report.count(created=False, changed=bool(changed))
    return obj


def _tags(names: list[str]) -> list[Tag]:
    tags = []
    for name in names:
        tag = Tag.objects.filter(slug=slugify(name)).first() or Tag.objects.create(name=name)
        tags.append(tag)
    return tags


def _save_snippets(
    talk: Talk, highlight: Highlight | None, docs: list[SnippetDoc], start: int, report: SaveReport
) -> tuple[int, set[int]]:
    kept: set[int] = set()
    position = start
    for doc in docs:
        snippet = _upsert(
            Snippet,
            {"talk": talk, "position": position},
            {"highlight": highlight, "caption": doc.caption, "language": doc.language},
            report,
        )
        kept.add(snippet.pk)
        for index, command in enumerate(doc.lines):
            _upsert(
                SnippetLine, {"snippet": snippet, "position": index}, {"command": command}, report
            )
        report.deleted += snippet.lines.filter(position__gte=len(doc.lines)).delete()[0]
        position += 1
    return position, kept


def _save_highlights(
    talk: Talk,
    parent: Highlight | None,
    docs: list[HighlightDoc],
    counters: dict[str, int],
    kept: dict[str, set[int]],
    report: SaveReport,
) -> None:
    for position, doc in enumerate(docs):
        highlight = _upsert(
            Highlight,
            {"talk": talk, "parent": parent, "position": position},
            {"text": doc.text, "style": doc.style, "kind": doc.kind},
            report,
        )
        kept["highlights"].add(highlight.pk)
        wanted = {tag.pk for tag in _tags(doc.tags)}
        if set(highlight.tags.values_list("pk", flat=True)) != wanted:
            highlight.tags.set(wanted)
        counters["snippet"], snippet_ids = _save_snippets(
            talk, highlight, doc.snippets, counters["snippet"], report
        )
        kept["snippets"] |= snippet_ids
        _save_highlights(talk, highlight, doc.children, counters, kept, report)


@transaction.atomic
def save_day(doc: DayDoc) -> tuple[Day, SaveReport]:
    """Create or update the day described by ``doc``; everything or nothing is written."""
    report = SaveReport()
    conference = _upsert(
        Conference,
        {"slug": doc.conference.slug},
        {
            "name": doc.conference.name,
            "location": doc.conference.location,
            "starts_on": doc.conference.starts_on,
            "description": doc.conference.description,
        },
        report,
    )
    day = _upsert(
        Day,
        {"conference": conference, "number": doc.number},
        {
            "title": doc.title,
            "date": doc.date,
            "intro": doc.intro,
            "summary": doc.summary,
            "author": doc.author,
            "author_title": doc.author_title,
            "next_day_title": doc.next_day_title,
        },
        report,
    )
    talk_ids = []
    for position, talk_doc in enumerate(doc.talks):
        talk = _upsert(
            Talk,
            {"day": day, "slug": talk_doc.slug},
            {
                "position": position,
                "kind": talk_doc.kind,
                "title": talk_doc.title,
                "session_url": talk_doc.session_url,
            },
            report,
        )
        talk_ids.append(talk.pk)
        wanted = {tag.pk for tag in _tags(talk_doc.tags)}
        if set(talk.tags.values_list("pk", flat=True)) != wanted:
            talk.tags.set(wanted)
        kept: dict[str, set[int]] = {"highlights": set(), "snippets": set()}
        counters = {"snippet": 0}
        _save_highlights(talk, None, talk_doc.highlights, counters, kept, report)
        counters["snippet"], trailing = _save_snippets(
            talk, None, talk_doc.snippets, counters["snippet"], report
        )
        kept["snippets"] |= trailing
        report.deleted += talk.snippets.exclude(pk__in=kept["snippets"]).delete()[0]
        report.deleted += talk.highlights.exclude(pk__in=kept["highlights"]).delete()[0]
    report.deleted += day.talks.exclude(pk__in=talk_ids).delete()[0]
    return day, report
