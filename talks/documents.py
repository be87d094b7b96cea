"""Notes as plain data, and saving them: shared by the demo content and the importers.

A ``DayDoc`` is a whole day of notes in the model's structure, independent of any file format.
``save_day`` writes one atomically and idempotently: saving the same document twice changes
nothing, and saving an edited one updates rows in place (talks matched by slug, notes, blocks
and lines by what they say among their siblings: ``talks.matching``), so a note keeps its
answer, tags and anchor, and a command line its run history, across re-imports.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from django.db import connections, router, transaction
from django.db.models import Field
from django.utils.text import slugify

from . import cache, matching, search
from .markdown import highlight_shell
from .models import Conference, Day, Highlight, Snippet, SnippetLine, Tag, Talk, tag_slug


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
    # A follow-up's answer. A document that gives none of the three leaves the stored answer
    # alone (notes as pasted from a blog never carry one); one that gives any replaces it.
    resolved_at: dt.datetime | None = None
    resolution: str = ""
    resolution_url: str = ""

    @property
    def gives_resolution(self) -> bool:
        return bool(self.resolved_at or self.resolution or self.resolution_url)


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
    # Day fields the source did not hold at all (an imported file without an intro, summary or
    # sign-off): saving updates an existing day's other fields and leaves these as stored.
    absent: frozenset[str] = frozenset()


# What ``DayDoc.absent`` may name; the sign-off's two fields come and go together.
DAY_TEXT_FIELDS = ("title", "intro", "summary", "author", "author_title", "next_day_title")


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


_SEPARATORS = re.compile(r"[\s_-]+")


def _loose(name: str) -> str:
    """A tag's name with case, spaces, hyphens and underscores set aside: "Swarm Mode",
    "swarm-mode" and "swarm_mode" are one tag."""
    return _SEPARATORS.sub("-", name.casefold()).strip("-")


class _TagCache:
    """Tags by name (ignoring case) or slug, fetched once per save and created on first use.

    A tag renamed in the admin keeps its slug, and one may be given a slug of its own: a name
    is looked up as a name first, then by its slug, so an existing tag is reused, never
    created twice. A slug made from another name is no match, though: "hot" is not the tag
    "🔥hot", whose slug is "hot" too; the new tag gets a slug of its own (Tag.save).
    """

    def __init__(self) -> None:
        tags = list(Tag.objects.all())
        self._by_slug = {tag.slug: tag for tag in tags}
        self._by_name = {tag.name.casefold(): tag for tag in tags}

    def ids(self, names: list[str]) -> set[int]:
        wanted = set()
        for name in names:
            tag = self._by_name.get(name.casefold())
            if tag is None and (found := self._by_slug.get(tag_slug(name))) is not None:
                renamed = found.slug != tag_slug(found.name)  # or given a slug of its own
                tag = found if renamed or _loose(found.name) == _loose(name) else None
            if tag is None:
                tag = Tag.objects.create(name=name)
                self._by_slug[tag.slug] = tag
                self._by_name[name.casefold()] = tag
            wanted.add(tag.pk)
        return wanted


BATCH = 500


class _Matcher:
    """Rows of one model, matched to what a document wants (by key), written in bulk.

    ``place`` returns the existing row for a key (None: none), updated in memory, or a new
    unsaved one, and notes what must be created or updated; ``write`` sends that in a few bulk
    queries. Bulk writes skip ``save()`` and signals, so ``prepare`` does what ``save()`` would
    (render the HTML), and the caller indexes and versions what was written.
    """

    def __init__(
        self, queryset, fields: tuple[str, ...], report: SaveReport, prepare=None, key=None
    ):
        self.model, self.fields, self.report, self.prepare = queryset.model, fields, report, prepare
        key = key or (lambda row: row.pk)
        self.existing = {key(row): row for row in queryset.order_by()}
        self.kept: set[int] = set()
        self._created: list = []
        self._updated: list = []
        fields = self.model._meta.concrete_fields
        self._attnames = [field.attname for field in fields]
        # The fields a document leaves out, as a new instance would have them.
        self._per_row = [f for f in fields if f.has_default() and callable(f.default)]
        self._defaults = {
            field.attname: field.get_default()
            for field in fields
            if field not in self._per_row and not field.primary_key
        }

    def _new(self, lookup: dict, values: dict):
        """``model(**lookup, **values)`` by position, which skips most of Model.__init__
        (a tenth of a large import); every key is a field's attname."""
        given = {**self._defaults, **lookup, **values}
        for dynamic in self._per_row:
            given.setdefault(dynamic.attname, dynamic.get_default())
        return self.model(*[given.get(name) for name in self._attnames])

    def place(self, key, lookup: dict, values: dict):
        row = self.existing.get(key)
        if row is None:
            row = self._new(lookup, values)
            self._created.append(row)
        else:
            self.kept.add(row.pk)
            if any(getattr(row, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(row, name, value)
                self._updated.append(row)
            else:
                self.report.unchanged += 1
        return row

    def write(self) -> list:
        """Write what ``place`` collected since the last call; returns the rows written."""
        created, updated = self._created, self._updated
        self._created, self._updated = [], []
        if self.prepare is not None:
            for row in created + updated:
                self.prepare(row)
        _insert(self.model, created)
        if updated:
            self.model.objects.bulk_update(updated, self.fields, batch_size=BATCH)
        self.kept.update(row.pk for row in created)
        self.report.created += len(created)
        self.report.updated += len(updated)
        return created + updated

    def stale(self) -> list:
        """Existing rows that the document no longer has."""
        return [row for row in self.existing.values() if row.pk not in self.kept]


def _insert(model, rows: list) -> None:
    """``bulk_create(rows)`` for new rows of plain fields, setting their pks, at a fraction of
    the cost: bulk_create compiles every value through the ORM, which was half of a 1 MB
    import (11,000 highlights). Same SQL as bulk_create writes (INSERT ... RETURNING)."""
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    if not connection.features.can_return_rows_from_bulk_insert:
        model.objects.bulk_create(rows, batch_size=BATCH)
        return
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    # Fields whose value is decided on save (auto_now and the like) go through pre_save.
    on_save = {field.attname for field in fields if _decided_on_save(field)}
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    one_row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_query = min(BATCH, (connection.features.max_query_params or BATCH**2) // len(fields))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_query):
            batch = rows[start : start + per_query]
            params = []
            for row in batch:
                for field in fields:
                    if field.attname in on_save:
                        value = field.pre_save(row, True)
                    else:
                        value = row.__dict__[field.attname]
                    if value is not None and not isinstance(value, str | int):
                        value = field.get_db_prep_save(value, connection)
                    params.append(value)
            cursor.execute(
                f"INSERT INTO {quote(model._meta.db_table)} ({columns})"  # noqa: S608
                f" VALUES {', '.join([one_row] * len(batch))}"
                f" RETURNING {quote(model._meta.pk.column)}",
                params,
            )
            for row, (pk,) in zip(batch, cursor.fetchall(), strict=True):
                row.pk = pk
                row._state.adding = False
                row._state.db = connection.alias


def _decided_on_save(field) -> bool:
    return type(field).pre_save is not Field.pre_save or getattr(field, "auto_now_add", False)


def _delete(model, pks: list[int]) -> int:
    """Delete rows by pk through the ORM (so cascades and signals run), in batches."""
    deleted = 0
    for start in range(0, len(pks), BATCH):
        deleted += model.objects.filter(pk__in=pks[start : start + BATCH]).delete()[0]
    return deleted


def _sync_tags(through, owner: str, within: dict, want: set[tuple[int, int]]) -> bool:
    """Make the (owner, tag) pairs of ``through`` among ``within`` equal ``want``.

    One read, then bulk writes; returns whether anything changed.
    """
    have = set(through.objects.filter(**within).values_list(f"{owner}_id", "tag_id"))
    if want == have:
        return False
    gone: dict[int, list[int]] = {}
    for owner_id, tag_id in have - want:
        gone.setdefault(owner_id, []).append(tag_id)
    for owner_id, tag_ids in gone.items():
        through.objects.filter(**{f"{owner}_id": owner_id, "tag_id__in": tag_ids}).delete()
    through.objects.bulk_create(
        [through(**{f"{owner}_id": o, "tag_id": t}) for o, t in want - have], batch_size=BATCH
    )
    return True


_RESOLUTION_FIELDS = ("resolved_at", "resolution", "resolution_url")


def _highlight_values(doc: HighlightDoc) -> dict:
    values = {"text": doc.text, "style": doc.style, "kind": doc.kind}
    if doc.gives_resolution:
        values.update({name: getattr(doc, name) for name in _RESOLUTION_FIELDS})
    return values


def _render_line(line: SnippetLine) -> None:
    line.command_html = highlight_shell(line.command)  # what SnippetLine.save() does


class _DaySync:
    """Saves a day's talks, highlights, snippets and lines with one read per table.

    Talks are matched by slug; notes, blocks and lines by what they say among their siblings
    (``talks.matching``), so unchanged rows, with the answers and tags of notes and the run
    history of lines, survive a re-import, wherever lines were added or removed. A day of any
    size costs a few dozen queries.
    """

    def __init__(self, day: Day, report: SaveReport, tags: _TagCache) -> None:
        self.day, self.report, self.tags = day, report, tags
        self.changed = False
        self.documents: list[search.Document] = []  # index rows of what was written

    def save(self, docs: list[TalkDoc]) -> None:
        slugs = [doc.slug for doc in docs]
        if len(set(slugs)) != len(slugs):
            raise ValueError("Two talks of the day have the same slug.")
        talks, rows = self._talks(docs)
        pairs = list(zip(rows, docs, strict=True))
        want = {(talk.pk, tag) for talk, doc in pairs for tag in self.tags.ids(doc.tags)}
        self.changed |= _sync_tags(Talk.tags.through, "talk", {"talk__day": self.day}, want)
        highlights, rows = self._highlights(pairs)
        snippets = self._snippets(pairs, rows)
        # Children before parents, so nothing is left to cascade but lines and run history.
        for matcher in (snippets, highlights, talks):
            self.report.deleted += _delete(matcher.model, [row.pk for row in matcher.stale()])
        if self.documents:
            search.index_documents(self.documents)
        if self.documents or self.changed or self.report.deleted:
            cache.bump_notes_version()

    def _talks(self, docs: list[TalkDoc]) -> tuple[_Matcher, list[Talk]]:
        matcher = _Matcher(
            Talk.objects.filter(day=self.day),
            ("position", "kind", "title", "session_url"),
            self.report,
            key=lambda talk: talk.slug,
        )
        talks = [
            matcher.place(
                doc.slug,
                {"day_id": self.day.pk, "slug": doc.slug},
                {
                    "position": position,
                    "kind": doc.kind,
                    "title": doc.title,
                    "session_url": doc.session_url,
                },
            )
            for position, doc in enumerate(docs)
        ]
        self.documents += [
            search.talk_document(pk=talk.pk, day_id=self.day.pk, title=talk.title)
            for talk in matcher.write()
        ]
        return matcher, talks

    def _highlights(self, pairs: list[tuple[Talk, TalkDoc]]) -> tuple[_Matcher, dict]:
        """All talks' highlight trees, a level at a time (a level needs its parents' pks).

        Returns the matcher and the row saved for each document, by ``id(doc)``.
        """
        matcher = _Matcher(
            Highlight.objects.filter(talk__day=self.day),
            (
                "position",
                "text",
                "style",
                "kind",
                "text_html",
                *_RESOLUTION_FIELDS,
                "resolution_html",
            ),
            self.report,
            prepare=Highlight.render,
        )
        stored = [
            matching.StoredNote(row.pk, row.talk_id, row.parent_id, row.position, row.text)
            for row in matcher.existing.values()
        ]
        landing = matching.notes(stored, [(talk.pk, doc) for talk, doc in pairs])
        rows: dict[int, Highlight] = {}
        level = [(talk, None, doc.highlights) for talk, doc in pairs]
        while level:
            placed = [
                (
                    talk,
                    matcher.place(
                        landing.get(id(doc)),
                        {"talk_id": talk.pk, "parent_id": parent_id},
                        {"position": position, **_highlight_values(doc)},
                    ),
                    doc,
                )
                for talk, parent_id, children in level
                for position, doc in enumerate(children)
            ]
            self.documents += [
                search.highlight_document(
                    pk=row.pk,
                    talk_id=row.talk_id,
                    day_id=self.day.pk,
                    style=row.style,
                    text_html=row.text_html,
                    resolution_html=row.resolution_html,
                )
                for row in matcher.write()
            ]
            rows.update((id(doc), row) for _, row, doc in placed)
            level = [(talk, row.pk, doc.children) for talk, row, doc in placed if doc.children]
        want = {
            (rows[id(doc)].pk, tag)
            for _, talk_doc in pairs
            for doc in matching.depth_first(talk_doc.highlights)
            for tag in self.tags.ids(doc.tags)
        }
        within = {"highlight__talk__day": self.day}
        self.changed |= _sync_tags(Highlight.tags.through, "highlight", within, want)
        return matcher, rows

    def _snippets(self, pairs: list[tuple[Talk, TalkDoc]], rows: dict) -> _Matcher:
        """Snippets numbered per talk in document order (depth first, each after the highlight
        it follows, then the talk's own), then their lines."""
        matcher = _Matcher(
            Snippet.objects.filter(talk__day=self.day),
            ("position", "highlight", "caption", "language"),
            self.report,
        )
        lines = _Matcher(
            SnippetLine.objects.filter(snippet__talk__day=self.day),
            ("snippet", "position", "command", "command_html"),
            self.report,
            prepare=_render_line,
        )
        stored_lines = [
            matching.StoredLine(row.pk, row.snippet_id, row.position, row.command)
            for row in lines.existing.values()
        ]
        commands: dict[int, list[str]] = {}
        for line in sorted(stored_lines, key=lambda line: (line.position, line.pk)):
            commands.setdefault(line.snippet_id, []).append(line.command)
        stored = [
            matching.StoredBlock(
                row.pk, row.talk_id, row.position, row.caption, tuple(commands.get(row.pk, ()))
            )
            for row in matcher.existing.values()
        ]
        landing = matching.blocks(stored, [(talk.pk, doc) for talk, doc in pairs])
        wanted: list[tuple[Snippet, SnippetDoc]] = []
        for talk, talk_doc in pairs:
            for position, (note, doc) in enumerate(matching.blocks_of(talk_doc)):
                row = matcher.place(
                    landing.get(id(doc)),
                    {"talk_id": talk.pk},
                    {
                        "position": position,
                        "highlight_id": rows[id(note)].pk if note else None,
                        "caption": doc.caption,
                        "language": doc.language,
                    },
                )
                wanted.append((row, doc))
        written = {row.pk for row in matcher.write()}
        written |= self._lines(wanted, lines, stored_lines)
        self.documents += [
            search.snippet_document(
                pk=row.pk,
                talk_id=row.talk_id,
                day_id=self.day.pk,
                caption=row.caption,
                commands=doc.lines,
            )
            for row, doc in wanted
            if row.pk in written
        ]
        return matcher

    def _lines(
        self,
        wanted: list[tuple[Snippet, SnippetDoc]],
        matcher: _Matcher,
        stored: list[matching.StoredLine],
    ) -> set[int]:
        """Every kept snippet's lines; returns the pks of the snippets whose lines changed.
        A line moved to another block keeps its row (``matching.lines``), and goes with it."""
        landing = matching.lines(stored, [(snippet.pk, doc) for snippet, doc in wanted])
        block_of = {line.pk: line.snippet_id for line in stored}
        for snippet, doc in wanted:
            for position, command in enumerate(doc.lines):
                matcher.place(
                    landing.get((id(doc), position)),
                    {},
                    {"snippet_id": snippet.pk, "position": position, "command": command},
                )
        changed = set()
        for line in matcher.write():  # a moved line changes the block it left as well
            changed |= {line.snippet_id, block_of.get(line.pk, line.snippet_id)}
        kept = {snippet.pk for snippet, _ in wanted}
        # Lines cut from a kept snippet; the lines of snippets that go leave with them.
        cut = [line for line in matcher.stale() if line.snippet_id in kept]
        self.report.deleted += _delete(SnippetLine, [line.pk for line in cut])
        return changed | {line.snippet_id for line in cut}


@transaction.atomic
def save_day(doc: DayDoc) -> tuple[Day, SaveReport]:
    """Create or update the day described by ``doc``; everything or nothing is written.

    An existing day keeps the fields named in ``doc.absent`` and its notes' answers where the
    document gives none; talks, notes and snippets the document no longer has are removed
    (``talks.importing.removals`` tells beforehand what that would be).
    """
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
    values = {"date": doc.date, **{name: getattr(doc, name) for name in DAY_TEXT_FIELDS}}
    if doc.absent and Day.objects.filter(conference=conference, number=doc.number).exists():
        values = {name: value for name, value in values.items() if name not in doc.absent}
    day = _upsert(Day, {"conference": conference, "number": doc.number}, values, report)
    _DaySync(day, report, tags).save(doc.talks)
    return day, report
