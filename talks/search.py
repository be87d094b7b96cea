"""Full-text search over the notes: one interface, two engines (SQLite FTS5, PostgreSQL).

``search()`` finds talks (titles), highlights (text and answer), snippets (their commands) and
days (intro and summary), best first, each with its words marked in a short excerpt and a link
to its anchor on the day page. The index is one table, ``talks_search`` (migration 0002): an
FTS5 virtual table on SQLite, a weighted ``tsvector`` column with a GIN index on PostgreSQL.
A row's key is ``object id * 4 + kind``, so any row is found by its primary key.

Both engines index the same words: Python folds case and accents and splits text at anything
that is not a letter or a digit, so ``--update-parallelism`` is the phrase "update parallelism"
and ``instavote/vote:movies`` the phrase "instavote vote movies". The engines only match and
rank; excerpts are made here, identically for both. ``talks.signals`` keeps the index in step
with every save and delete; ``rebuild_index()`` (``manage.py rebuild_search_index``) starts over.
"""

# ruff: noqa: S608 (SQL here is built from constants and table names; values are parameters)
from __future__ import annotations

import html
import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from functools import cached_property, lru_cache
from types import SimpleNamespace
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Model
from django.urls import get_script_prefix, get_urlconf
from django.utils.safestring import SafeString

from .models import Conference, Day, Highlight, Snippet, SnippetLine, Talk

TABLE = "talks_search"
TITLES = "talks_search_titles"  # SQLite: the rows that have a title, again
MAX_QUERY_CHARS = 200
MAX_TERMS = 8
MAX_WORD_CHARS = 100
MIN_PREFIX_CHARS = 2  # a one-letter prefix would match most of the index
EXCERPT_CHARS = 200
# On SQLite scoring costs a few microseconds a match: for words found in more notes than this,
# only the newest RANK_WINDOW matches are ranked, and the newest RANK_WINDOW title matches
# (a separate, small table), so no search is slow (bench/bench_search.py). A word in more
# notes than this says little on its own; the results page suggests adding another.
RANK_WINDOW = 300
TITLE_WEIGHT = 10.0  # a word in a title counts as much as ten in a body
DAY_SUMMARY_ANCHOR = "summary-heading"  # templates/talks/day.html


class Kind(IntEnum):
    TALK = 0
    HIGHLIGHT = 1
    SNIPPET = 2
    DAY = 3


KINDS = len(Kind)
NOTHING = SafeString("")
KIND_LABELS = {Kind.TALK: "Talk", Kind.HIGHLIGHT: "Note", Kind.SNIPPET: "Commands", Kind.DAY: "Day"}


def make_key(kind: Kind, pk: int) -> int:
    return pk * KINDS + kind


_KIND_OF = tuple(Kind)  # indexing a tuple is quicker than calling the enum


def split_key(key: int) -> tuple[Kind, int]:
    return _KIND_OF[key % KINDS], key // KINDS


# Words ------------------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+")
_LONG_WORD = re.compile(rf"[^\W_]{{{MAX_WORD_CHARS + 1},}}")  # no note holds such a word


def fold(text: str) -> str:
    """Lower case without accents: ``"Déjà Vu"`` → ``"deja vu"``."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _word_spans(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, folded word)`` for each word of ``text`` (NFC), as the index sees them."""
    spans = []
    for match in _WORD.finditer(text):
        word = match.group()
        if word.isascii():  # the usual case: nothing to fold but the case
            spans.append((*match.span(), word.lower()))
        else:
            start, end = match.span()
            spans += [(start, end, part) for part in _folded_word(word)]
    return spans


@lru_cache(maxsize=4096)
def _folded_word(word: str) -> tuple[str, ...]:
    """The words a word of another script folds to (``"Zürich"`` → ``("zurich",)``; a
    ligature or a fraction may fold to several): the same words recur in every excerpt."""
    return tuple(_WORD.findall(fold(word)))


def index_text(text: str) -> str:
    """The words of ``text`` as both engines index them: folded, separated by spaces."""
    if text.isascii():  # the usual case, and what _word_spans does with it, in one pass
        return " ".join(_WORD.findall(text.lower()))
    return " ".join(word for _, _, word in _word_spans(unicodedata.normalize("NFC", text)))


@dataclass(frozen=True)
class Term:
    """Words that must appear in this order; the last may be the start of a longer word."""

    words: tuple[str, ...]
    prefix: bool

    def matches_at(self, words: Sequence[str], start: int) -> bool:
        last = len(self.words) - 1
        for offset, wanted in enumerate(self.words):
            word = words[start + offset]
            if word != wanted and not (self.prefix and offset == last and word.startswith(wanted)):
                return False
        return True


@dataclass(frozen=True)
class Query:
    text: str
    terms: tuple[Term, ...]
    shortened: bool = False
    long_words: bool = False  # words over MAX_WORD_CHARS were left out: no note has them
    short_word: bool = False  # a word too short to be a prefix (MIN_PREFIX_CHARS) ends a term

    def __bool__(self) -> bool:
        return bool(self.terms)

    @cached_property
    def ascii_terms(self) -> list[tuple[str, re.Pattern[str]]]:
        """For marking ASCII text (the usual case) quickly: each term's first word, to look
        for with str.find, and a pattern for the rest of the term from the end of that word.
        The same matches as the word-by-word way, since a word is a run of letters and digits
        (``[^\\W_]`` in ASCII)."""
        terms = []
        for term in self.terms:
            if not all(word.isascii() for word in term.words):
                continue  # folded words of other scripts: no ASCII text has them
            rest = "".join(r"[\W_]+" + re.escape(word) for word in term.words[1:])
            end = r"[^\W_]*" if term.prefix else r"(?![^\W_])"  # a longer word, or no more
            terms.append((term.words[0], re.compile(rest + end, re.ASCII)))
        return terms


def parse_query(text: str) -> Query:
    """Read what a visitor typed; never raises, whatever the input.

    Every term must match. A bare word also matches as a prefix (``swar`` finds swarm);
    ``"quoted words"`` match as a phrase, exactly once the quote is closed. Punctuation splits
    words, so a command-ish token (``--update-parallelism``) becomes a phrase. Operators
    (``AND``, ``NEAR``, ``*``, ``-``) are plain words or separators: nothing reaches an engine
    but quoted letters and digits.
    """
    text = unicodedata.normalize("NFC", text or "").strip()
    # Cut at MAX_QUERY_CHARS: "shortened" when that leaves out a word that would be searched
    # (one past the cut, not one too long for any note to hold).
    shortened = len(text) > MAX_QUERY_CHARS and any(
        match.end() > MAX_QUERY_CHARS and len(match.group()) <= MAX_WORD_CHARS
        for match in _WORD.finditer(text, MAX_QUERY_CHARS - MAX_WORD_CHARS)
    )
    text = text[:MAX_QUERY_CHARS]
    pieces = text.split('"')
    terms: list[Term] = []
    long_words = short_word = False
    for index, piece in enumerate(pieces):
        quoted = index % 2 == 1
        closed = quoted and index < len(pieces) - 1  # an odd last piece is an unclosed quote
        for chunk in [piece] if quoted else piece.split():
            all_words = [w for _, _, w in _word_spans(chunk)]
            words = tuple(w for w in all_words if len(w) <= MAX_WORD_CHARS)
            long_words = long_words or len(words) < len(all_words)
            if words:
                short = not closed and len(words[-1]) < MIN_PREFIX_CHARS
                short_word = short_word or short
                term = Term(words, prefix=not closed and not short)
                if term not in terms:
                    terms.append(term)
    if long_words:  # the words searched, as the results name them
        text = " ".join(_LONG_WORD.sub("", text).split())
    return Query(
        text,
        tuple(terms[:MAX_TERMS]),
        shortened or len(terms) > MAX_TERMS,
        long_words=long_words,
        short_word=short_word,
    )


# Documents: what one row of the index holds ------------------------------------------------------

_BLOCK_TAG = re.compile(r"</?(?:p|li|ul|ol|h\d|tr|td|th|blockquote|pre|br|hr)\b[^>]*>", re.I)
_TAG = re.compile(r"<[^>]*>")


def plain_text(fragment: str) -> str:
    """The visible text of sanitised HTML (our own rendered Markdown), on one line."""
    if "<" in fragment:
        fragment = _TAG.sub("", _BLOCK_TAG.sub(" ", fragment))
    if "&" in fragment:
        fragment = html.unescape(fragment)
    return " ".join(fragment.split())


def _join(*parts: str) -> str:
    return "\n".join(part for part in parts if part)


@dataclass(frozen=True)
class Document:
    key: int
    day_id: int
    talk_id: int | None
    title: str  # ranked above the body
    body: str


def talk_document(*, pk: int, day_id: int, title: str) -> Document:
    return Document(make_key(Kind.TALK, pk), day_id, pk, title, "")


def highlight_document(
    *, pk: int, talk_id: int, day_id: int, style: str, text_html: str, resolution_html: str
) -> Document:
    text, answer = plain_text(text_html), plain_text(resolution_html)
    if style == Highlight.Style.HEADING:  # a group heading is a title for what follows
        return Document(make_key(Kind.HIGHLIGHT, pk), day_id, talk_id, text, answer)
    return Document(make_key(Kind.HIGHLIGHT, pk), day_id, talk_id, "", _join(text, answer))


def snippet_document(
    *, pk: int, talk_id: int, day_id: int, caption: str, commands: Iterable[str]
) -> Document:
    return Document(make_key(Kind.SNIPPET, pk), day_id, talk_id, caption, _join(*commands))


def day_document(*, pk: int, title: str, intro_html: str, summary_html: str) -> Document:
    body = _join(plain_text(intro_html), plain_text(summary_html))
    return Document(make_key(Kind.DAY, pk), pk, None, title, body)


def _talk_day_id(obj: Highlight | Snippet, using: str) -> int | None:
    if type(obj).talk.is_cached(obj):
        return obj.talk.day_id
    talks = Talk.objects.using(using).filter(pk=obj.talk_id)
    return talks.values_list("day_id", flat=True).first()


def document_for(obj: Model, *, using: str = DEFAULT_DB_ALIAS) -> Document | None:
    """The index row for a talk, highlight, snippet or day as saved (None if it has no day)."""
    if isinstance(obj, Day):
        return day_document(
            pk=obj.pk, title=obj.title, intro_html=obj.intro_html, summary_html=obj.summary_html
        )
    if isinstance(obj, Talk):
        return talk_document(pk=obj.pk, day_id=obj.day_id, title=obj.title)
    if not isinstance(obj, Highlight | Snippet):
        raise TypeError(f"{type(obj).__name__} is not indexed.")
    day_id = _talk_day_id(obj, using)
    if day_id is None:
        return None
    if isinstance(obj, Highlight):
        return highlight_document(
            pk=obj.pk,
            talk_id=obj.talk_id,
            day_id=day_id,
            style=obj.style,
            text_html=obj.text_html,
            resolution_html=obj.resolution_html,
        )
    lines = SnippetLine.objects.using(using).filter(snippet_id=obj.pk).order_by("position", "id")
    return snippet_document(
        pk=obj.pk,
        talk_id=obj.talk_id,
        day_id=day_id,
        caption=obj.caption,
        commands=lines.values_list("command", flat=True),
    )


# Engines -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """Keys of one page of matches, best first; ``capped``: only the newest matches of a very
    common search were ranked (RANK_WINDOW), so adding a word finds older ones."""

    keys: list[int]
    capped: bool


class SearchEngine:
    """What differs between databases: writing rows, matching and ranking. SQL only."""

    key_column = "id"
    tables: tuple[str, ...] = (TABLE,)  # what the index is made of

    def write(self, cursor: Any, documents: Sequence[Document]) -> None:
        raise NotImplementedError

    def find(
        self, cursor: Any, query: Query, where: list[str], params: list, limit: int, offset: int
    ) -> Found:
        raise NotImplementedError

    def optimize(self, cursor: Any) -> None:
        """Make queries fast after a rebuild."""

    def delete(self, cursor: Any, keys: Sequence[int]) -> None:
        cursor.executemany(
            f"DELETE FROM {TABLE} WHERE {self.key_column} = %s", [(k,) for k in keys]
        )

    def clear(self, cursor: Any) -> None:
        cursor.execute(f"DELETE FROM {TABLE}")

    def day_of(self, cursor: Any, key: int) -> int | None:
        cursor.execute(f"SELECT day_id FROM {TABLE} WHERE {self.key_column} = %s", [key])
        row = cursor.fetchone()
        return None if row is None else int(row[0])

    def move_talk(self, cursor: Any, talk_id: int, day_id: int) -> None:
        cursor.execute(f"UPDATE {TABLE} SET day_id = %s WHERE talk_id = %s", [day_id, talk_id])

    def filters(
        self, *, conference_id: int | None, day_id: int | None, tag_id: int | None
    ) -> tuple[list[str], list]:
        """SQL conditions on index rows, read from the notes' own tables at query time, so a
        day moved to another conference or a tag added to a talk needs no re-indexing."""
        where: list[str] = []
        params: list = []
        if day_id is not None:
            where.append("day_id = %s")
            params.append(day_id)
        if conference_id is not None:
            where.append(
                f"day_id IN (SELECT id FROM {Day._meta.db_table} WHERE conference_id = %s)"
            )
            params.append(conference_id)
        if tag_id is not None:  # the talk's tags apply to everything in it
            talk_tags = Talk.tags.through._meta.db_table
            note_tags = Highlight.tags.through._meta.db_table
            key = self.key_column
            where.append(
                f"(talk_id IN (SELECT talk_id FROM {talk_tags} WHERE tag_id = %s)"
                f" OR {key} IN (SELECT highlight_id * {KINDS} + {Kind.HIGHLIGHT:d}"
                f" FROM {note_tags} WHERE tag_id = %s)"
                f" OR {key} IN (SELECT s.id * {KINDS} + {Kind.SNIPPET:d}"
                f" FROM {Snippet._meta.db_table} s JOIN {note_tags} t"
                f" ON t.highlight_id = s.highlight_id WHERE t.tag_id = %s))"
            )
            params += [tag_id] * 3
        return where, params


class SQLiteEngine(SearchEngine):
    """FTS5: every row in ``talks_search``, and the rows that have a title in
    ``talks_search_titles`` as well, so that title matches are found without reading every
    match (see RANK_WINDOW). A title holding every word ranks first (bm25 over titles); then
    the rest, by bm25 with a title match worth ten body ones."""

    key_column = "rowid"
    tables = (TABLE, TITLES)

    def write(self, cursor: Any, documents: Sequence[Document]) -> None:
        rows = [
            (d.key, index_text(d.title), index_text(d.body), d.talk_id, d.day_id) for d in documents
        ]
        cursor.executemany(
            f"INSERT OR REPLACE INTO {TABLE} (rowid, title, body, talk_id, day_id)"
            " VALUES (%s, %s, %s, %s, %s)",
            rows,
        )
        titled = [(key, title, talk_id, day_id) for key, title, _, talk_id, day_id in rows if title]
        if titled:
            cursor.executemany(
                f"INSERT OR REPLACE INTO {TITLES} (rowid, title, talk_id, day_id)"
                " VALUES (%s, %s, %s, %s)",
                titled,
            )
        if len(titled) < len(rows):  # a title may have been taken away
            keys = {key for key, *_ in titled}
            untitled = [row[0] for row in rows if row[0] not in keys]
            self._delete_titles(cursor, untitled)

    @staticmethod
    def _delete_titles(cursor: Any, keys: Sequence[int]) -> None:
        # One statement for the lot: a rebuild writes tens of thousands of untitled rows.
        cursor.execute(
            f"DELETE FROM {TITLES} WHERE rowid IN (SELECT value FROM json_each(%s))",
            [json.dumps(list(keys))],
        )

    def delete(self, cursor: Any, keys: Sequence[int]) -> None:
        super().delete(cursor, keys)
        self._delete_titles(cursor, keys)

    def clear(self, cursor: Any) -> None:
        super().clear(cursor)
        cursor.execute(f"DELETE FROM {TITLES}")

    def move_talk(self, cursor: Any, talk_id: int, day_id: int) -> None:
        super().move_talk(cursor, talk_id, day_id)
        cursor.execute(f"UPDATE {TITLES} SET day_id = %s WHERE talk_id = %s", [day_id, talk_id])

    @staticmethod
    def match_expression(query: Query) -> str:
        # Every word is quoted, so FTS5 operators typed by a visitor (NEAR, AND, *) are words.
        return " AND ".join(
            '"' + " ".join(term.words) + '"' + ("*" if term.prefix else "") for term in query.terms
        )

    def find(
        self, cursor: Any, query: Query, where: list[str], params: list, limit: int, offset: int
    ) -> Found:
        match = self.match_expression(query)
        conditions = "".join(f" AND {condition}" for condition in where)

        # Rows whose title has every word come first, ranked among themselves by the title's
        # own bm25, then the others by bm25 over title and body. FTS5 hands over matches
        # newest first (rowid order) and stops at the window, so at most RANK_WINDOW rows of
        # each table are read and scored, however common the words. One page comes back,
        # and a last row (tier 2) with the size of each window, to tell whether one was full.
        def window(table: str, score: str) -> str:
            return (
                f"SELECT rowid, {score} AS score FROM {table} WHERE {table} MATCH %s"
                f"{conditions} ORDER BY rowid DESC LIMIT %s"
            )

        cursor.execute(
            f"WITH titles AS ({window(TITLES, f'bm25({TITLES})')}),"
            f" body AS ({window(TABLE, f'bm25({TABLE}, {TITLE_WEIGHT}, 1.0)')})"
            " SELECT * FROM (SELECT 0, rowid, score FROM titles UNION ALL"
            " SELECT 1, rowid, score FROM body WHERE rowid NOT IN (SELECT rowid FROM titles)"
            " ORDER BY 1, 3, 2 DESC LIMIT %s OFFSET %s)"  # bm25: lower is better; then newest
            " UNION ALL SELECT 2, (SELECT count(*) FROM titles), (SELECT count(*) FROM body)"
            " ORDER BY 1, 3, 2 DESC",
            [match, *params, RANK_WINDOW] * 2 + [limit, offset],
        )
        *rows, (_, titles, bodies) = cursor.fetchall()
        return Found([row[1] for row in rows], capped=RANK_WINDOW in (titles, bodies))

    def optimize(self, cursor: Any) -> None:
        for table in self.tables:
            cursor.execute(f"INSERT INTO {table} ({table}) VALUES ('optimize')")


class PostgresEngine(SearchEngine):
    """A tsvector (title weight A, body weight D) with a GIN index, ranked by ts_rank."""

    VECTOR = (
        "setweight(to_tsvector('simple', %s), 'A') || setweight(to_tsvector('simple', %s), 'D')"
    )

    def write(self, cursor: Any, documents: Sequence[Document]) -> None:
        cursor.executemany(
            f"INSERT INTO {TABLE} (id, talk_id, day_id, document)"
            f" VALUES (%s, %s, %s, {self.VECTOR})"
            " ON CONFLICT (id) DO UPDATE SET talk_id = EXCLUDED.talk_id,"
            " day_id = EXCLUDED.day_id, document = EXCLUDED.document",
            [
                (d.key, d.talk_id, d.day_id, index_text(d.title), index_text(d.body))
                for d in documents
            ],
        )

    @staticmethod
    def tsquery(query: Query) -> str:
        # Words are letters and digits only, so quoting them cannot break the syntax.
        return " & ".join(
            " <-> ".join(f"'{word}'" for word in term.words) + (":*" if term.prefix else "")
            for term in query.terms
        )

    def find(
        self, cursor: Any, query: Query, where: list[str], params: list, limit: int, offset: int
    ) -> Found:
        # Every match is ranked: reading the matching rows costs more than ranking them here,
        # so a window like SQLite's would not pay. Weights are {D, C, B, A}: body D, title A.
        conditions = "".join(f" AND {condition}" for condition in where)
        cursor.execute(
            f"SELECT id FROM {TABLE}, to_tsquery('simple', %s) AS q"
            f" WHERE document @@ q{conditions}"
            f" ORDER BY ts_rank('{{{1 / TITLE_WEIGHT}, 0, 0, 1}}', document, q) DESC, id DESC"
            " LIMIT %s OFFSET %s",
            [self.tsquery(query), *params, limit, offset],
        )
        return Found([row[0] for row in cursor.fetchall()], capped=False)

    def optimize(self, cursor: Any) -> None:
        cursor.execute(f"ANALYZE {TABLE}")


ENGINES: dict[str, SearchEngine] = {"sqlite": SQLiteEngine(), "postgresql": PostgresEngine()}


def engine_for(using: str = DEFAULT_DB_ALIAS) -> SearchEngine:
    vendor = connections[using].vendor
    try:
        return ENGINES[vendor]
    except KeyError:
        raise ImproperlyConfigured(f"Search needs SQLite or PostgreSQL, not {vendor}.") from None


# Keeping the index up to date -------------------------------------------------------------------


def index_documents(documents: Iterable[Document | None], *, using: str = DEFAULT_DB_ALIAS) -> None:
    rows = [doc for doc in documents if doc is not None]
    if rows:
        with connections[using].cursor() as cursor:
            engine_for(using).write(cursor, rows)


def remove_from_index(keys: Sequence[int], *, using: str = DEFAULT_DB_ALIAS) -> None:
    with connections[using].cursor() as cursor:
        engine_for(using).delete(cursor, keys)


def move_talk(*, talk_id: int, day_id: int, using: str = DEFAULT_DB_ALIAS) -> None:
    """Point the rows of a talk's notes and snippets at its new day, if it moved."""
    engine = engine_for(using)
    with connections[using].cursor() as cursor:
        indexed_day = engine.day_of(cursor, make_key(Kind.TALK, talk_id))
        if indexed_day is not None and indexed_day != day_id:
            engine.move_talk(cursor, talk_id, day_id)


def _rows(model: Any, fields: Sequence[str], using: str, batch_size: int) -> Iterator[tuple]:
    """All rows of ``model`` as value tuples (pk first), in pk order, one batch per query."""
    last = 0
    while True:
        batch = list(
            model._default_manager.using(using)
            .filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", *fields)[:batch_size]
        )
        yield from batch
        if len(batch) < batch_size:
            return
        last = batch[-1][0]


def _all_documents(models: Mapping[str, Any], using: str, batch_size: int) -> Iterator[Document]:
    for pk, title, intro, summary in _rows(
        models["Day"], ["title", "intro_html", "summary_html"], using, batch_size
    ):
        yield day_document(pk=pk, title=title, intro_html=intro, summary_html=summary)
    for pk, day_id, title in _rows(models["Talk"], ["day_id", "title"], using, batch_size):
        yield talk_document(pk=pk, day_id=day_id, title=title)
    fields = ["talk_id", "talk__day_id", "style", "text_html", "resolution_html"]
    for pk, talk_id, day_id, style, text_html, answer in _rows(
        models["Highlight"], fields, using, batch_size
    ):
        yield highlight_document(
            pk=pk,
            talk_id=talk_id,
            day_id=day_id,
            style=style,
            text_html=text_html,
            resolution_html=answer,
        )
    commands: dict[int, list[str]] = defaultdict(list)
    lines = models["SnippetLine"]._default_manager.using(using).order_by("position", "id")
    for snippet_id, command in lines.values_list("snippet_id", "command").iterator():
        commands[snippet_id].append(command)
    fields = ["talk_id", "talk__day_id", "caption"]
    for pk, talk_id, day_id, caption in _rows(models["Snippet"], fields, using, batch_size):
        yield snippet_document(
            pk=pk, talk_id=talk_id, day_id=day_id, caption=caption, commands=commands[pk]
        )


def rebuild_index(
    *,
    using: str = DEFAULT_DB_ALIAS,
    models: Mapping[str, Any] | None = None,
    batch_size: int = 2000,
) -> dict[str, int]:
    """Empty the index and fill it again from the notes; returns the rows written per kind.

    ``models`` lets migrations pass their historical models (names as in talks.models).
    """
    models = models or {m.__name__: m for m in (Day, Talk, Highlight, Snippet, SnippetLine)}
    engine = engine_for(using)
    counts = {kind.name.lower(): 0 for kind in Kind}
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        engine.clear(cursor)
        batch: list[Document] = []
        for document in _all_documents(models, using, batch_size):
            counts[split_key(document.key)[0].name.lower()] += 1
            batch.append(document)
            if len(batch) >= batch_size:
                engine.write(cursor, batch)
                batch = []
        if batch:
            engine.write(cursor, batch)
        engine.optimize(cursor)
    return counts


# Searching --------------------------------------------------------------------------------------


@dataclass(slots=True)  # not frozen: a frozen dataclass is slow to build, and 20 are built a search
class SearchHit:
    kind: Kind
    url: str
    heading: SafeString  # marked words, escaped
    excerpt: SafeString
    context: str
    is_code: bool = False
    key: int = 0

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]


@dataclass(frozen=True)
class SearchResults:
    query: Query
    hits: list[SearchHit]
    page: int
    per_page: int
    has_next: bool
    capped: bool = False

    @property
    def first_number(self) -> int:
        return (self.page - 1) * self.per_page + 1

    @property
    def last_number(self) -> int:
        return self.first_number + len(self.hits) - 1


def search(
    text: str | Query,
    *,
    conference_id: int | None = None,
    day_id: int | None = None,
    tag_id: int | None = None,
    page: int = 1,
    per_page: int = 20,
    using: str = DEFAULT_DB_ALIAS,
) -> SearchResults:
    """The notes matching ``text`` (see parse_query), best first, one page of them.

    One query on the index, then one per kind of result found (two for snippets).
    """
    query = text if isinstance(text, Query) else parse_query(text)
    page = max(1, page)
    if not query:
        return SearchResults(query, [], page, per_page, has_next=False)
    engine = engine_for(using)
    where, params = engine.filters(conference_id=conference_id, day_id=day_id, tag_id=tag_id)
    with connections[using].cursor() as cursor:
        found = engine.find(cursor, query, where, params, per_page + 1, (page - 1) * per_page)
    hits = _hits(found.keys[:per_page], query, using)
    has_next = len(found.keys) > per_page
    return SearchResults(query, hits, page, per_page, has_next=has_next, capped=found.capped)


class _DayURLs:
    """Day page URLs from one reverse() per URLconf and script prefix: slugs need no escaping
    in a path."""

    def __init__(self) -> None:
        self.pattern = _day_url_pattern(get_urlconf(), get_script_prefix())

    def __call__(self, day_id: int, day_slug: str, conference_slug: str, anchor: str = "") -> str:
        url = self.pattern.replace("conference-slug-here", conference_slug, 1)
        url = url.replace("day-slug-here", day_slug, 1)
        return f"{url}#{anchor}" if anchor else url


@lru_cache(maxsize=8)
def _day_url_pattern(urlconf: str | None, script_prefix: str) -> str:
    day = Day(slug="day-slug-here", conference=Conference(slug="conference-slug-here"))
    return day.get_absolute_url()


def _anchor(model: type[Model], **fields: Any) -> str:
    """``model.anchor`` from the fields it reads, without building a model instance (slow)."""
    return model.anchor.fget(SimpleNamespace(**fields))


def _column(model: type[Model], field: str) -> str:
    return model._meta.get_field(field).column


@lru_cache(maxsize=1)
def _hit_sql() -> dict[Kind, str]:
    """For each kind, the SQL of one UNION ALL branch that loads what its hits show, with
    the same columns for all: kind, id, two texts, a context, then where it is (day id, day
    slug, conference slug, day title). ``{}`` stands for the ids' placeholders."""
    talk, day, conference = Talk._meta.db_table, Day._meta.db_table, Conference._meta.db_table
    in_day = f" JOIN {conference} c ON c.id = d.{_column(Day, 'conference')}"
    in_talk = f" JOIN {day} d ON d.id = t.{_column(Talk, 'day')}{in_day}"
    location = "d.id, d.slug, c.slug, d.title"

    def under_talk(model: type[Model]) -> str:
        return f" FROM {model._meta.db_table} x JOIN {talk} t ON t.id = x.{_column(model, 'talk')}"

    return {
        Kind.TALK: f"SELECT {Kind.TALK:d}, t.id, t.title, t.slug, c.name, {location}"
        f" FROM {talk} t{in_talk} WHERE t.id IN ({{}})",
        Kind.HIGHLIGHT: f"SELECT {Kind.HIGHLIGHT:d}, x.id, x.text_html, x.resolution_html,"
        f" t.title, {location}{under_talk(Highlight)}{in_talk} WHERE x.id IN ({{}})",
        Kind.SNIPPET: f"SELECT {Kind.SNIPPET:d}, x.id, x.caption, '', t.title, {location}"
        f"{under_talk(Snippet)}{in_talk} WHERE x.id IN ({{}})",
        Kind.DAY: f"SELECT {Kind.DAY:d}, d.id, d.intro_html, d.summary_html, c.name, {location}"
        f" FROM {day} d{in_day} WHERE d.id IN ({{}})",
    }


def _hit_rows(cursor: Any, wanted: dict[Kind, list[int]]) -> list[tuple]:
    """What the hits of each kind show, in one query: this runs on every keystroke."""
    branches = _hit_sql()
    cursor.execute(
        " UNION ALL ".join(
            branches[kind].format(", ".join(["%s"] * len(pks))) for kind, pks in wanted.items()
        ),
        [pk for pks in wanted.values() for pk in pks],
    )
    return cursor.fetchall()


def _snippet_commands(cursor: Any, pks: list[int]) -> dict[int, list[tuple[int, str]]]:
    """Each block's lines, in order: (line id, for its anchor, and command)."""
    table = SnippetLine._meta.db_table
    cursor.execute(
        f"SELECT {_column(SnippetLine, 'snippet')}, id, command FROM {table}"
        f" WHERE {_column(SnippetLine, 'snippet')} IN ({', '.join(['%s'] * len(pks))})"
        " ORDER BY position, id",
        pks,
    )
    commands: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for snippet_id, line_id, command in cursor.fetchall():
        commands[snippet_id].append((line_id, command))
    return commands


def _hits(keys: Sequence[int], query: Query, using: str) -> list[SearchHit]:
    """Describe what the keys point at, loading only what a hit shows (tuples, not model
    instances: this runs on every keystroke); rows of notes deleted meanwhile are skipped."""
    wanted: dict[Kind, list[int]] = defaultdict(list)
    for key in keys:
        kind, pk = split_key(key)
        wanted[kind].append(pk)
    if not wanted:
        return []
    with connections[using].cursor() as cursor:
        rows = _hit_rows(cursor, wanted)
        snippets = wanted.get(Kind.SNIPPET)
        commands = _snippet_commands(cursor, snippets) if snippets else {}
    url = _DayURLs()
    hits = {}
    for kind, pk, first, second, context, day_id, day_slug, conference_slug, day_title in rows:
        where = (day_id, day_slug, conference_slug)
        if kind == Kind.HIGHLIGHT:
            answer = plain_text(second) if second else ""
            hit = SearchHit(
                Kind.HIGHLIGHT,
                url(*where, _anchor(Highlight, pk=pk)),
                heading=excerpt(plain_text(first), query),
                excerpt=excerpt(answer, query)
                if answer and match_spans(answer, query)
                else NOTHING,
                context=f"{context} · {day_title}",
            )
        elif kind == Kind.TALK:
            hit = SearchHit(
                Kind.TALK,
                url(*where, _anchor(Talk, slug=second)),
                heading=excerpt(first, query, width=None),
                excerpt=NOTHING,
                context=f"{day_title} · {context}",
            )
        elif kind == Kind.SNIPPET:
            shown, line_id = _command_lines(commands.get(pk, []), query)
            # The first matching line's own anchor: in a long block the top is far from it.
            anchor = _anchor(SnippetLine, pk=line_id) if line_id else _anchor(Snippet, pk=pk)
            hit = SearchHit(
                Kind.SNIPPET,
                url(*where, anchor),
                heading=excerpt(first or _commands_label(context), query, width=None),
                excerpt=shown,
                context=f"{context} · {day_title}",
                is_code=True,
            )
        else:
            summary, intro = plain_text(second), plain_text(first)
            in_summary = bool(summary) and (bool(match_spans(summary, query)) or not intro)
            text = summary if in_summary else intro
            hit = SearchHit(
                Kind.DAY,
                # The summary has a heading of its own on the day page; the intro opens it.
                url(*where, DAY_SUMMARY_ANCHOR if in_summary else ""),
                heading=excerpt(day_title, query, width=None),
                excerpt=excerpt(text, query),
                context=context,
            )
        hit.key = make_key(kind, pk)
        hits[hit.key] = hit
    return [hits[key] for key in keys if key in hits]


def _commands_label(talk_title: str) -> str:
    """The heading of a block without a caption: whose commands they are, which reads on its
    own in a list of results (a count of lines did not)."""
    return f"Commands in “{talk_title}”"


def _command_lines(lines: list[tuple[int, str]], query: Query) -> tuple[SafeString, int | None]:
    """The lines matching the most words (at most three, in their order), or the first one;
    and the id of the line matching the most (the first of them), or None when none does (the
    caption matched)."""
    scores = [sum(1 for t in query.terms if match_spans(c, Query("", (t,)))) for _, c in lines]
    best = sorted(range(len(lines)), key=lambda i: -scores[i])[:3]  # stable: ties in order
    shown = [lines[i] for i in sorted(best) if scores[i]] or lines[:1]
    text = "\n".join(excerpt(command, query, width=None) for _, command in shown)
    line_id = lines[best[0]][0] if best and scores[best[0]] else None
    return SafeString(text), line_id  # each line escaped by excerpt()


# Excerpts ---------------------------------------------------------------------------------------


def match_spans(text: str, query: Query) -> list[tuple[int, int]]:
    """Character ranges of ``text`` (NFC) that match a term of ``query``, merged, in order."""
    found = _ascii_spans(text, query) if text.isascii() else _word_by_word_spans(text, query)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(found):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _ascii_spans(text: str, query: Query) -> list[tuple[int, int]]:
    lowered = text.lower()  # the same length, for ASCII
    found = []
    for first, rest in query.ascii_terms:
        start = lowered.find(first)
        while start != -1:
            if start == 0 or not lowered[start - 1].isalnum():  # the start of a word
                match = rest.match(lowered, start + len(first))
                if match:
                    found.append((start, match.end()))
            start = lowered.find(first, start + 1)
    return found


def _word_by_word_spans(text: str, query: Query) -> list[tuple[int, int]]:
    spans = _word_spans(text)
    words = [word for _, _, word in spans]
    found = []
    for term in query.terms:
        size, first = len(term.words), term.words[0]
        # Where the first word is, in one pass; the whole term is checked only there.
        if term.prefix and size == 1:
            starts = [i for i, word in enumerate(words) if word.startswith(first)]
        else:
            places = words[: max(0, len(words) - size + 1)]  # where the whole term fits
            starts = [i for i, word in enumerate(places) if word == first]
        found += [
            (spans[start][0], spans[start + size - 1][1])
            for start in starts
            if size == 1 or term.matches_at(words, start)
        ]
    return found


def _window(text: str, spans: list[tuple[int, int]], width: int) -> tuple[int, int]:
    """About ``width`` characters around the most matches, cut at spaces."""
    if len(text) <= width:
        return 0, len(text)
    best = 0
    if spans:
        counts = [
            sum(1 for s, _ in spans if first <= s < first + width * 3 // 4) for first, _ in spans
        ]
        best = max(0, spans[counts.index(max(counts))][0] - width // 4)
    start = min(best, len(text) - width)
    if start > 0:
        space = text.find(" ", start, start + width // 4)
        start = space + 1 if space != -1 else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", start + width // 2, end)
        end = space if space != -1 else end
    return start, end


_SPECIAL = re.compile("[&<>\"']")  # what html.escape changes


def excerpt(text: str, query: Query, *, width: int | None = EXCERPT_CHARS) -> SafeString:
    """``text`` escaped, the words matching ``query`` in ``<mark>``; shortened to ``width``
    characters around the best match, with an ellipsis where cut (``width=None``: whole)."""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    spans = match_spans(text, query)
    if not width or len(text) <= width:
        start, end = 0, len(text)
    else:
        start, end = _window(text, spans, width)
    # Most text has nothing to escape: then one search, not five replaces a piece.
    escape = html.escape if _SPECIAL.search(text, start, end) else str
    parts = ["…" if start > 0 else ""]
    position = start
    for span_start, span_end in spans:
        span_start, span_end = max(span_start, start), min(span_end, end)
        if span_start >= span_end:
            continue
        parts += [
            escape(text[position:span_start]),
            f"<mark>{escape(text[span_start:span_end])}</mark>",
        ]
        position = span_end
    parts += [escape(text[position:end]), "…" if end < len(text) else ""]
    return SafeString("".join(parts).strip())  # every piece of text is escaped above
