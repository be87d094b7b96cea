"""save_day writes a whole day in bulk: a bounded number of queries whatever its size, and
edits, removals and reorders land exactly, with the search index and page cache in step."""

from __future__ import annotations

import copy

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from talks import cache
from talks.demo import DOCKERCON_2016_DAY_1
from talks.documents import HighlightDoc, SnippetDoc, TalkDoc, save_day
from talks.exporting import day_document
from talks.models import Conference, Highlight, NotesVersion, Snippet, SnippetLine, Tag, Talk
from talks.search import engine_for, rebuild_index
from tests.factories import big_day_doc
from tests.talks.test_import_seed import comparable

pytestmark = pytest.mark.django_db
WRITES = {"INSERT", "UPDATE", "DELETE"}


def _queries_into_an_empty_database(doc) -> int:
    Conference.objects.all().delete()
    Tag.objects.all().delete()
    with CaptureQueriesContext(connection) as queries:
        save_day(doc)
    return len(queries)


def _index_rows() -> list[tuple]:
    engine = engine_for()
    rows = []
    with connection.cursor() as cursor:
        for table in engine.tables:
            cursor.execute(f"SELECT * FROM {table} ORDER BY {engine.key_column}")  # noqa: S608
            rows.append(cursor.fetchall())
    return rows


def _index_is_exact() -> bool:
    """The index holds what a rebuild from the tables would write, row for row."""
    before = _index_rows()
    rebuild_index()
    return _index_rows() == before


def test_the_number_of_queries_does_not_grow_with_the_day():
    small = _queries_into_an_empty_database(big_day_doc(talks=5, highlights_per_talk=6))
    large = _queries_into_an_empty_database(big_day_doc(talks=40, highlights_per_talk=6))
    assert large == small
    assert large < 40


def test_saving_the_same_day_again_writes_nothing():
    doc = big_day_doc(talks=12, highlights_per_talk=5)
    save_day(doc)
    version = NotesVersion.objects.get().token
    with CaptureQueriesContext(connection) as queries:
        _, report = save_day(doc)
    writes = [q["sql"] for q in queries if q["sql"].split()[0].upper() in WRITES]
    assert writes == [] and (report.created, report.updated, report.deleted) == (0, 0, 0)
    assert len(queries) < 30  # no query per row to compare it
    assert NotesVersion.objects.get().token == version


def test_edits_removals_and_reorders_land_exactly():
    day, _ = save_day(DOCKERCON_2016_DAY_1)
    line_ids = dict(SnippetLine.objects.values_list("command", "pk"))
    edited = copy.deepcopy(DOCKERCON_2016_DAY_1)
    keynote, *others = edited.talks
    del others[0]  # a talk goes
    keynote.highlights[0].text = "Edited: **bold** claim"
    keynote.highlights[0].tags = ["edited"]
    del keynote.highlights[1].children[:]  # a subtree goes
    snippet_owner = next(t for t in edited.talks if t.snippets or _has_snippet(t.highlights))
    snippet = _first_snippet(snippet_owner)
    snippet.lines = [*snippet.lines[:4], "docker service ps vote"]  # lines cut and changed
    new_talk = TalkDoc(
        title="A new talk",
        tags=["new"],
        highlights=[HighlightDoc("Fresh note", children=[HighlightDoc("Nested")])],
        snippets=[SnippetDoc(lines=["docker node ls"])],
    )
    edited.talks = [*reversed(others), new_talk, keynote]  # and the order changes
    cache_version = cache.NotesVersion.objects.get().token

    day, report = save_day(edited)

    assert comparable(day_document(day), tags=False) == comparable(edited, tags=False)
    edited_note = Highlight.objects.get(talk__slug="keynote", parent=None, position=0)
    assert [tag.name for tag in edited_note.tags.all()] == ["edited"]
    assert [tag.name for tag in Talk.objects.get(slug="a-new-talk").tags.all()] == ["new"]
    assert report.created and report.updated and report.deleted
    kept_lines = dict(SnippetLine.objects.values_list("command", "pk"))
    for command in snippet.lines[:4]:
        assert kept_lines[command] == line_ids[command]  # run history stays attached
    assert list(Talk.objects.filter(day=day).values_list("title", flat=True)) == [
        t.title for t in edited.talks
    ]
    assert edited_note.text_html == "Edited: <strong>bold</strong> claim"
    assert cache.NotesVersion.objects.get().token != cache_version
    assert _index_is_exact()


def test_a_big_day_and_its_edit_keep_the_index_exact():
    doc = big_day_doc(talks=30, highlights_per_talk=8)
    save_day(doc)
    assert _index_is_exact()
    doc.talks[3].highlights[0].text = "Rewritten with `code`"
    doc.talks[4].highlights.pop()
    doc.talks[0].highlights[0].snippets[0].lines[1] = "docker node ps self"
    del doc.talks[5]
    day, _ = save_day(doc)
    assert comparable(day_document(day), tags=False) == comparable(doc, tags=False)
    assert Snippet.objects.filter(talk__day=day).count() == 2
    assert _index_is_exact()


def test_two_talks_with_one_slug_are_refused_before_anything_is_written():
    doc = copy.deepcopy(DOCKERCON_2016_DAY_1)
    doc.talks[1].slug = doc.talks[0].slug
    with pytest.raises(ValueError, match="same slug"):
        save_day(doc)
    assert not Talk.objects.exists()


def _has_snippet(docs: list[HighlightDoc]) -> bool:
    return any(doc.snippets or _has_snippet(doc.children) for doc in docs)


def _first_snippet(talk: TalkDoc) -> SnippetDoc:
    stack = list(talk.highlights)
    while stack:
        doc = stack.pop(0)
        if doc.snippets:
            return doc.snippets[0]
        stack[:0] = doc.children
    return talk.snippets[0]


def test_tags_are_reused_by_name_or_slug_whatever_their_other_half():
    renamed = Tag.objects.create(name="Container security", slug="security")  # renamed in admin
    custom = Tag.objects.create(name="Networking", slug="net")  # created with its own slug
    doc = copy.deepcopy(DOCKERCON_2016_DAY_1)
    doc.talks[0].tags = ["Networking", "security"]
    doc.talks[1].tags = ["networking", "Container Security"]
    save_day(doc)
    names = {"networking", "net", "security", "container security", "container-security"}
    same = [tag.pk for tag in Tag.objects.all() if {tag.name.lower(), tag.slug} & names]
    assert sorted(same) == [renamed.pk, custom.pk]
    assert [tag.pk for tag in Talk.objects.get(slug=doc.talks[1].slug).tags.all()] == [
        renamed.pk,
        custom.pk,
    ]
