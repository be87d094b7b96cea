"""Markdown notes: headings, nested lists, code, links, front matter, attribute blocks."""

from __future__ import annotations

import datetime as dt

from talks.importing import detect_format, parse_notes

DOC = """\
# KubeCon EU 2019 notes, day 2

Second day in Barcelona.

## Keynote: the state of the project

<https://kccnceu19.sched.com/event/1>

- Graduated projects: *Helm* and `containerd`
  - See [the blog](https://example.org/blog) and https://example.org/bare
- Operators are everywhere
  1. kubebuilder
  2. operator-sdk

Commands shown:

```console
# Start a cluster
$ kind create cluster
Creating cluster "kind" ...
$ kubectl get nodes
```

### Questions

- How does it scale?

## Service meshes

    kubectl apply -f istio.yaml

```yaml
kind: Deployment
```

## Summary

Long day, good talks.
"""


def test_it_detects_markdown_by_extension_and_by_content():
    assert detect_format("plain", filename="notes.md") == "markdown"
    assert detect_format("# Title", filename="notes.txt") == "text"
    assert detect_format("# Title\n\n- a\n") == "markdown"
    assert detect_format("Title\n\n• a\n") == "text"


def test_it_reads_title_talks_lists_code_and_links():
    result = parse_notes(DOC)
    day = result.day
    assert result.format == "markdown"
    assert (day.conference.name, day.number) == ("KubeCon EU 2019", 2)
    assert day.intro == "Second day in Barcelona."
    keynote, mesh = day.talks
    assert (keynote.title, keynote.kind, keynote.slug) == ("the state of the project", "keynote",
                                                           "the-state-of-the-project")  # fmt: skip
    assert keynote.session_url == "https://kccnceu19.sched.com/event/1"
    first = keynote.highlights[0]
    assert first.text == "Graduated projects: *Helm* and `containerd`"
    assert (
        first.children[0].text
        == "See [the blog](https://example.org/blog) and https://example.org/bare"
    )
    assert [h.text for h in keynote.highlights[1].children] == ["kubebuilder", "operator-sdk"]
    shown = keynote.highlights[2]
    assert (shown.text, shown.style) == ("Commands shown:", "paragraph")
    assert shown.snippets[0].lines == ["kind create cluster", "kubectl get nodes"]
    assert shown.snippets[0].caption == "Start a cluster"
    questions = keynote.highlights[3]
    assert (questions.style, questions.kind) == ("heading", "question")
    assert questions.children[0].kind == "question"
    assert mesh.snippets[0].lines == ["kubectl apply -f istio.yaml"]
    assert mesh.highlights[0].text == "```yaml\nkind: Deployment\n```"  # not shell: kept as text
    assert day.summary == "Long day, good talks."


def test_it_says_output_lines_were_left_out():
    messages = [str(w) for w in parse_notes(DOC).warnings]
    assert messages == [
        "line 17: 1 line of output in this block was left out: only commands are imported.",
        "line 30: These commands come before any note of the talk; they are shown at the end of "
        "the talk.",
    ]


def test_it_ends_an_unterminated_fence_at_its_first_blank_line():
    text = "# Conf 2020 Day 1\n\n## Talk\n\nRun:\n\n```console\n$ docker ps\n\n- a note after it\n"
    result = parse_notes(text)
    talk = result.day.talks[0]
    assert talk.highlights[0].snippets[0].lines == ["docker ps"]
    assert talk.highlights[1].text == "a note after it"
    assert [str(w) for w in result.warnings] == [
        "line 7: This code block is never closed (no closing ```); it was ended at its first "
        "blank line."
    ]
    assert result.unplaced_lines() == []


def test_it_reads_front_matter_and_attribute_blocks():
    text = """\
---
conference: DockerCon 2016
conference-slug: dc16
location: Seattle
starts-on: 2016-06-19
day: 1
date: 2016-06-20
---

# Day one

## Keynote highlights {#kn .talk tags="security,x y"}

- Plain note {.follow-up tags=networking}
- [ ] Try the beta
"""
    day = parse_notes(text).day
    assert (day.conference.slug, day.conference.location) == ("dc16", "Seattle")
    assert (day.conference.starts_on, day.date) == (dt.date(2016, 6, 19), dt.date(2016, 6, 20))
    talk = day.talks[0]
    assert (talk.slug, talk.kind, talk.tags) == ("kn", "talk", ["security", "x y"])
    first, second = talk.highlights
    assert (first.text, first.kind, first.tags) == ("Plain note", "follow-up", ["networking"])
    assert (second.text, second.kind) == ("Try the beta", "todo")


def test_it_leaves_text_that_only_looks_like_attributes_alone():
    text = "# Conf 2020 Day 1\n\n## Talk\n\n- Templates use {braces} and {.notakind}\n"
    note = parse_notes(text).day.talks[0].highlights[0]
    assert note.text == "Templates use {braces} and {.notakind}"


def test_it_uses_the_shallowest_headings_with_content_as_talks():
    text = "# Conf 2020 Day 1\n\n## Talks\n\n### First\n\n- a\n\n### Second\n\n- b\n"
    result = parse_notes(text)
    assert [t.title for t in result.day.talks] == ["First", "Second"]
    assert "only groups talks" in str(result.warnings[0])


def test_it_keeps_a_list_separate_after_an_html_comment():
    text = "# Conf 2020 Day 1\n\n## Talk\n\n### Group\n\n- a\n\n<!-- -->\n\n- b\n"
    top = parse_notes(text).day.talks[0].highlights
    assert [h.text for h in top] == ["Group", "b"]
    assert top[0].children[0].text == "a"


def test_it_reads_several_days_of_a_conference_document():
    text = (
        "---\nconference: DockerCon 2016\n---\n\n# DockerCon 2016 Highlights Day 1\n\n"
        "## Keynote\n\n- a\n\n# Second day {day=2 date=2016-06-21}\n\n## Talk\n\n- b\n"
    )
    days = parse_notes(text).days
    assert [(d.number, d.title, d.date) for d in days] == [
        (1, "DockerCon 2016 Highlights Day 1", None),
        (2, "Second day", dt.date(2016, 6, 21)),
    ]


def test_it_reads_lazy_continuations_and_multi_paragraph_items():
    text = "# Conf 2020 Day 1\n\n## Talk\n\n- first line\nlazy line\n\n  second paragraph\n- next\n"
    top = parse_notes(text).day.talks[0].highlights
    assert top[0].text == "first line\nlazy line\n\nsecond paragraph"
    assert top[1].text == "next"


def test_it_keeps_setext_headings_and_tables():
    text = (
        "Conf 2020 Day 1\n===============\n\nTalk one\n--------\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n"
    )
    day = parse_notes(text, format="markdown").day
    assert day.title == "Conf 2020 Day 1"
    assert day.talks[0].highlights[0].text == "| a | b |\n|---|---|\n| 1 | 2 |"


def test_tags_may_have_spaces_after_their_commas():
    text = "---\nconference: Conf 2020\nday: 1\n---\n\n## Talk {tags=a, b,c}\n\n- x {tags=d, e}\n"
    result = parse_notes(text)
    talk = result.day.talks[0]
    assert (talk.title, talk.tags, talk.highlights[0].tags) == ("Talk", ["a", "b", "c"], ["d", "e"])
    assert result.warnings == []


def test_an_attribute_block_it_cannot_read_is_kept_in_the_title_with_a_warning():
    text = "---\nconference: Conf 2020\nday: 1\n---\n\n## Talk {tags=a b}\n\n- x\n"
    result = parse_notes(text)
    assert result.day.talks[0].title == "Talk {tags=a b}"
    assert [str(w) for w in result.warnings] == [
        "line 6: The {…} at the end of this talk title was not understood as facts about the "
        "talk (such as {#slug .keynote tags=a, b}); it was kept in the title."
    ]


# --- a note's own Markdown inside a list item ------------------------------------------------

HEAD = "# Conf 2020 Day 1\n\n## Talk\n\n"


def test_it_keeps_a_code_block_that_starts_an_item_as_the_notes_text():
    result = parse_notes(HEAD + "- ```\n  code in note\n  ```\n- next\n- last\n")
    assert [h.text for h in result.day.talks[0].highlights] == [
        "```\ncode in note\n```",
        "next",
        "last",
    ]
    assert result.warnings == []


def test_it_keeps_code_in_its_place_in_an_item_and_commands_as_a_snippet():
    text = (
        "- Config:\n  ```yaml\n  a: b\n  ```\n  then apply it\n"
        "- Deploy:\n  ```\n  docker service ls\n  ```\n"
    )
    config, deploy = parse_notes(HEAD + text).day.talks[0].highlights
    assert (config.text, config.snippets) == ("Config:\n```yaml\na: b\n```\nthen apply it", [])
    assert (deploy.text, [s.lines for s in deploy.snippets]) == ("Deploy:", [["docker service ls"]])


def test_it_ends_a_code_block_never_closed_in_an_item_with_the_item():
    result = parse_notes(HEAD + "- ```\n  code\n\n  more\n- next\n")
    assert [h.text for h in result.day.talks[0].highlights] == ["```\ncode\n\nmore", "next"]
    assert [str(w) for w in result.warnings] == [
        "line 5: This code block is never closed (no closing ```); it was ended at the end of "
        "its note."
    ]
    assert result.unplaced_lines() == []


def test_it_takes_off_the_backslashes_the_export_puts_before_structure_in_a_note():
    text = (
        "- intro\n  \\- a\n  1\\. b\n  \\\\- kept escaped\n"
        "- \\[ ] not a box\n- \\---\n- \\\\```\n  not code\n- [ ] a box\n"
    )
    notes = parse_notes(HEAD + text).day.talks[0].highlights
    assert [(h.text, h.kind) for h in notes] == [
        ("intro\n- a\n1. b\n\\- kept escaped", "note"),
        ("[ ] not a box", "note"),
        ("---", "note"),
        ("```\nnot code", "note"),
        ("a box", "todo"),
    ]


def test_it_reads_an_attribute_block_on_the_line_after_a_closing_fence():
    note = parse_notes(HEAD + "- ```\n  x\n  ```\n  {.todo tags=a}\n").day.talks[0].highlights[0]
    assert (note.text, note.kind, note.tags) == ("```\nx\n```", "todo", ["a"])


def test_it_keeps_a_comment_in_code_that_is_not_commands_without_a_warning():
    result = parse_notes(HEAD + "```\nlet y = 1\n# a comment\n```\n")
    assert result.day.talks[0].highlights[0].text == "```\nlet y = 1\n# a comment\n```"
    assert result.warnings == []
