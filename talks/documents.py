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


class _TagCache:
    """Tags by slug, fetched once per save and created on first use."""

    def __init__(self) -> None:
        self._by_slug = {tag.slug: tag for tag in Tag.objects.all()}

    def ids(self, names: list[str]) -> set[int]:
        wanted = set()
        for name in names:
            slug = slugify(name)
            tag = self._by_slug.get(slug)
            if tag is None:
                tag = self._by_slug[slug] = Tag.objects.create(name=name, slug=slug)
            wanted.add(tag.pk)
        return wanted


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


_HIGHLIGHT_FIELDS = ("text", "style", "kind")


def _sync_highlights(
    talk: Talk, docs: list[HighlightDoc], tags: _TagCache, report: SaveReport
) -> dict[int, tuple[Highlight, HighlightDoc]]:
    """Match the talk's highlight tree to ``docs`` level by level, in bulk.

    Rows are matched by (parent, position) and written with bulk_create/bulk_update, so a
    talk costs a handful of queries whatever its size; returns (row, doc) by ``id(doc)``.
    """
    existing = {(h.parent_id, h.position): h for h in Highlight.objects.filter(talk=talk)}
    rows: dict[int, tuple[Highlight, HighlightDoc]] = {}
    written: list[Highlight] = []
    level: list[tuple[int | None, list[HighlightDoc]]] = [(None, docs)]
    while level:
        created, updated, placed = [], [], []
        for parent_id, children in level:
            for position, doc in enumerate(children):
                row = existing.get((parent_id, position))
                values = {"text": doc.text, "style": doc.style, "kind": doc.kind}
                if row is None:
                    row = Highlight(talk=talk, parent_id=parent_id, position=position, **values)
                    created.append(row)
                elif any(getattr(row, name) != value for name, value in values.items()):
                    for name, value in values.items():
                        setattr(row, name, value)
                    updated.append(row)
                else:
                    report.unchanged += 1
                placed.append((row, doc))
        for row in created + updated:  # what Highlight.save() would do; bulk writes skip it
            row.render()
        Highlight.objects.bulk_create(created, batch_size=500)
        Highlight.objects.bulk_update(
            updated, [*_HIGHLIGHT_FIELDS, "text_html", "resolution_html"], batch_size=500
        )
        report.created += len(created)
        report.updated += len(updated)
        written += created + updated
        for row, doc in placed:
            rows[id(doc)] = (row, doc)
        level = [(row.pk, doc.children) for row, doc in placed if doc.children]
    _sync_highlight_tags(talk, rows, tags)
    _index(written, talk)
    return rows


def _sync_highlight_tags(
    talk: Talk, rows: dict[int, tuple[Highlight, HighlightDoc]], tags: _TagCache
) -> None:
    """Set every highlight's tags as its document says, with one read and bulk writes."""
    through = Highlight.tags.through
    have = set(through.objects.filter(highlight__talk=talk).values_list("highlight_id", "tag_id"))
    want = {(row.pk, tag_id) for row, doc in rows.values() for tag_id in tags.ids(doc.tags)}
    if want == have:
        return
    for highlight_id, tag_id in have - want:
        through.objects.filter(highlight_id=highlight_id, tag_id=tag_id).delete()
    through.objects.bulk_create(
        [through(highlight_id=h, tag_id=t) for h, t in want - have], batch_size=500
    )
    from . import cache

    cache.bump_notes_version()


def _index(rows: list[Highlight], talk: Talk) -> None:
    """Bulk writes send no signals: index the rows and version the cached pages here."""
    from . import cache, search

    if not rows:
        return
    search.index_documents(
        search.highlight_document(
            pk=row.pk,
            talk_id=talk.pk,
            day_id=talk.day_id,
            style=row.style,
            text_html=row.text_html,
            resolution_html=row.resolution_html,
        )
        for row in rows
    )
    cache.bump_notes_version()


def _save_snippet_tree(
    talk: Talk,
    docs: list[HighlightDoc],
    rows: dict[int, tuple[Highlight, HighlightDoc]],
    counter: list[int],
    kept: set[int],
    report: SaveReport,
) -> None:
    """Snippets in document order (depth first), each after the highlight it follows."""
    for doc in docs:
        if doc.snippets:
            counter[0], ids = _save_snippets(
                talk, rows[id(doc)][0], doc.snippets, counter[0], report
            )
            kept |= ids
        _save_snippet_tree(talk, doc.children, rows, counter, kept, report)


@transaction.atomic
def save_day(doc: DayDoc) -> tuple[Day, SaveReport]:
    """Create or update the day described by ``doc``; everything or nothing is written."""
    report = SaveReport()
    tags = _TagCache()
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
        wanted = tags.ids(talk_doc.tags)
        if set(talk.tags.values_list("pk", flat=True)) != wanted:
            talk.tags.set(wanted)
        rows = _sync_highlights(talk, talk_doc.highlights, tags, report)
        kept_snippets: set[int] = set()
        counter = [0]
        _save_snippet_tree(talk, talk_doc.highlights, rows, counter, kept_snippets, report)
        counter[0], trailing = _save_snippets(talk, None, talk_doc.snippets, counter[0], report)
        kept_snippets |= trailing
        kept_highlights = {row.pk for row, _ in rows.values()}
        report.deleted += talk.snippets.exclude(pk__in=kept_snippets).delete()[0]
        report.deleted += talk.highlights.exclude(pk__in=kept_highlights).delete()[0]
    report.deleted += day.talks.exclude(pk__in=talk_ids).delete()[0]
    return day, report
