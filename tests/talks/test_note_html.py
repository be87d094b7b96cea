"""Notes and answers written with blocks (paragraphs, lists, code, HTML) stay valid HTML: no
block inside a ``<span>`` or a ``<p>``, where browsers close the element early and split the
note from its tags, badge and link."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.utils import timezone

from talks.models import Highlight, Talk

pytestmark = pytest.mark.django_db

BLOCKS = {"p", "div", "ul", "ol", "li", "pre", "blockquote", "table", "hr", "dl"} | {
    f"h{n}" for n in range(1, 7)
}
PHRASING_ONLY = {"span", "p", "a", "strong", "em", "code", "h1", "h2", "h3", "h4", "h5", "h6"}
VOID = {"br", "img", "hr", "input", "meta", "link", "wbr", "source"}

WRITTEN_WITH_BLOCKS = [
    "First paragraph of the note.\n\nA second one.",
    "<div>An HTML block first</div>\n\nthen text",
    "A list in a note:\n\n- one\n- two",
    "Some code:\n\n    docker service ls",
    "> quoted from the talk",
]


class _Nesting(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in BLOCKS and (inside := [t for t in self.open if t in PHRASING_ONLY]):
            self.problems.append(f"<{tag}> inside <{inside[-1]}> ({' > '.join(self.open[-4:])})")
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            while self.open.pop() != tag:
                pass


def nesting_problems(html: str) -> list[str]:
    parser = _Nesting()
    parser.feed(html)
    return parser.problems


@pytest.fixture
def blocky_notes(demo_day):
    talk = Talk.objects.filter(day=demo_day).first()
    for position, text in enumerate(WRITTEN_WITH_BLOCKS, start=100):
        Highlight.objects.create(
            talk=talk,
            position=position,
            text=text,
            kind=Highlight.Kind.FOLLOW_UP,
            resolution="An answer.\n\nIn two paragraphs, with a list:\n\n- a\n- b",
            resolved_at=timezone.now(),
        )
    return demo_day


def test_the_checker_finds_a_block_in_a_span():
    assert nesting_problems("<span><p>x</p></span>") == ["<p> inside <span> (span)"]
    assert nesting_problems("<div><p>x</p><span>y</span></div>") == []


def test_the_day_page_nests_blocks_only_where_they_may_be(client, blocky_notes):
    html = client.get(blocky_notes.get_absolute_url()).content.decode()
    assert "A second one." in html and "In two paragraphs" in html
    assert nesting_problems(html) == []


def test_the_follow_ups_page_nests_blocks_only_where_they_may_be(client, blocky_notes):
    html = client.get("/follow-ups/", {"state": "resolved"}).content.decode()
    assert "In two paragraphs" in html
    assert nesting_problems(html) == []
