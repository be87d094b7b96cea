"""Plain text as people paste it: the judgement calls a person would agree with."""

from __future__ import annotations

import pytest

from talks.importing import ImportOptions, parse_notes
from talks.importing.detect import classify_talk_heading, infer_highlight_kind, is_command

HEAD = "DockerCon 2016 Highlights Day 1\n\nIntro paragraph about the day.\n\n"


def parse(body: str, **kwargs):
    return parse_notes(HEAD + body, format="text", **kwargs)


def messages(result) -> list[str]:
    return [f"{w.line}: {w.message}" for w in result.warnings]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Docker for Mac allows you to debug code. (Need to figure out details)", "follow-up"),
        ("Will have to find more links to details… sounds like cloudformation.", "follow-up"),
        ("Docker Cloud demos… will have to investigate what APIs are available.", "follow-up"),
        ("“Seamless” (Not sure we will give up Ansible for deploying…)", "note"),
        ("Docker 1.12 will have orchestration features built-in.", "note"),
        ("Can use sysdig to figure out what calls are open", "note"),
        ("TODO: try the new routing mesh", "todo"),
        ("To do: read the DAB spec", "todo"),
        ("Does swarm mode work with Consul?", "question"),
        ("Security starts with the base OS - does it? Start minimal", "note"),
    ],
)
def test_it_marks_follow_ups_by_their_words(text, kind):
    assert infer_highlight_kind(text) == kind


@pytest.mark.parametrize(
    ("line", "command"),
    [
        ("docker service create --name vote -p 8080:80 instavote/vote", True),
        ("docker service ls", True),
        ("$ docker node ls", True),
        ("kubectl get pods -o wide", True),
        ("DEBUG=1 docker compose up", True),
        ("docker is great for shipping code.", False),
        ("Docker 1.12 will have orchestration features built-in.", False),
        ("docker service API that handles scaling, rolling updates", False),
        ("git clone the repository", False),
        ("make it work", False),
        ("Use aa-genprof to generate an apparmor profile", False),
        ("% of people use docker", False),
    ],
)
def test_it_tells_commands_from_prose_that_mentions_them(line, command):
    assert is_command(line) is command


def test_it_turns_a_run_of_commands_into_one_snippet_after_the_note_it_follows():
    result = parse(
        "Keynote\n\nTry these:\n\ndocker service ls\n$ docker node ls\n\ndocker service ps web\n"
    )
    note = result.day.talks[0].highlights[0]
    assert note.text == "Try these:"
    assert note.snippets[0].lines == [
        "docker service ls",
        "docker node ls",
        "docker service ps web",
    ]


def test_it_keeps_a_bullet_that_mentions_a_command_as_a_note():
    talk = parse("Keynote\n\n• docker service API handles scaling\n").day.talks[0]
    assert talk.highlights[0].text == "docker service API handles scaling"
    assert talk.highlights[0].snippets == []


def test_it_nests_bullets_by_indentation_and_keeps_their_order():
    talk = parse("Keynote\n\n  • a\n    • b\n      • c\n    • d\n  • e\n").day.talks[0]
    top = talk.highlights
    assert [h.text for h in top] == ["a", "e"]
    assert [h.text for h in top[0].children] == ["b", "d"]
    assert top[0].children[0].children[0].text == "c"


@pytest.mark.parametrize("marker", ["•", "-", "*", "◦", "1.", "2)"])
def test_it_reads_the_usual_bullet_markers(marker):
    talk = parse(f"Keynote\n\n{marker} first\n{marker} second\n").day.talks[0]
    assert [h.text for h in talk.highlights] == ["first", "second"]


def test_it_nests_same_indented_bullets_under_one_ending_with_a_colon():
    body = "Keynote\n\n• Pitfalls of seccomp:\n• Fragile\n• Libseccomp - go library\n\n• Later\n"
    top = parse(body).day.talks[0].highlights
    assert [h.text for h in top] == ["Pitfalls of seccomp:", "Later"]
    assert [h.text for h in top[0].children] == ["Fragile", "Libseccomp - go library"]


def test_it_makes_a_short_line_before_bullets_a_group_heading():
    top = parse("Keynote\n\nSuccess\n\n  • It works\n\nLater paragraph.\n").day.talks[0].highlights
    assert (top[0].text, top[0].style, top[0].kind) == ("Success", "heading", "success")
    assert [h.text for h in top[0].children] == ["It works"]
    assert (top[1].text, top[1].style) == ("Later paragraph.", "paragraph")


@pytest.mark.parametrize(
    ("heading", "title", "kind", "slug"),
    [
        ("Keynote highlights", "Keynote highlights", "keynote", "keynote"),
        ("Talk Highlights: “The Golden Ticket: Docker”", "The Golden Ticket: Docker", "talk",
         "the-golden-ticket"),
        ("Docker for Developers 1 and 2", "Docker for Developers 1 and 2", "sessions",
         "docker-for-developers"),
        ("Immutable Infrastructure", "Immutable Infrastructure", "talk",
         "immutable-infrastructure"),
        ("Session: Swarm at scale", "Swarm at scale", "talk", "swarm-at-scale"),
    ],
)  # fmt: skip
def test_it_reads_talk_titles(heading, title, kind, slug):
    talk = classify_talk_heading(heading)
    assert (talk.title, talk.kind, talk.slug) == (title, kind, slug)


def test_it_starts_talks_at_title_case_lines_and_keeps_sentence_case_ones_as_headings():
    body = (
        "Keynote\n\n• a\n\nHandling secrets\n\nNetworking\n\n• b\n\n"
        "Immutable Infrastructure\n\n• c\n"
    )
    talks = parse(body).day.talks
    assert [t.title for t in talks] == ["Keynote", "Immutable Infrastructure"]
    assert [(h.text, h.style) for h in talks[0].highlights] == [
        ("a", "bullet"),
        ("Handling secrets", "heading"),
        ("Networking", "heading"),
    ]
    assert talks[0].highlights[2].children[0].text == "b"


def test_it_takes_a_url_right_after_a_talk_title_as_the_session_link():
    body = "Keynote\n\nhttps://example.org/keynote\n\n• a\n\nhttps://example.org/slides\n"
    talk = parse(body).day.talks[0]
    assert talk.session_url == "https://example.org/keynote"
    assert talk.highlights[-1].text == "https://example.org/slides"  # a link of its own, kept


def test_it_keeps_links_in_the_note_they_stand_in():
    body = "Keynote\n\n• Slides at https://example.org/s, video soon\n• Watch:\nhttps://x.org/v\n"
    top = parse(body).day.talks[0].highlights
    assert top[0].text == "Slides at https://example.org/s, video soon"
    assert top[1].text == "Watch: https://x.org/v"


def test_it_reads_the_summary_next_day_and_sign_off():
    body = (
        "Keynote\n\n• a\n\nSummary\n\nGood day.\n\nSee my day 2 notes here: Day Two Notes\n\n"
        "Jane Doe\n\nStaff Engineer at Example\n"
    )
    day = parse(body).day
    assert (day.summary, day.next_day_title) == ("Good day.", "Day Two Notes")
    assert (day.author, day.author_title) == ("Jane Doe", "Staff Engineer at Example")


def test_it_reads_windows_line_endings_and_a_bom():
    text = "\ufeff" + (HEAD + "Keynote\n\n  • a\n    • b\n").replace("\n", "\r\n")
    result = parse_notes(text)
    assert result.day.talks[0].highlights[0].children[0].text == "b"
    assert result.warnings == []


def test_it_warns_about_tabs_mixed_with_spaces_and_counts_a_tab_as_four():
    result = parse("Keynote\n\n• a\n\t• b\n    • c\n")
    top = result.day.talks[0].highlights
    assert [h.text for h in top[0].children] == ["b", "c"]
    assert "tab was counted as 4 spaces" in " ".join(messages(result))


def test_it_keeps_fifty_levels_of_nesting_at_eight_with_a_warning():
    body = "Keynote\n\n" + "".join(f"{'  ' * n}• level {n + 1}\n" for n in range(50))
    result = parse(body)
    node, depth = result.day.talks[0].highlights[0], 1
    while node.children:
        node, depth = node.children[0], depth + 1
    assert depth == 8
    assert any("nested deeper than 8 levels" in m for m in messages(result))
    assert result.unplaced_lines() == []


def test_it_puts_notes_before_any_talk_title_in_a_talk_called_notes():
    result = parse_notes("• first note\n• second note\n", format="text")
    assert result.day.talks[0].title == "Notes"
    assert (
        "1: These notes come before any talk title; they were put in a talk called “Notes”."
        in messages(result)
    )


def test_it_warns_when_commands_come_before_any_note_of_a_talk():
    result = parse("Keynote\n\ndocker service ls\n\n• a note\n")
    talk = result.day.talks[0]
    assert talk.snippets[0].lines == ["docker service ls"]
    assert any("come before any note of the talk" in m for m in messages(result))


def test_it_warns_about_a_second_day_in_one_document():
    result = parse("Day 1\n\nKeynote\n\n• a\n\nDay 2\n\n• b\n")
    assert any("already said Day 1" in m for m in messages(result))
    assert result.unplaced_lines() == []


def test_it_reads_no_break_spaces_as_indentation():
    talk = parse("Keynote\n\n\u00a0\u00a0• a\n\u00a0\u00a0\u00a0\u00a0• b\n").day.talks[0]
    assert talk.highlights[0].children[0].text == "b"


def test_it_does_not_take_a_first_talk_title_for_the_days_title():
    options = ImportOptions(conference="DockerCon 2016", day=2)
    day = parse_notes("Keynote highlights\n\n• a\n", format="text", options=options).day
    assert day.title == "DockerCon 2016 Day 2"
    assert [(t.title, t.highlights[0].text) for t in day.talks] == [("Keynote highlights", "a")]


def test_a_command_too_long_to_store_is_kept_as_a_note_with_a_warning():
    long = "docker service create " + " ".join(f"--label k{i}=v{i}" for i in range(120))
    result = parse_notes(f"Conf 2020 Day 1\n\nA talk\n\n{long} busybox\n", format="text")
    [warning] = result.warnings
    assert warning.line == 5
    assert "looks like a command, but at 1,9" in warning.message
    assert "longer than a command line may be (1,000); it was kept as a note" in warning.message
    [note] = result.days[0].talks[0].highlights
    assert note.text.startswith("docker service create --label k0=v0")


def test_a_title_and_text_that_disagree_on_the_day_are_warned_about_at_the_line():
    result = parse_notes("DockerCon 2016 Day 2\n\nDay 1\n\nA talk\n\n• a note\n", format="text")
    [warning] = result.warnings
    assert (warning.line, warning.message) == (3, "The title says Day 2 but the text says Day 1.")
