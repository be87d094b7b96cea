"""The search index stays correct on create, edit, delete (cascades too) and import, and the
management command rebuilds it."""

import dataclasses
import io

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection

from talks.demo import DOCKERCON_2016_DAY_1
from talks.documents import ConferenceDoc, DayDoc, HighlightDoc, SnippetDoc, TalkDoc, save_day
from talks.models import Conference, Day, Highlight, Snippet, SnippetLine, Talk
from talks.search import TABLE, TITLES, Kind, engine_for, make_key, rebuild_index, search

pytestmark = pytest.mark.django_db


def _indexed_keys() -> set[int]:
    """The keys in the index; on SQLite, checks that its table of titles holds exactly the
    rows that have a title, pointing at the same talk and day."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {engine_for().key_column} FROM {TABLE}")  # noqa: S608
        keys = {row[0] for row in cursor.fetchall()}
        if connection.vendor == "sqlite":
            cursor.execute(f"SELECT rowid, title, talk_id, day_id FROM {TITLES} ORDER BY rowid")  # noqa: S608
            titles = cursor.fetchall()
            cursor.execute(
                f"SELECT rowid, title, talk_id, day_id FROM {TABLE}"  # noqa: S608
                " WHERE title != '' ORDER BY rowid"
            )
            assert titles == cursor.fetchall()
        return keys


def _expected_keys() -> set[int]:
    """A row for every day, talk, highlight and snippet there is, and nothing else."""
    return {
        make_key(kind, pk)
        for kind, model in [
            (Kind.DAY, Day),
            (Kind.TALK, Talk),
            (Kind.HIGHLIGHT, Highlight),
            (Kind.SNIPPET, Snippet),
        ]
        for pk in model.objects.values_list("pk", flat=True)
    }


def _found(text: str) -> list[str]:
    return [hit.url for hit in search(text).hits]


def test_it_indexes_everything_an_import_creates(demo_day):
    assert _indexed_keys() == _expected_keys()
    assert len(_expected_keys()) == 1 + 4 + Highlight.objects.count() + 1


def test_it_indexes_new_notes(demo_day):
    talk = Talk.objects.get(slug="keynote")
    note = Highlight.objects.create(talk=talk, text="Raft consensus keeps the managers in line")
    assert _found("raft consensus") == [f"{demo_day.get_absolute_url()}#h{note.pk}"]
    other = Talk.objects.create(day=demo_day, title="Quorum talk", position=9)
    snippet = Snippet.objects.create(talk=other, position=0)
    line = SnippetLine.objects.create(snippet=snippet, command="docker node promote worker1")
    assert _found("quorum") == [f"{demo_day.get_absolute_url()}#talk-quorum-talk"]
    assert _found("node promote") == [f"{demo_day.get_absolute_url()}#line-{line.pk}"]
    day = Day.objects.create(
        conference=demo_day.conference, number=2, title="Day two", summary="Hackathon"
    )
    assert _found("hackathon") == [f"{day.get_absolute_url()}#summary-heading"]
    assert _indexed_keys() == _expected_keys()


def test_it_follows_edits(demo_day):
    note = Highlight.objects.get(text="Minimal kernel")
    note.text = "Minimal unikernel"
    note.save()
    assert _found("minimal kernel") == []
    assert _found("unikernel") == [f"{demo_day.get_absolute_url()}#h{note.pk}"]
    talk = Talk.objects.get(slug="immutable-infrastructure")
    talk.title = "Phoenix servers"
    talk.save()
    assert _found("immutable") == []
    assert len(_found("phoenix")) == 1
    line = SnippetLine.objects.get(command="docker service ls")
    line.command = "docker service logs vote"
    line.save()
    assert len(_found("service logs")) == 1
    demo_day.summary = "A day of orchestras"
    demo_day.save()
    assert _found("pipelines") == []
    assert _found("orchestras") == [f"{demo_day.get_absolute_url()}#summary-heading"]


def test_it_forgets_deleted_notes(demo_day):
    note = Highlight.objects.get(text="Minimal kernel")
    note.delete()
    assert _found("minimal kernel") == []
    SnippetLine.objects.filter(command__contains="scale").delete()
    assert _found("scale") == []
    assert len(_found("instavote")) == 1
    assert _indexed_keys() == _expected_keys()


def test_it_forgets_whatever_a_cascade_deletes(demo_day):
    Talk.objects.get(slug="the-golden-ticket").delete()  # its highlights, nested ones too
    assert _found("seccomp") == []
    assert _indexed_keys() == _expected_keys()
    Highlight.objects.get(text="Example commands with new built-in orchestration:").delete()
    assert len(_found("instavote")) == 1  # the block after it stays, at the end of its talk
    assert _indexed_keys() == _expected_keys()
    Snippet.objects.get(lines__command="docker service ls").talk.delete()
    assert _found("instavote") == []  # with its talk, the block goes
    assert _indexed_keys() == _expected_keys()
    Conference.objects.all().delete()
    assert _indexed_keys() == set()


def test_it_follows_a_reimport_that_edits_and_removes_notes(demo_day):
    keynote, _golden_ticket, *rest = DOCKERCON_2016_DAY_1.talks
    edited_keynote = dataclasses.replace(
        keynote,
        highlights=[HighlightDoc("Swarm mode replaces the old swarm")],
        snippets=[SnippetDoc(lines=["docker swarm init --advertise-addr 10.0.0.1"])],
    )
    doc = dataclasses.replace(DOCKERCON_2016_DAY_1, talks=[edited_keynote, *rest])
    save_day(doc)
    assert _found("seccomp") == []  # the talk removed by the import
    assert _found("instavote") == []  # the snippet replaced
    assert _found("docker for mac beta") == []  # the highlight removed
    assert len(_found("advertise addr")) == 1
    new = Highlight.objects.get(text__startswith="Swarm mode replaces")
    assert _found("replaces the old") == [f"{demo_day.get_absolute_url()}#h{new.pk}"]
    assert _indexed_keys() == _expected_keys()


def test_it_moves_a_talks_notes_with_it_to_another_day(demo_day):
    other = Day.objects.create(conference=demo_day.conference, number=2, title="Day 2")
    talk = Talk.objects.get(slug="the-golden-ticket")
    talk.day = other
    talk.save()
    assert len(search("seccomp", day_id=other.pk).hits) == 3
    assert search("seccomp", day_id=demo_day.pk).hits == []
    assert search("seccomp").hits[0].url.startswith(other.get_absolute_url())


def test_it_rebuilds_after_changes_that_skip_signals(demo_day, capsys):
    talk = Talk.objects.get(slug="keynote")
    bulk = Highlight(
        talk=talk, text="Bulk written note", text_html="Bulk written note", position=99
    )
    Highlight.objects.bulk_create([bulk])  # no save(), no signal
    Highlight.objects.filter(text="Minimal kernel").update(text_html="Maximal kernel")
    assert _found("bulk written") == []
    out = io.StringIO()
    call_command("rebuild_search_index", stdout=out)
    assert "Search index rebuilt" in out.getvalue()
    assert f"{Highlight.objects.count()} notes, 4 talks, 1 snippets, 1 days" in out.getvalue()
    assert len(_found("bulk written")) == 1
    assert len(_found("maximal")) == 1
    assert _indexed_keys() == _expected_keys()


def test_it_rebuilds_in_batches(demo_day):
    counts = rebuild_index(batch_size=7)
    assert counts == {
        "talk": 4,
        "highlight": Highlight.objects.count(),
        "snippet": 1,
        "day": 1,
    }
    assert _indexed_keys() == _expected_keys()


def test_it_keeps_the_index_when_an_import_fails(demo_day):
    bad = DayDoc(
        conference=ConferenceDoc(name="Broken"),
        number=1,
        title="Broken day",
        talks=[
            TalkDoc(title="Fine", highlights=[HighlightDoc("Written before the failure")]),
            TalkDoc(title="Not fine", kind=None),  # NOT NULL
        ],
    )
    with pytest.raises(IntegrityError):
        save_day(bad)
    assert _found("written before") == []
    assert _found("broken") == []
    assert _indexed_keys() == _expected_keys()


# Two transactional tests in this order: what the first indexes is gone when the second
# starts (tests/conftest.py empties the index after the flush of the first one's data).
@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_indexes_notes(demo_day):
    assert search("seccomp").hits


@pytest.mark.django_db(transaction=True)
def test_the_next_one_starts_with_an_empty_index():
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {TABLE}")  # noqa: S608 (a constant)
        assert cursor.fetchone()[0] == 0
