"""Export → import → export, for what QA found it lost: tag names holding quotes or commas, a
day title ending like an attribute block, a conference export with an empty day, and a
snippet's language."""

from __future__ import annotations

import pytest

from talks.documents import ConferenceDoc, DayDoc, HighlightDoc, SnippetDoc, TalkDoc, save_day
from talks.exporting import MarkdownExporter, day_document
from talks.importing import NotesInputError, import_notes, parse_notes
from talks.models import Conference, Day, Highlight, Snippet, Talk
from tests.talks.admin_forms import seen_of, token_of

URL = "/admin/talks/day/import/"
CONFIRM = "/admin/talks/day/import/confirm/"
CONFERENCE = ConferenceDoc(name="QA Conf 2026")
ODD_TAGS = ["gamma ray", 'has "quote"', "has,comma", "back\\slash", "a}{b", "x=y"]


def export_day(day: Day) -> str:
    return MarkdownExporter().export_day(Day.objects.get(pk=day.pk))


def export_conference() -> str:
    return MarkdownExporter().export_conference(Conference.objects.get())


def tags_of(model) -> list[tuple[str, list[str]]]:
    return sorted((str(row), sorted(t.name for t in row.tags.all())) for row in model.objects.all())


def save(*, title: str = "QA Conf 2026 Day 1", number: int = 1, talks=None) -> Day:
    talks = (
        talks
        if talks is not None
        else [TalkDoc(title="First talk", highlights=[HighlightDoc("x")])]
    )
    day, _ = save_day(DayDoc(conference=CONFERENCE, number=number, title=title, talks=talks))
    return day


# --- 1. tag names with quotes and commas --------------------------------------------------------


def test_it_round_trips_tag_names_with_quotes_and_commas(db):
    talk = TalkDoc(
        title="Second talk",
        tags=["gamma ray", 'has "quote"', "has,comma"],
        highlights=[HighlightDoc("A note", tags=['has "quote"', "has,comma"])],
    )
    day = save(talks=[talk])
    markdown = export_day(day)
    assert '## Second talk {tags="gamma ray,has \\"quote\\",has\\,comma"}' in markdown
    assert '- A note {tags="has \\"quote\\",has\\,comma"}' in markdown
    talks, tags = list(Talk.objects.values_list("pk", "slug", "title")), tags_of(Talk)
    notes = (list(Highlight.objects.values_list("pk", "text")), tags_of(Highlight))

    outcome = import_notes(markdown)

    assert outcome.result.warnings == []
    report = outcome.saved[0][1]
    assert (report.created, report.updated, report.deleted) == (0, 0, 0)
    assert list(Talk.objects.values_list("pk", "slug", "title")) == talks
    assert tags_of(Talk) == tags == [("Second talk", ["gamma ray", 'has "quote"', "has,comma"])]
    assert (list(Highlight.objects.values_list("pk", "text")), tags_of(Highlight)) == notes
    assert export_day(day) == markdown


@pytest.mark.parametrize("tags", [ODD_TAGS, ["plain", "docker-for-mac"], ["two words", "c"]])
def test_any_tag_name_comes_back_exactly_through_an_empty_database(db, tags):
    talk = TalkDoc(title="Tagged", tags=tags, highlights=[HighlightDoc("Note", tags=tags)])
    markdown = export_day(save(talks=[talk]))
    Conference.objects.all().delete()
    day = import_notes(markdown).saved[0][0]
    assert export_day(day) == markdown
    stored = sorted(tags, key=str.lower)  # as tags are listed (and exported)
    assert [t.name for t in Talk.objects.get().tags.all()] == stored
    assert parse_notes(markdown).day.talks[0].highlights[0].tags == stored


def test_plain_tags_are_written_as_before(db):
    talk = TalkDoc(title="Tagged", tags=["docker-for-mac", "security"], highlights=[])
    assert "## Tagged {tags=docker-for-mac,security}" in export_day(save(talks=[talk]))
    talk = TalkDoc(title="Tagged", tags=["c", "two words"], highlights=[])
    assert '## Tagged {tags="c,two words"}' in export_day(save(talks=[talk]))


@pytest.mark.parametrize(
    ("written", "tags"),
    [
        ("{tags=a,b}", ["a", "b"]),
        ("{tags=a, b}", ["a", "b"]),
        ('{tags="two words,c"}', ["two words", "c"]),
        ('{tags="C:\\tmp"}', ["C:\\tmp"]),  # a backslash before anything else stays
        # As exports wrote quotes before they were escaped: the title stays whole.
        ('{tags="gamma ray,has "quote",has,comma"}', ["gamma ray", 'has "quote"', "has", "comma"]),
    ],
)
def test_it_reads_tags_as_older_exports_wrote_them(written, tags):
    result = parse_notes(
        f"# QA Conf 2026 Day 1\n\n## Second talk {written}\n\n- A note {written}\n"
    )
    talk = result.day.talks[0]
    assert (talk.title, talk.slug, talk.tags) == ("Second talk", "second-talk", tags)
    assert (talk.highlights[0].text, talk.highlights[0].tags) == ("A note", tags)
    assert result.warnings == []


# --- 4. an empty day in a conference's export ---------------------------------------------------


def test_a_conference_export_with_an_empty_day_imports_back(db):
    save()
    save(title="Six", number=6, talks=[])
    markdown = export_conference()
    assert "\n# Six {day=6}\n" in markdown
    Conference.objects.all().delete()

    outcome = import_notes(markdown)

    assert [(day.number, day.title) for day, _ in outcome.saved] == [
        (1, "QA Conf 2026 Day 1"),
        (6, "Six"),
    ]
    assert not Talk.objects.filter(day__number=6).exists()
    assert export_conference() == markdown


def test_a_file_of_empty_days_only_is_still_refused(db):
    text = "---\nconference: QA Conf 2026\n---\n\n# Five {day=5}\n\n# Six {day=6}\n"
    with pytest.raises(NotesInputError, match=r"^Found nothing to import: no talks, notes, intro "
                       r"or summary, only the titles of 2 days\.$"):  # fmt: skip
        import_notes(text)
    with pytest.raises(NotesInputError, match=r"only the title “Six”\.$"):
        import_notes("---\nconference: QA Conf 2026\nday: 6\n---\n\n# Six\n")
    assert not Day.objects.exists()


# --- 5. a day title ending like an attribute block ----------------------------------------------


@pytest.mark.parametrize("title", ["QA Conf 2026 Day 1 {day=3}", "Day one {date=2026-01-02}"])
def test_a_day_title_ending_like_an_attribute_block_comes_back_whole(db, title):
    day = save(title=title)
    markdown = export_day(day)
    assert f"\n# {title} {{day=1}}\n" in markdown
    conference_markdown = export_conference()
    Conference.objects.all().delete()
    assert import_notes(markdown).saved[0][0].title == title
    assert export_day(Day.objects.get()) == markdown
    Conference.objects.all().delete()
    assert import_notes(conference_markdown).saved[0][0].title == title
    assert export_conference() == conference_markdown


def test_a_talk_title_ending_like_an_attribute_block_comes_back_whole(db):
    day = save(talks=[TalkDoc(title="Talk {#slug .keynote}", highlights=[HighlightDoc("x")])])
    markdown = export_day(day)
    Conference.objects.all().delete()
    import_notes(markdown)
    assert list(Talk.objects.values_list("title", "kind")) == [("Talk {#slug .keynote}", "talk")]


# --- 6. a snippet's language ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "fence"),
    [
        ("console", "```console"),
        ("bash", "```bash"),
        ("Shell", "```Shell"),
        ("python", "```console {language=python}"),
        ("", '```console {language=""}'),
        ('power "shell" `x`', '```console {language="power \\"shell\\" \\x60x\\x60"}'),
    ],
)
def test_a_snippets_language_is_written_on_its_fence_and_read_back(db, language, fence):
    snippet = SnippetDoc(lines=["docker service ls"], language=language)
    talk = TalkDoc(title="First talk", highlights=[HighlightDoc("x", snippets=[snippet])])
    day = save(talks=[talk])
    markdown = export_day(day)
    assert f"\n  {fence}\n  $ docker service ls\n" in markdown
    assert parse_notes(markdown).day.talks[0].highlights[0].snippets[0].language == language
    Conference.objects.all().delete()
    day = import_notes(markdown).saved[0][0]
    assert Snippet.objects.get().language == language
    assert export_day(day) == markdown


def test_a_re_import_that_states_a_language_changes_it(db):
    snippet = SnippetDoc(lines=["docker service ls"], language="bash")
    day = save(
        talks=[TalkDoc(title="First talk", highlights=[HighlightDoc("x", snippets=[snippet])])]
    )
    markdown = export_day(day)
    row = Snippet.objects.get()
    import_notes(markdown.replace("```bash", "```zsh"))
    assert Snippet.objects.get(pk=row.pk).language == "zsh"


def test_a_block_whose_text_states_no_language_keeps_the_stored_one(db):
    snippet = SnippetDoc(lines=["docker service ls"], language="bash")
    day = save(
        talks=[TalkDoc(title="First talk", highlights=[HighlightDoc("x", snippets=[snippet])])]
    )
    row = Snippet.objects.get()
    bare = export_day(day).replace("```bash", "```")
    assert import_notes(bare).saved[0][1].updated == 0
    plain = "QA Conf 2026 Day 1\n\nFirst talk\n\n- x\n\ndocker service ls\n"
    import_notes(plain, format="text")
    assert Snippet.objects.get(pk=row.pk).language == "bash"
    assert day_document(day).talks[0].highlights[0].snippets[0].language == "bash"


def test_the_admin_previews_and_imports_a_conference_export_with_an_empty_day(staff_client):
    save()
    save(title="Six", number=6, talks=[])
    markdown = export_conference()
    Conference.objects.all().delete()
    response = staff_client.post(URL, {"format": "auto", "text": markdown})
    assert response.status_code == 200
    assert "Preview import: 2 days of QA Conf 2026" in response.content.decode()
    staff_client.post(CONFIRM, {"token": token_of(response), "removals": seen_of(response)})
    assert list(Day.objects.order_by("number").values_list("number", "title")) == [
        (1, "QA Conf 2026 Day 1"),
        (6, "Six"),
    ]
