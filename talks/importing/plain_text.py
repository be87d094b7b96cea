"""Plain text as people paste it from a blog or type it in an editor.

Bullets are any of • ◦ ▪ - * + or "1."; indentation nests them; a bullet ending with ":" that is
followed by bullets at the same indentation takes them as its children ("Pitfalls of seccomp:"
→ Fragile, Libseccomp). Lines that are shell commands, alone or in a run, become snippets;
a line that is only a URL stays a link. Everything else is a paragraph.
"""

from __future__ import annotations

import re

from .blocks import Block, BulletList, Code, CodeBlock, Item, Paragraph, Rule, UrlLine
from .detect import (
    MAX_COMMAND_LENGTH,
    is_command,
    is_heading_like,
    strip_prompt,
    too_long_for_a_command,
    url_only,
)
from .lines import SourceLine
from .result import Placement

_BULLET = re.compile(r"^(?:[•◦▪▫‣⁃●○■□·∙\-–*+]|\d{1,3}[.)])(?:\s+|$)")
_RULE = re.compile(r"^([-*_=~—–])(?:\s*\1){2,}$")


def line_kind(line: SourceLine) -> str:
    """blank, rule, bullet, command, url or prose."""
    content = line.content
    if not content:
        return "blank"
    if _RULE.match(content):
        return "rule"
    if _BULLET.match(content):
        return "bullet"
    if is_command(content):
        return "command"
    if url_only(content):
        return "url"
    return "prose"


class PlainTextReader:
    """Reads plain text into blocks (see ``blocks``); every line is placed or warned about."""

    def __init__(self, lines: list[SourceLine], placement: Placement) -> None:
        self.lines = lines
        self.kinds = [line_kind(line) for line in lines]
        self.placement = placement
        for line, kind in zip(lines, self.kinds, strict=True):
            if kind == "prose" and too_long_for_a_command(line.content):
                placement.warn(
                    line.number,
                    f"This line looks like a command, but at {len(line.content.strip()):,} "
                    f"characters it is longer than a command line may be "
                    f"({MAX_COMMAND_LENGTH:,}); it was kept as a note.",
                )

    def blocks(self) -> list[Block]:
        out: list[Block] = []
        i = 0
        while i < len(self.lines):
            kind = self.kinds[i]
            line = self.lines[i]
            if kind == "blank":
                self.placement.place(line.number, "blank")
                i += 1
            elif kind == "bullet":
                block, i = self._bullets(i)
                if block.items:
                    out.append(block)
            elif kind == "command":
                code, i = self._commands(i)
                out.append(CodeBlock(code=code, source=_fence(code.commands)))
            elif kind == "url":
                out.append(
                    UrlLine(url_only(line.content) or "", line.content, [line.number], line.content)
                )
                i += 1
            elif kind == "rule":
                out.append(Rule([line.number], line.content))
                i += 1
            else:
                paragraph, i = self._paragraph(i)
                out.append(paragraph)
        return out

    def _next_nonblank(self, i: int) -> int:
        while i < len(self.lines) and self.kinds[i] == "blank":
            i += 1
        return i

    def _paragraph(self, i: int) -> tuple[Paragraph, int]:
        first = i
        texts = [self.lines[i].content]
        numbers = [self.lines[i].number]
        i += 1
        while i < len(self.lines) and self.kinds[i] in ("prose", "url"):
            content = self.lines[i].content
            if len(texts) == 1 and is_heading_like(texts[0]) and not is_heading_like(content):
                break  # "Docker for Developers 1 and 2" then its first paragraph
            texts.append(content)
            numbers.append(self.lines[i].number)
            i += 1
        if i < len(self.lines) and self.kinds[i] == "rule" and i == first + 1:
            numbers.append(self.lines[i].number)  # a setext underline: part of the heading
            i += 1
        text = " ".join(texts)
        return Paragraph(text=text, lines=numbers, line_texts=texts, source=text), i

    def _commands(self, i: int) -> tuple[Code, int]:
        commands: list[str] = []
        numbers: list[int] = []
        while i < len(self.lines):
            if self.kinds[i] == "command":
                commands.append(strip_prompt(self.lines[i].content)[0].strip())
                numbers.append(self.lines[i].number)
                i += 1
                continue
            j = self._next_nonblank(i)
            if self.kinds[i] == "blank" and j < len(self.lines) and self.kinds[j] == "command":
                for k in range(i, j):
                    self.placement.place(self.lines[k].number, "blank")
                i = j
                continue
            break
        return Code(lines=numbers, commands=commands), i

    def _bullets(self, i: int) -> tuple[BulletList, int]:
        root: list[Item] = []
        stack: list[tuple[float, int, Item]] = []  # (effective indent, marker indent, item)
        colon_indent: int | None = None
        first_line = self.lines[i].number
        previous_blank = False
        while i < len(self.lines):
            line, kind = self.lines[i], self.kinds[i]
            if kind == "blank":
                j = self._next_nonblank(i)
                if j < len(self.lines) and self.kinds[j] in ("bullet", "command"):
                    for k in range(i, j):
                        self.placement.place(self.lines[k].number, "blank")
                    colon_indent, previous_blank, i = None, True, j
                    continue
                break
            if kind == "bullet":
                text = _BULLET.sub("", line.content, count=1).strip()
                if not text:
                    self.placement.place(line.number, "blank")
                    i += 1
                    continue
                indent = line.indent
                next_same = self._bullet_at(i + 1, indent)
                effective: float = indent
                if colon_indent is not None and indent < colon_indent:
                    colon_indent = None
                if colon_indent == indent and not (text.endswith(":") and next_same):
                    effective = indent + 0.5
                elif colon_indent == indent:
                    colon_indent = None
                while stack and stack[-1][0] >= effective:
                    stack.pop()
                item = Item(text=text, lines=[line.number])
                (stack[-1][2].children if stack else root).append(item)
                stack.append((effective, indent, item))
                if text.endswith(":") and next_same and effective == indent:
                    colon_indent = indent
                previous_blank = False
                i += 1
                continue
            if kind == "command" and stack:
                code, i = self._commands(i)
                stack[-1][2].code.append(code)
                continue
            last = stack[-1] if stack else None
            continuation = kind in ("prose", "url") and not previous_blank and last is not None
            if continuation and (kind == "url" or line.indent > last[1]):
                last[2].text += " " + line.content
                last[2].lines.append(line.number)
                i += 1
                continue
            break
        source = "\n".join(_item_markdown(root))
        return BulletList(items=root, lines=[first_line], source=source), i

    def _bullet_at(self, i: int, indent: int) -> bool:
        return i < len(self.lines) and self.kinds[i] == "bullet" and self.lines[i].indent == indent


def _item_markdown(items: list[Item]) -> list[str]:
    """A list as Markdown ("- text", two spaces per level) for the intro or the summary."""
    out: list[str] = []
    stack = [(item, 0) for item in reversed(items)]
    while stack:
        item, depth = stack.pop()
        out.append("  " * depth + "- " + item.text)
        for code in item.code:
            out.extend("  " * (depth + 1) + line for line in _fence(code.commands).split("\n"))
        stack.extend((child, depth + 1) for child in reversed(item.children))
    return out


def _fence(commands: list[str]) -> str:
    return "\n".join(["```console", *(f"$ {c}" for c in commands), "```"])
