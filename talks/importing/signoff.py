"""The author's sign-off at the end of a day: "Ryan Walls" / "Software Engineering Manager".

Found after a final ``---`` (how our exports write it), or, without one, as one or two short
lines closing the summary whose first line looks like a name.
"""

from __future__ import annotations

from dataclasses import dataclass

from .blocks import Block, BulletList, Heading, Paragraph, Rule, fit
from .detect import is_heading_like, is_summary_marker, looks_like_name, next_day_title
from .result import Placement


@dataclass
class SignOff:
    start: int  # where the sign-off's blocks begin; len(blocks) when there is none
    author: str = ""
    author_title: str = ""


def find_sign_off(blocks: list[Block], placement: Placement) -> SignOff:
    """Find the sign-off among the last blocks and place its lines."""
    for index in range(len(blocks) - 1, -1, -1):
        block = blocks[index]
        if isinstance(block, Rule):
            found = _read(blocks[index + 1 :], explicit=True, start=index, placement=placement)
            if found:
                placement.place_all(block.lines, "separator")
                return found
            break
        if not isinstance(block, Paragraph) or block.attrs is not None:
            break
    tail_start = len(blocks)
    while tail_start > 0 and len(blocks) - tail_start < 2:
        block = blocks[tail_start - 1]
        if not isinstance(block, Paragraph) or block.attrs is not None:
            break
        if len(block.line_texts) > 2 or next_day_title(block.text):
            break
        tail_start -= 1
    if tail_start < len(blocks) and _closes_the_day(blocks[:tail_start]):
        # The name comes first: with two paragraphs left, try both.
        for start in range(tail_start, len(blocks)):
            found = _read(blocks[start:], explicit=False, start=start, placement=placement)
            if found:
                return found
    return SignOff(start=len(blocks))


def _closes_the_day(before: list[Block]) -> bool:
    """Do these blocks end in the summary (or with the next day's link)?"""
    for block in reversed(before):
        if isinstance(block, Paragraph) and next_day_title(block.text):
            return True
        if isinstance(block, Heading):
            return is_summary_marker(block.text)
        if isinstance(block, Paragraph) and len(block.line_texts) == 1:
            if is_summary_marker(block.text):
                return True
            if is_heading_like(block.text):
                return False
        if not isinstance(block, Paragraph | BulletList):
            return False
    return False


def _read(tail: list[Block], *, explicit: bool, start: int, placement: Placement) -> SignOff | None:
    lines: list[tuple[int, str]] = []
    for block in tail:
        if not isinstance(block, Paragraph) or len(block.lines) != len(block.line_texts):
            return None  # not text, or an underlined heading
        lines += list(zip(block.lines, block.line_texts, strict=True))
    if not lines or len(lines) > (3 if explicit else 2):
        return None
    first = lines[0][1].strip()
    if not explicit and (not looks_like_name(first) or any(len(t) > 100 for _, t in lines)):
        return None
    found = SignOff(start=start)
    found.author = fit(first, "meta", line=lines[0][0], what="author's name", placement=placement)
    placement.place(lines[0][0], "sign-off")
    if len(lines) > 1:
        number, text = lines[1]
        found.author_title = fit(
            text.strip(), "meta", line=number, what="author's title", placement=placement
        )
        placement.place(number, "sign-off")
    for number, text in lines[2:]:
        placement.warn(number, f"“{text.strip()}” after the sign-off was left out.")
    return found
