"""Export → import → export gives the same Markdown, and the same notes."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talks.demo import DOCKERCON_2016_DAY_1
from talks.documents import ConferenceDoc, DayDoc, HighlightDoc, SnippetDoc, TalkDoc, save_day
from talks.exporting import MarkdownExporter, day_document
from talks.importing import import_notes, parse_notes
from talks.importing.detect import short_slug
from talks.models import Conference, Day, SnippetLine
from tests.factories import big_day_doc
from tests.talks.test_import_seed import comparable


def export(day: Day, **kwargs) -> str:
    return MarkdownExporter(**kwargs).export_day(Day.objects.get(pk=day.pk))


def test_it_reads_its_own_export_of_the_demo_day_back_unchanged(demo_day):
    markdown = export(demo_day)
    result = parse_notes(markdown)
    assert (result.format, result.warnings) == ("markdown", [])
    assert comparable(result.day) == comparable(day_document(demo_day))  # tags too
    report = import_notes(markdown).saved[0][1]
    assert (report.created, report.updated, report.deleted) == (0, 0, 0)
    assert export(demo_day) == markdown


def test_it_round_trips_the_demo_day_through_an_empty_database(demo_day):
    markdown = export(demo_day)
    Conference.objects.all().delete()
    day = import_notes(markdown).saved[0][0]
    assert export(day) == markdown


@pytest.mark.parametrize("seed", [2016])
def test_it_round_trips_generated_days(db, seed):
    doc = big_day_doc(talks=4, highlights_per_talk=7, seed=seed)
    day, _ = save_day(doc)
    markdown = export(day)
    assert comparable(parse_notes(markdown).day) == comparable(day_document(day))
    Conference.objects.all().delete()
    assert export(import_notes(markdown).saved[0][0]) == markdown


def test_it_round_trips_a_whole_conference(db):
    save_day(DOCKERCON_2016_DAY_1)
    second = big_day_doc(talks=2, highlights_per_talk=4, seed=7)
    second.conference, second.number, second.title = DOCKERCON_2016_DAY_1.conference, 2, "Day two"
    save_day(second)
    conference = Conference.objects.get()
    markdown = MarkdownExporter().export_conference(conference)
    assert "# Day two {day=2 date=2020-01-01}" in markdown
    Conference.objects.all().delete()
    outcome = import_notes(markdown)
    assert [day.number for day, _ in outcome.saved] == [1, 2]
    assert MarkdownExporter().export_conference(Conference.objects.get()) == markdown


def test_it_exports_outputs_that_the_import_leaves_out(demo_day):
    plain = export(demo_day)
    lines = list(SnippetLine.objects.order_by("position"))
    outputs = {lines[0].pk: "abc123\n$ not a command", lines[1].pk: "ID  NAME\nx1  vote"}
    with_outputs = export(demo_day, outputs=outputs)
    assert "$ docker service ls\nID  NAME\nx1  vote\n" in with_outputs
    assert "\nabc123\n $ not a command\n" in with_outputs
    result = parse_notes(with_outputs)
    assert comparable(result.day) == comparable(parse_notes(plain).day)
    assert [str(w) for w in result.warnings] == [
        "line 27: 4 lines of output in this block were left out: only commands are imported."
    ]


# --- any day, not only the ones we thought of ------------------------------------------------

WORDS = st.sampled_from(
    [
        *("swarm", "node", "Docker", "the", "rolling", "update", "secrets", "TLS", "TODO"),
        *("(Need to figure out details)", "docker service ls", "https://example.org/a"),
        *("“quoted”", "Success", "will have to", "1.12", "{braces}", "why?", "done:", "C#"),
        *("*emphasis*", "`code`", "[link](https://example.org/b)"),
    ]
)
TEXT = st.builds(
    lambda words, end: " ".join(words) + end,
    st.lists(WORDS, min_size=1, max_size=7),
    st.sampled_from(["", ".", ":", "?", "…", "\nsecond line", "\n\nsecond paragraph"]),
)
TAGS = st.lists(st.sampled_from(["security", "networking", "docker-for-mac", "two words",
                                 'has "quote"', "has,comma", "back\\slash", "a}"]),
                max_size=2, unique=True)  # fmt: skip
SNIPPETS = st.lists(
    st.builds(
        SnippetDoc,
        lines=st.lists(st.sampled_from(["docker service ls", "docker node ls -q"]), min_size=1,
                       max_size=3),
        caption=st.sampled_from(["", "Deploy it"]),
        language=st.sampled_from(["console", "bash", "python", "", 'a "b" `c`']),
    ),
    max_size=1,
)  # fmt: skip


def highlight(children, text=TEXT) -> st.SearchStrategy[HighlightDoc]:
    return st.builds(
        HighlightDoc,
        text=text,
        style=st.sampled_from(["bullet", "bullet", "paragraph", "heading"]),
        kind=st.sampled_from(["note", "note", "success", "follow-up", "question", "todo"]),
        tags=TAGS,
        children=children,
        snippets=SNIPPETS,
        resolved_at=st.sampled_from([None, dt.datetime(2020, 5, 5, 9, 30, 1, 5, tzinfo=dt.UTC)]),
        resolution=st.sampled_from(["", "Found it.", 'A "quoted" {x}\nC:\\n}']),
        resolution_url=st.sampled_from(["", "https://example.org/answer?a=1"]),
    )


HIGHLIGHTS = st.recursive(
    st.lists(highlight(st.just([])), max_size=3),
    lambda inner: st.lists(highlight(inner), max_size=3),
    max_leaves=12,
)
TITLES = st.sampled_from(
    [
        *("Keynote highlights", "Talk: Swarm", "Immutable Infrastructure", "Summary", "Day 3"),
        *("Docker for Developers 1 and 2", "“Quoted”"),
    ]
)


@st.composite
def talks(draw) -> list[TalkDoc]:
    out = []
    for index in range(draw(st.integers(0, 3))):
        title = f"{draw(TITLES)} {index}" if draw(st.booleans()) else draw(TITLES)
        kind = draw(st.sampled_from(["keynote", "talk", "sessions"]))
        natural = short_slug(title, kind=kind)
        slug = draw(st.sampled_from([natural, f"custom-{index}"]))
        if any(t.slug == slug for t in out):
            slug = f"talk-{index}"
        out.append(
            TalkDoc(
                title=title,
                kind=kind,
                slug=slug,
                session_url=draw(st.sampled_from(["", "https://example.org/s"])),
                tags=draw(TAGS),
                highlights=draw(HIGHLIGHTS),
                snippets=draw(SNIPPETS),
            )
        )
    return out


DAYS = st.builds(
    DayDoc,
    conference=st.just(ConferenceDoc(name="Any Conf 2020", location="Lyon")),
    number=st.integers(1, 5),
    title=st.sampled_from(
        ["Any Conf 2020 Day 1", "Notes from the first day", "Keynote day", "Day 1 {day=3}"]
    ),
    date=st.sampled_from([None, dt.date(2020, 5, 4)]),
    intro=st.sampled_from(["", "Intro with *Markdown*.", "Two\n\nparagraphs."]),
    summary=st.sampled_from(["", "Good day.", "- a list\n- in the summary"]),
    author=st.sampled_from(["", "Jane Doe", "Generator"]),
    author_title=st.sampled_from(["", "Engineer"]),
    next_day_title=st.sampled_from(["", "Day Two Notes"]),
    talks=talks(),
)


@given(DAYS)
@settings(max_examples=100, deadline=None)
def test_it_reads_back_any_exported_day(doc):
    if not doc.author:
        doc.author_title = ""  # a title alone has nobody to sign for
    markdown = MarkdownExporter().render_day(doc)
    result = parse_notes(markdown)
    assert comparable(result.day) == comparable(doc), markdown
    assert MarkdownExporter().render_day(result.day) == markdown
    assert _answers(result.day.talks) == _answers(doc.talks)


# Lines of Markdown an editor may type into a note in the admin: code fences (of code, of
# commands, never closed), lists, headings, quotes, HTML, breaks, escapes, attribute blocks.
MARKDOWN_LINES = st.sampled_from(
    [
        *("```", "```console", "```yaml", "~~~", "````", "   ```", "\\```", "\\\\```"),
        *("$ docker ps", "docker service ls", "# comment", "  $ output", "a \\"),
        *("- item", "* item", "+ x", "1. one", "2) two", "  - nested", "\\- escaped", "1\\. x"),
        *("# heading", "## h2", "> quote", "<div>", "</div>", "<!-- c -->", "| a | b |"),
        *("---", "***", "===", "--", "- -", "[ ] box", "[x] done", "    indented"),
        *("text", "more words:", "{.todo}", "x {tags=a}", "", "https://example.org"),
    ]
)
MARKDOWN_TEXT = (
    st.lists(MARKDOWN_LINES, min_size=1, max_size=7).map(lambda ls: "\n".join(ls).strip())
).filter(bool)
MARKDOWN_HIGHLIGHTS = st.recursive(
    st.lists(highlight(st.just([]), MARKDOWN_TEXT), max_size=3),
    lambda inner: st.lists(highlight(inner, MARKDOWN_TEXT), max_size=3),
    max_leaves=8,
)


@given(MARKDOWN_HIGHLIGHTS, SNIPPETS)
@settings(max_examples=200, deadline=None)
def test_it_reads_back_notes_whose_text_is_any_markdown(highlights, snippets):
    talk = TalkDoc(title="Keynote highlights", kind="keynote", slug="keynote-highlights",
                   highlights=highlights, snippets=snippets)  # fmt: skip
    doc = DayDoc(conference=ConferenceDoc(name="Any Conf 2020"), number=1,
                 title="Any Conf 2020 Day 1", talks=[talk])  # fmt: skip
    markdown = MarkdownExporter().render_day(doc)
    result = parse_notes(markdown)
    assert result.warnings == [], markdown
    assert comparable(result.day) == comparable(doc), markdown
    assert MarkdownExporter().render_day(result.day) == markdown


def _answers(talks: list[TalkDoc]) -> list[tuple]:
    out, stack = [], [h for talk in talks for h in talk.highlights]
    while stack:
        note = stack.pop()
        out.append((note.resolved_at, note.resolution, note.resolution_url))
        stack.extend(note.children)
    return out


def test_it_round_trips_resolved_follow_ups_with_their_answers(demo_day):
    from django.utils import timezone

    from talks.models import Highlight

    answers = {}
    for index, note in enumerate(Highlight.objects.filter(kind="follow-up").order_by("pk")):
        note.resolution = [
            "Yes: `docker service ps` shows it.",
            'It "depends" {on the kernel}\nsee \\n and C:\\tmp',
            "",
        ][index]
        note.resolution_url = ["https://example.org/a?b=1&c=2", "", "https://example.org/c"][index]
        note.resolved_at = timezone.now() if index != 1 else None
        note.save()
        answers[note.text] = (note.resolution, note.resolution_url, note.resolved_at)
    markdown = export(demo_day)
    assert 'resolution="Yes: `docker service ps` shows it."' in markdown
    assert "resolution-url=https://example.org/a?b=1&c=2}" in markdown

    Conference.objects.all().delete()
    day = import_notes(markdown).saved[0][0]

    assert export(day) == markdown
    stored = {
        note.text: (note.resolution, note.resolution_url, note.resolved_at)
        for note in Highlight.objects.filter(kind="follow-up")
    }
    assert stored == answers
    assert Highlight.objects.get(resolution__startswith="Yes").resolution_html == (
        "Yes: <code>docker service ps</code> shows it."
    )
