"""A note's own Markdown (code blocks, paragraphs, lists, HTML) survives export and import.

Editors type whatever Markdown they like into a note in the admin. The export must write it so
that the importer reads it back as the same note: not as a never-closed code block that
swallows the notes after it, not as child notes, not as a snippet.
"""

from __future__ import annotations

import pytest

from talks.documents import ConferenceDoc, DayDoc, HighlightDoc, SnippetDoc, TalkDoc, save_day
from talks.exporting import MarkdownExporter, day_document
from talks.importing import import_notes, parse_notes
from talks.models import Conference, Day, Highlight
from tests.talks.test_import_seed import comparable

NOTE_TEXTS = {
    "code block": "```\ncode in note\n```",
    "code block with a language": "```python\nprint(1)\n```",
    "tilde fence": "~~~\ncode\n~~~",
    "longer fence around backticks": "````\n```\nx\n```\n````",
    "code with a blank line": "```\ncode\n\nwith blank\n```",
    "code after a line": "Look:\n```\ncode\n```",
    "code after a paragraph": "Look:\n\n```\ncode\n```",
    "text after code": "```\ncode\n```\nafter",
    "code between lines": "A\n```\nx\n```\nB",
    "code that reads like commands": "```\ndocker service ls\n```",
    "commands after a line": "Run:\n```\ndocker service ls\n```",
    "console block with output": "```console\n$ docker ps\nCONTAINER ID\n```",
    "list and heading inside code": "```\n- not a list\n# not heading\n```",
    "indented line inside code": "Look\n```\n  indented inside\n```",
    "code never closed": "```\nunclosed",
    "fence with trailing words": "```\ncode\n``` trailing",
    "escaped fence": "\\```\nnot code",
    "two paragraphs": "a\n\nb",
    "three blank lines": "a\n\n\n\nb",
    "list after a line": "intro\n- a\n- b",
    "list": "- a\n- b",
    "nested list": "- a\n  - b\n    - c",
    "ordered list": "1. one\n2. two",
    "escaped list marker": "\\- not a list\n1\\. not a list",
    "html block": "<div>\nx\n</div>",
    "html details": "<details>\n<summary>S</summary>\n\nbody\n</details>",
    "quote": "> quote\n> more",
    "indented code": "text\n\n    indented code",
    "table": "| a | b |\n|---|---|\n| 1 | 2 |",
    "heading inside": "# heading\nbody",
    "setext underline": "Title\n--",
    "thematic break": "---",
    "task box": "[ ] not a box",
    "comment": "<!-- not a list break -->\nafter",
    "attribute-like last line": "a\n{.todo}",
}


def export(day: Day) -> str:
    return MarkdownExporter().export_day(Day.objects.get(pk=day.pk))


def day_with(text: str) -> DayDoc:
    """The note in every place a note can be: top-level bullet, paragraph and group heading,
    nested, before and after notes with snippets, with tags and a kind."""

    def note(style: str = "bullet", **kwargs) -> HighlightDoc:
        return HighlightDoc(text=text, style=style, **kwargs)

    after = HighlightDoc(text="after", snippets=[SnippetDoc(lines=["docker service ls"])])
    return DayDoc(
        conference=ConferenceDoc(name="Any Conf 2020"),
        number=1,
        title="Any Conf 2020 Day 1",
        talks=[
            TalkDoc(
                title="Keynote highlights",
                kind="keynote",
                highlights=[
                    HighlightDoc(text="first"),
                    note(),
                    HighlightDoc(text="between"),
                    note("paragraph"),
                    note("heading"),
                    note("paragraph", tags=["security"], kind="question"),
                    HighlightDoc(
                        text="parent:",
                        children=[note(), note("paragraph", kind="todo"), after],
                    ),
                    note(snippets=[SnippetDoc(lines=["docker node ls"])]),
                    note(children=[HighlightDoc(text="child")]),
                    after,
                ],
                snippets=[SnippetDoc(lines=["docker service ps vote"])],
            )
        ],
    )


@pytest.mark.parametrize("text", NOTE_TEXTS.values(), ids=NOTE_TEXTS.keys())
def test_it_round_trips_a_note_whose_text_is_markdown(db, text):
    day, _ = save_day(day_with(text))
    stored = comparable(day_document(day))
    markdown = export(day)

    result = parse_notes(markdown)
    assert result.warnings == [], markdown
    assert comparable(result.day) == stored, markdown

    Conference.objects.all().delete()
    day = import_notes(markdown).saved[0][0]
    assert export(day) == markdown
    assert comparable(day_document(day)) == stored
    assert Highlight.objects.filter(text=text).count() == 8


def test_it_keeps_the_notes_after_a_note_that_is_a_code_block(demo_day):
    """The reviewer's case: a code block typed into a note in the admin."""
    note = Highlight.objects.get(text__startswith="Docker for Mac allows")
    note.text = "```\ncode in note\n```"
    note.save()
    markdown = export(demo_day)
    # A closing fence cannot carry the attribute block: it has a line of its own.
    assert "\n- ```\n  code in note\n  ```\n  {.follow-up tags=docker-for-mac}\n" in markdown

    result = parse_notes(markdown)
    assert result.warnings == []
    assert comparable(result.day) == comparable(day_document(demo_day))
    notes = Highlight.objects.count()
    Conference.objects.all().delete()
    day = import_notes(markdown).saved[0][0]
    assert export(day) == markdown
    assert Highlight.objects.get(text="```\ncode in note\n```").tags.get().name == "docker-for-mac"
    assert Highlight.objects.filter(talk__day=day).count() == notes  # none swallowed


def test_it_writes_code_that_reads_like_commands_with_an_escaped_fence(db):
    """Such code stays the note's text: the importer would otherwise make it a snippet."""
    day, _ = save_day(day_with("Run:\n```\ndocker service ls\n```"))
    assert "\n- Run:\n  \\```\n  docker service ls\n  ```\n" in export(day)


def test_it_writes_a_note_that_is_only_a_code_block_as_a_code_block(db):
    """A paragraph note that is one code block is written as one, as it was imported."""
    code = "```yaml\nkind: Deployment\n```"
    doc = day_with(code)
    doc.talks[0].highlights = [HighlightDoc(text=code, style="paragraph")]
    day, _ = save_day(doc)
    assert "\n\n```yaml\nkind: Deployment\n```\n\n" in export(day)
