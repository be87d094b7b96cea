"""Re-importing a stored day matches notes, blocks and lines by what they say (talks.matching):
a note or line removed or added above another no longer shifts that one onto its neighbour's
row, answer, tags or run history, and the preview names exactly what saving removes."""

from __future__ import annotations

import pytest
from django.utils import timezone

from runner.models import Run
from talks.exporting import MarkdownExporter
from talks.importing import RemovalNotConfirmed, import_notes, read_notes, save_days
from talks.importing.removals import removals, stored_fingerprint
from talks.importing.service import RemovalsChanged, planned_removals
from talks.matching import align, tree_order
from talks.models import Day, Highlight, Snippet, SnippetLine, Tag
from talks.search import Kind, make_key, search
from tests.talks.test_import_seed import SEED

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("stored", "wanted", "landing"),
    [
        ("abc", "abc", [0, 1, 2]),
        ("abc", "", []),
        ("", "ab", [None, None]),
        ("abcd", "acd", [0, 2, 3]),  # b removed: c and d keep their rows
        ("acd", "abcd", [0, None, 1, 2]),  # b added: c and d keep theirs
        ("abc", "aXc", [0, 1, 2]),  # b edited where it stands
        ("abc", "aXYc", [0, 1, None, 2]),  # edited, and one more
        ("aXYc", "abc", [0, 1, 3]),  # two became one: the first keeps its row
        ("aab", "ab", [1, 2]),  # a twice, kept once: the other a goes
        ("ab", "aab", [None, 0, 1]),
        ("abc", "cba", [None, None, 0]),  # reordered: one keeps its row, the others are new
        ("ab", "xy", [0, 1]),  # all edited in place
    ],
)
def test_align(stored, wanted, landing):
    assert align(list(stored), list(wanted)) == landing


def _seed() -> str:
    return SEED.read_text(encoding="utf-8")


def _without(text: str, *starts: str) -> str:
    kept = [line for line in text.splitlines() if not line.strip(" •").startswith(starts)]
    return "\n".join(kept) + "\n"


def _note(start: str) -> Highlight:
    return Highlight.objects.get(text__startswith=start)


def _tag(note: Highlight, name: str) -> None:
    note.tags.add(Tag.objects.get_or_create(name=name, slug=name)[0])


@pytest.fixture
def seeded(db) -> Day:
    import_notes(_seed())
    return Day.objects.get()


def test_removing_notes_keeps_the_rows_answers_and_tags_of_the_others(seeded):
    answered = _note("Will have to find more links")
    answered.resolution, answered.resolved_at = "See the docs.", timezone.now()
    answered.resolution_url = "https://docs.docker.com/"
    answered.save()
    after_it = _note("There is now a docker service API")
    _tag(after_it, "orchestration")
    routing = _note("Built in routing")
    _tag(routing, "networking")
    pks = dict(Highlight.objects.values_list("text", "pk"))

    text = _without(_seed(), "“Seamless”", "Secure node to node")
    [(_, found)] = planned_removals(read_notes(text).days)
    assert found.notes == 2
    assert found.note_texts == [
        "Secure node to node communication.",
        "“Seamless” (Not sure we will give up Ansible for deploying…)",
    ]
    assert found.answers == 0  # the answered note stays
    import_notes(text, confirm_removal=True)

    answered.refresh_from_db()
    assert (answered.resolution, answered.resolution_url) == (
        "See the docs.",
        "https://docs.docker.com/",
    )
    assert [t.name for t in _note("There is now a docker service API").tags.all()] == [
        "orchestration"
    ]
    assert [t.name for t in _note("Built in routing").tags.all()] == ["networking"]
    after = dict(Highlight.objects.values_list("text", "pk"))
    gone = {text for text in pks if text not in after}
    assert gone == {
        "Secure node to node communication.",
        "“Seamless” (Not sure we will give up Ansible for deploying…)",
    }
    assert all(after[text] == pk for text, pk in pks.items() if text in after)  # anchors too


def test_a_note_added_above_others_leaves_them_where_they_were(seeded):
    pks = dict(Highlight.objects.values_list("text", "pk"))
    text = _seed().replace(
        "    • Secure node to node communication.\n",
        "    • A new first thought.\n    • Secure node to node communication.\n",
    )
    assert text != _seed()
    assert not planned_removals(read_notes(text).days)
    [(_, report)] = import_notes(text).saved
    assert report.created == 1 and report.deleted == 0
    assert all(Highlight.objects.get(pk=pk).text == note for note, pk in pks.items())


def test_a_line_added_at_the_top_of_a_block_keeps_the_run_history_with_its_command(seeded):
    ls = SnippetLine.objects.get(command="docker service ls")
    Run.objects.create(snippet_line=ls, visitor="v", line=ls.command, status="succeeded")
    pks = dict(SnippetLine.objects.values_list("command", "pk"))
    first = "docker service create --name vote -p 8080:80 instavote/vote"
    markdown = (
        MarkdownExporter()
        .export_day(seeded)
        .replace(f"$ {first}\n", f"$ docker node ls\n$ {first}\n")
    )
    assert "$ docker node ls\n" in markdown
    import_notes(markdown)
    lines = list(SnippetLine.objects.order_by("position").values_list("command", "pk"))
    assert lines[0][0] == "docker node ls" and lines[0][1] not in pks.values()
    assert all(pks[command] == pk for command, pk in lines[1:])
    assert Run.objects.get().snippet_line.command == "docker service ls"


def test_a_block_split_in_two_keeps_every_line_with_its_run_history(seeded):
    """Lines that moved to another block (here: the second half of a block split in two) keep
    their rows and run history, nothing is said to go, and both blocks are searchable."""
    scale = SnippetLine.objects.get(command="docker service scale vote=6")
    Run.objects.create(snippet_line=scale, visitor="v", line=scale.command, status="succeeded")
    pks = dict(SnippetLine.objects.values_list("command", "pk"))
    markdown = (
        MarkdownExporter()
        .export_day(seeded)
        .replace(
            "$ docker service scale", "```\n\nThen scale it:\n\n```console\n$ docker service scale"
        )
    )
    assert not planned_removals(read_notes(markdown).days)
    [(_, report)] = import_notes(markdown).saved
    assert report.deleted == 0
    assert dict(SnippetLine.objects.values_list("command", "pk")) == pks
    first, second = Snippet.objects.order_by("position")
    assert [line.command for line in first.lines.all()][-1] == "docker service tasks vote"
    assert second.lines.first().pk == scale.pk and Run.objects.get().snippet_line_id == scale.pk
    assert [hit.key for hit in search("tasks vote").hits] == [make_key(Kind.SNIPPET, first.pk)]
    assert [hit.key for hit in search("scale vote").hits] == [make_key(Kind.SNIPPET, second.pk)]
    assert MarkdownExporter().export_day(seeded) == markdown


def test_a_line_moved_to_another_block_leaves_the_search_row_of_the_one_it_left(seeded):
    markdown = MarkdownExporter().export_day(seeded)
    moved = "$ docker service ls\n"
    markdown = markdown.replace(moved, "", 1).replace(
        "- (Experimental) Distributed", f"```console\n{moved}```\n\n- (Experimental) Distributed"
    )
    ls = SnippetLine.objects.get(command="docker service ls")
    import_notes(markdown)
    assert SnippetLine.objects.get(command="docker service ls").pk == ls.pk
    [hit] = search('"docker service ls"').hits
    assert hit.key == make_key(Kind.SNIPPET, SnippetLine.objects.get(pk=ls.pk).snippet_id)


def test_two_lines_at_one_place_are_two_rows_and_the_extra_one_goes(seeded):
    """An editor's extra line saved at position 0 (the admin's default) beside the first."""
    markdown = MarkdownExporter().export_day(seeded)
    snippet = Snippet.objects.get()
    ls = SnippetLine.objects.get(command="docker service ls")
    Run.objects.create(snippet_line=ls, visitor="v", line=ls.command, status="succeeded")
    extra = SnippetLine.objects.create(
        snippet=snippet, position=0, command="docker service rm vote"
    )
    pks = dict(SnippetLine.objects.exclude(pk=extra.pk).values_list("command", "pk"))

    [(_, found)] = planned_removals(read_notes(markdown).days)
    assert found.commands == ["docker service rm vote"] and found.runs == 0
    with pytest.raises(RemovalNotConfirmed):
        import_notes(markdown)
    [(_, report)] = import_notes(markdown, confirm_removal=True).saved
    assert report.deleted == 1 and report.created == 0
    assert dict(SnippetLine.objects.values_list("command", "pk")) == pks
    assert Run.objects.get().snippet_line_id == pks["docker service ls"]
    assert MarkdownExporter().export_day(seeded) == markdown


def test_two_notes_at_one_place_are_saved_as_the_file_has_them(seeded):
    """A note an editor added at position 0 of a talk that already has one there: its export
    imports back as it is, removing nothing, and a second import changes nothing."""
    talk = Highlight.objects.filter(parent=None).order_by("talk__position").last().talk
    Highlight.objects.create(talk=talk, position=0, text="An editor's note.")
    markdown = MarkdownExporter().export_day(seeded)
    assert not planned_removals(read_notes(markdown).days)
    count = Highlight.objects.count()
    import_notes(markdown)
    assert Highlight.objects.count() == count
    assert MarkdownExporter().export_day(seeded) == markdown
    [(_, again)] = import_notes(markdown).saved
    assert again.created == again.updated == again.deleted == 0


def test_the_fingerprint_tells_which_notes_would_go_not_only_how_many(seeded):
    text = _without(_seed(), "Low MTTR")
    days = read_notes(text).days
    seen = stored_fingerprint(days)
    # Meanwhile a colleague deletes that note and adds another one, not in the file.
    low = _note("Low MTTR")
    Highlight.objects.create(talk=low.talk, parent=low.parent, position=99, text="New finding.")
    low.delete()
    now = planned_removals(read_notes(text).days)
    assert [found.notes for _, found in now] == [1]  # as many as before...
    assert stored_fingerprint([doc for doc, _ in now]) != seen  # ...but not the same one
    with pytest.raises(RemovalsChanged):
        save_days(read_notes(text), confirm_removal=True, seen_removals=seen)
    assert Highlight.objects.filter(text="New finding.").exists()


def test_what_the_preview_names_is_what_saving_removes(seeded):
    text = _without(_seed(), "“Seamless”", "Low MTTR", "docker service ls")
    [(_, found)] = planned_removals(read_notes(text).days)
    notes = set(Highlight.objects.values_list("pk", flat=True))
    lines = set(SnippetLine.objects.values_list("pk", flat=True))
    import_notes(text, confirm_removal=True)
    assert notes - set(Highlight.objects.values_list("pk", flat=True)) == set(found.note_pks)
    assert lines - set(SnippetLine.objects.values_list("pk", flat=True)) == set(found.line_pks)
    assert found.commands == ["docker service ls"]
    day = Day.objects.get()
    assert not removals(read_notes(text).days[0], day)  # and then nothing more would go


def test_align_pairs_thousands_of_equal_notes():
    """Equal notes pair up by place (this took 7 s when they could anchor matches)."""
    stored, wanted = ["TODO"] * 5000, ["TODO"] * 2500 + ["new"] + ["TODO"] * 2500
    landing = align(stored, wanted)
    assert sorted(i for i in landing if i is not None) == list(range(5000))
    assert landing.count(None) == 1


def test_tree_order_is_the_day_pages_with_depths_and_loops_last():
    rows = [(1, None, 1), (2, None, 0), (3, 2, 1), (4, 2, 0), (5, 4, 0), (6, 7, 0), (7, 6, 0)]
    assert tree_order(rows) == [(2, 0), (4, 1), (5, 2), (3, 1), (1, 0), (6, 0), (7, 0)]
