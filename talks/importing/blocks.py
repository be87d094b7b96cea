"""The shape both parsers produce: blocks of a notes document, each knowing its lines.

A parser turns its syntax into blocks: paragraphs, headings, bullet lists (trees of items),
code, lines that are only a URL, rules and list breaks. ``source`` is the block's own Markdown,
kept as text where it lands in an intro or a summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..documents import TalkDoc
from .detect import Attrs
from .result import Placement


@dataclass
class Code:
    """A block of code: shell commands become a snippet; other code stays text."""

    lines: list[int]
    commands: list[str]
    caption: str = ""
    shell: bool = True
    source: str = ""
    language: str | None = None  # as its fence states it (```bash); None: not stated


@dataclass
class Item:
    """One list item: a future highlight, with its nested items and the code inside it."""

    text: str
    lines: list[int]
    attrs: Attrs | None = None
    children: list[Item] = field(default_factory=list)
    code: list[Code] = field(default_factory=list)


@dataclass
class Paragraph:
    text: str
    lines: list[int]
    line_texts: list[str]
    source: str
    attrs: Attrs | None = None


@dataclass
class Heading:
    """A Markdown heading (plain text has none: its headings are short paragraphs)."""

    text: str
    lines: list[int]
    level: int
    source: str
    attrs: Attrs | None = None


@dataclass
class BulletList:
    items: list[Item]
    lines: list[int]
    source: str


@dataclass
class CodeBlock:
    code: Code
    source: str

    @property
    def lines(self) -> list[int]:
        return self.code.lines


@dataclass
class UrlLine:
    url: str
    text: str
    lines: list[int]
    source: str


@dataclass
class Rule:
    """A thematic break (---): ends a group; the last one may introduce the sign-off."""

    lines: list[int]
    source: str = "---"


@dataclass
class ListBreak:
    """<!-- --> between two lists: the next list does not nest under what came before."""

    lines: list[int]
    source: str = ""


Block = Paragraph | Heading | BulletList | CodeBlock | UrlLine | Rule | ListBreak


def all_lines(block: Block) -> list[int]:
    """Every source line a block covers, its items' and their code's included."""
    lines = list(block.lines)
    if isinstance(block, BulletList):
        stack = list(block.items)
        while stack:
            item = stack.pop()
            lines += item.lines
            for code in item.code:
                lines += code.lines
            stack.extend(item.children)
    return lines


LIMITS = {
    **{"day_title": 200, "talk_title": 300, "url": 500, "tag": 60, "caption": 200},
    **{"meta": 200, "language": 20},
}


@dataclass
class DayDraft:
    """A day as found in the text, before conference and day number are settled."""

    title: str = ""
    title_line: int = 0  # where the title is, for messages (0: no title)
    title_attrs: Attrs | None = None
    marker_number: int | None = None
    marker_line: int = 0  # where the text says which day it is ("Day 1"), for warnings
    intro: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    author: str = ""
    author_title: str = ""
    next_day_title: str = ""
    talks: list[TalkDoc] = field(default_factory=list)


def fit(text: str, limit: str, *, line: int, what: str, placement: Placement) -> str:
    """Cut ``text`` to the database column's size, saying so."""
    size = LIMITS[limit]
    if len(text) <= size:
        return text
    placement.warn(line, f"The {what} is longer than {size} characters; it was shortened.")
    return text[: size - 1].rstrip() + "…"
