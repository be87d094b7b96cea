"""Splitting text into numbered lines the way an editor shows them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .result import ParseWarning, Placement

_NEWLINE = re.compile(r"\r\n|\r|\n")
_LEADING = re.compile(r"^[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]*")
TAB_SIZE = 4


@dataclass(frozen=True)
class SourceLine:
    """One line: its 1-based number, its indentation in columns and its text without either."""

    number: int
    indent: int
    content: str

    @property
    def blank(self) -> bool:
        return not self.content

    @property
    def text(self) -> str:
        """The line with its indentation as spaces."""
        return " " * self.indent + self.content


def split_text(text: str) -> list[str]:
    """Lines as numbered by an editor: \\r\\n, \\r and \\n all end a line (nothing else does)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = _NEWLINE.split(text)
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()
    return lines


def _columns(leading: str) -> int:
    if "\t" not in leading:
        return len(leading)
    column = 0
    for char in leading:
        column = column + TAB_SIZE - column % TAB_SIZE if char == "\t" else column + 1
    return column


def source_lines(raw_lines: list[str], placement: Placement) -> list[SourceLine]:
    """Measure indentation (a tab is 4 columns; no-break spaces count as spaces)."""
    out = []
    tab_line = space_line = 0
    for number, raw in enumerate(raw_lines, 1):
        match = _LEADING.match(raw)
        leading = match.group(0) if match else ""
        content = raw[len(leading) :].rstrip()
        if content and leading:
            if "\t" in leading:
                tab_line = tab_line or number
            if " " in leading:
                space_line = space_line or number
        out.append(SourceLine(number, _columns(leading) if content else 0, content))
    if tab_line and space_line:
        placement.warnings.append(
            ParseWarning(
                max(tab_line, space_line),
                "Tabs and spaces are mixed in the indentation; a tab was counted as 4 spaces.",
            )
        )
    return out
