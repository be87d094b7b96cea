"""Random text never breaks the parser, and every line ends up somewhere or in a warning."""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from talks.documents import DayDoc
from talks.importing import parse_notes
from talks.importing.lines import split_text

FRAGMENTS = [
    "DockerCon 2016 Highlights Day 1", "Day 1", "Day 2", "Keynote highlights", "Summary",
    "Success", "Talk Highlights: “A Talk: Sub”", "Immutable Infrastructure", "Handling secrets",
    "• a bullet", "- dash bullet", "* star", "1. numbered", "• Pitfalls:", "◦ hollow",
    "docker service ls", "$ docker node ls", "docker service create --name vote -p 8080:80 x",
    "https://example.org/x", "<https://example.org/y>", "[label](https://example.org/z)",
    "```", "```console", "```yaml", "~~~", "    indented code", "# heading", "## talk heading",
    "### group", "#", "---", "***", "===", "<!-- -->", "<!--", "-->", "{.follow-up}",
    "- [ ] box", "- item {.todo tags=a,b}", "## T {#slug .sessions}", "See my day 2 notes here: X",
    "Ryan Walls", "(Need to figure out details)", "TODO later", "why?", "Ends with colon:",
    "\t• tabbed", "| a | b |", "> quoted", "text {#slug}", "- ", "•", "1.", "Setext",
]  # fmt: skip
LINE = st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=30))
INDENT = st.sampled_from(["", "", "  ", "    ", "      ", "\t", "\u00a0\u00a0", " \t"])
TEXT = st.builds(
    lambda lines, ending: ending.join(lines),
    st.lists(st.builds(str.__add__, INDENT, LINE), max_size=35),
    st.sampled_from(["\n", "\r\n", "\r"]),
)
CHECKED_ROLES = {"highlight", "intro"}


def strings(value) -> list[str]:
    """Every string held anywhere in a document."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    if dataclasses.is_dataclass(value):
        return [s for f in dataclasses.fields(value) for s in strings(getattr(value, f.name))]
    return []


def check_every_line_is_accounted_for(text: str, fmt: str) -> None:
    result = parse_notes(text, format=fmt)
    lines = split_text(text)
    assert len(result.roles) == len(lines)
    assert result.unplaced_lines() == []
    days: list[DayDoc] = result.days
    haystack = " ".join(strings(days) + [w.message for w in result.warnings])
    for number, (line, role) in enumerate(zip(lines, result.roles, strict=True), 1):
        if role not in CHECKED_ROLES or line.strip().startswith(("```", "~~~")):
            continue
        words = re.findall(r"[A-Za-z0-9]{3,}", line)
        if words:
            word = max(words, key=len)
            assert word in haystack, f"line {number} ({line!r}, {role}) lost {word!r}"


@pytest.mark.parametrize("fmt", ["text", "markdown"])
@given(text=TEXT)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_it_places_every_line_of_notes_like_text(fmt, text):
    check_every_line_is_accounted_for(text, fmt)


@pytest.mark.parametrize("fmt", ["text", "markdown"])
@given(text=st.text(max_size=300))
@settings(max_examples=100, deadline=None)
def test_it_never_fails_on_arbitrary_text(fmt, text):
    check_every_line_is_accounted_for(text, fmt)
