"""Markdown notes: the subset notes use, read line by line so every line keeps its number.

Understood: front matter (``---`` key: value ``---``), ATX and setext headings, ``-``/``*``/
``+``/``1.`` lists nested by indentation (CommonMark's rule: a child starts at its parent's text
column), fenced and indented code, ``<!-- -->`` (ends a list), thematic breaks, and attribute
blocks ``{#slug .kind tags=a,b}`` after a heading, paragraph or item. Inline Markdown (code,
links, emphasis) is kept as written: highlights are Markdown.
"""

from __future__ import annotations

import re

from .blocks import (
    Block,
    BulletList,
    Code,
    CodeBlock,
    Heading,
    Item,
    ListBreak,
    Paragraph,
    Rule,
    UrlLine,
    all_lines,
)
from .detect import Attrs, is_command, split_attrs, strip_prompt, url_only
from .lines import SourceLine
from .result import Placement

_ATX = re.compile(r"^(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^(`{3,}|~{3,})[ \t]*([^`\s{]*)[^`]*$")
_MARKER = re.compile(r"^([-*+]|\d{1,9}[.)])( +|$)")
_BREAK = re.compile(r"^([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_SETEXT = re.compile(r"^(=+|-+)[ \t]*$")
_FRONT_KEY = re.compile(r"^([A-Za-z][\w-]*)[ \t]*:[ \t]*(.*)$")
_CHECKBOX = re.compile(r"^\[([ xX])\][ \t]+")
SHELL_LANGUAGES = frozenset(
    [
        "console",
        "shell",
        "shell-session",
        "shellsession",
        "sh",
        "bash",
        "zsh",
        "terminal",
        "session",
    ]
)
# A line whose start would be read as structure: escaped by the exporter with a backslash.
_BLOCK_START = re.compile(r"^(?:#{1,6}(?:\s|$)|`{3,}|~{3,}|[-*+](?:\s|$)|\d{1,9}[.)](?:\s|$)|"
                          r"<!--|=+\s*$|([-*_])(?:\s*\1){2,}\s*$|>)")  # fmt: skip


def escape_line(line: str) -> str:
    """Backslash-escape a text line that Markdown would otherwise read as structure."""
    line = line.strip()
    if not _BLOCK_START.match(line):
        return line
    match = re.match(r"^(\d{1,9})([.)])", line)
    if match:
        return f"{match.group(1)}\\{line[len(match.group(1)) :]}"
    return "\\" + line


def _is_fence_close(content: str, fence: str) -> bool:
    stripped = content.strip()
    return len(stripped) >= len(fence) and set(stripped) == {fence[0]} and stripped[0] == fence[0]


def _code_from(body: list[str], numbers: list[int], *, language: str, source: str,
               placement: Placement) -> Code:  # fmt: skip
    """Commands from a code block's lines, or the block kept as text when it is not shell."""
    language = language.lower()
    lines = _join_continuations(body)
    shell_language = language in SHELL_LANGUAGES
    # A prompt counts only at the very start of a line: "  $ x" is output, not a command.
    prompted = any(strip_prompt(line)[1] for line in lines if not line.startswith("#"))
    if not shell_language and language:
        return Code(lines=numbers, commands=[], shell=False, source=source)
    commands: list[str] = []
    caption = ""
    outputs = 0
    for line in lines:
        stripped = line.strip()
        if not stripped:
            continue
        command, had_prompt = strip_prompt(line)
        if stripped.startswith("#") and not had_prompt:
            if not commands and not caption:
                caption = stripped.lstrip("#").strip()
            elif prompted:
                outputs += 1
            else:
                placement.warn(
                    numbers[0], f"The comment “{stripped[:80]}” in this code block was left out."
                )
            continue
        if prompted and not had_prompt:
            outputs += 1
            continue
        commands.append(command.strip() if had_prompt else stripped)
    plausible = shell_language or prompted or all(is_command(c) for c in commands)
    if not commands or not plausible or any(len(c) > 1000 for c in commands):
        return Code(lines=numbers, commands=[], shell=False, source=source)
    if outputs:
        placement.warn(
            numbers[0],
            f"{outputs} line{'s' if outputs != 1 else ''} of output in this block "
            f"{'were' if outputs != 1 else 'was'} left out: only commands are imported.",
        )
    return Code(lines=numbers, commands=commands, caption=caption)


def _join_continuations(lines: list[str]) -> list[str]:
    out: list[str] = []
    pending = ""
    for line in lines:
        if line.rstrip().endswith("\\") and not line.rstrip().endswith("\\\\"):
            pending += line.rstrip()[:-1].rstrip() + " "
            continue
        out.append(pending + line.strip() if pending else line)
        pending = ""
    if pending:
        out.append(pending.strip())
    return out


class MarkdownReader:
    """Reads Markdown into front matter and, per day, blocks (see ``blocks``)."""

    def __init__(self, lines: list[SourceLine], placement: Placement) -> None:
        self.lines = lines
        self.placement = placement
        self.front_matter: dict[str, str] = {}

    # --- document -------------------------------------------------------------------------

    def read(self) -> list[list[Block]]:
        """The blocks of each day: one list, or one per day for a conference document."""
        start = self._front_matter()
        blocks = self._blocks(start, len(self.lines))
        return self._split_days(blocks)

    def _front_matter(self) -> int:
        lines = self.lines
        if not lines or lines[0].content != "---" or lines[0].indent:
            return 0
        values: dict[str, str] = {}
        for i in range(1, min(len(lines), 200)):
            content = lines[i].content
            if content in ("---", "...") and not lines[i].indent:
                self.front_matter = values
                for k in range(i + 1):
                    self.placement.place(lines[k].number, "metadata")
                return i + 1
            match = _FRONT_KEY.match(content)
            if match:
                values[match.group(1).lower().replace("_", "-")] = (
                    match.group(2).strip().strip("\"'")
                )
            elif content and not content.startswith("#"):
                return 0
        return 0

    def _split_days(self, blocks: list[Block]) -> list[list[Block]]:
        """A conference document has one ``#`` title per day, each saying which day it is."""
        titles = [
            (index, block)
            for index, block in enumerate(blocks)
            if isinstance(block, Heading) and block.level == 1
        ]
        starts = [index for index, _ in titles]
        day_like = [
            index
            for index, block in titles
            if (block.attrs and block.attrs.values.get("day"))
            or re.search(r"\bday\s+\d{1,3}\b", block.text, re.IGNORECASE)
        ]
        if len(starts) < 2 or day_like != starts:
            return [blocks]
        for block in blocks[: starts[0]]:
            self.placement.warn(block.lines[0], "Text before the first day's title was left out.")
            self.placement.place_all(all_lines(block), "left-out")
        ends = [*starts[1:], len(blocks)]
        return [blocks[a:b] for a, b in zip(starts, ends, strict=True)]

    # --- blocks ---------------------------------------------------------------------------

    def _blocks(self, i: int, end: int) -> list[Block]:
        out: list[Block] = []
        lines = self.lines
        while i < end:
            line = lines[i]
            content = line.content
            if line.blank:
                self.placement.place(line.number, "blank")
                i += 1
            elif line.indent >= 4:
                block, i = self._indented_code(i, end)
                out.append(block)
            elif _FENCE.match(content):
                block, i = self._fenced(i, end, indent=line.indent)
                out.append(block)
            elif _ATX.match(content):
                out.append(self._atx(line))
                i += 1
            elif content.startswith("<!--"):
                block, i = self._comment(i, end)
                out.append(block)
            elif _BREAK.match(content):
                out.append(Rule([line.number], content))
                i += 1
            elif _MARKER.match(content):
                block, i = self._list(i, end)
                out.append(block)
            else:
                block, i = self._paragraph(i, end)
                out.append(block)
        return out

    def _atx(self, line: SourceLine) -> Block:
        match = _ATX.match(line.content)
        assert match is not None
        text, attrs = split_attrs((match.group(2) or "").strip())
        if not text:
            return ListBreak([line.number])
        return Heading(text, [line.number], len(match.group(1)), line.content, attrs)

    def _comment(self, i: int, end: int) -> tuple[Block, int]:
        start = i
        while i < end and "-->" not in self.lines[i].content:
            i += 1
        if i >= end:
            self.placement.warn(
                self.lines[start].number,
                "This HTML comment is never closed; the rest of the document was left out.",
            )
            i = end - 1
        numbers = [self.lines[k].number for k in range(start, i + 1)]
        self.placement.place_all(numbers, "comment")
        return ListBreak(numbers), i + 1

    def _indented_code(self, i: int, end: int) -> tuple[Block, int]:
        body: list[str] = []
        numbers: list[int] = []
        while i < end:
            line = self.lines[i]
            if line.blank:
                j = i
                while j < end and self.lines[j].blank:
                    j += 1
                if j >= end or self.lines[j].indent < 4:
                    break
                for k in range(i, j):
                    self.placement.place(self.lines[k].number, "blank")
                    body.append("")
                i = j
                continue
            if line.indent < 4:
                break
            body.append(" " * (line.indent - 4) + line.content)
            numbers.append(line.number)
            i += 1
        source = "\n".join(["```", *body, "```"])
        code = _code_from(body, numbers, language="", source=source, placement=self.placement)
        return CodeBlock(code=code, source=source), i

    def _fenced(self, i: int, end: int, *, indent: int) -> tuple[Block, int]:
        code, i = self._fence_at(i, end, indent=indent)
        return CodeBlock(code=code, source=code.source), i

    def _fence_at(self, i: int, end: int, *, indent: int) -> tuple[Code, int]:
        """Read a fenced block opened on line ``i``; ``indent`` is its container's column."""
        opening = self.lines[i]
        match = _FENCE.match(opening.content)
        assert match is not None
        fence, language = match.group(1), match.group(2)
        body: list[str] = []
        numbers = [opening.number]
        j = i + 1
        while j < end:
            line = self.lines[j]
            if _is_fence_close(line.content, fence) and line.indent - indent < 4:
                numbers.append(line.number)
                break
            body.append(" " * max(0, line.indent - indent) + line.content if line.content else "")
            numbers.append(line.number)
            j += 1
        else:
            # Never closed: end it at its first blank line, not at the end of the document.
            blank = next((k for k, text in enumerate(body) if not text.strip()), len(body))
            j = i + 1 + blank
            body = body[:blank]
            numbers = numbers[: blank + 1]
            self.placement.warn(
                opening.number,
                "This code block is never closed (no closing ```); it was ended at "
                + ("its first blank line." if j < end else "the end of the document."),
            )
            j -= 1
        source = "\n".join([fence + language, *body, fence])
        code = _code_from(body, numbers, language=language, source=source, placement=self.placement)
        self.placement.place_all(numbers, "snippet" if code.shell else "highlight")
        return code, j + 1

    def _paragraph(self, i: int, end: int) -> tuple[Block, int]:
        texts: list[str] = []
        numbers: list[int] = []
        while i < end:
            line = self.lines[i]
            content = line.content
            if line.blank:
                break
            if texts and (
                _FENCE.match(content) or _ATX.match(content) or content.startswith("<!--")
            ):
                break
            if texts and _SETEXT.match(content) and line.indent < 4:
                numbers.append(line.number)
                text, attrs = split_attrs(" ".join(texts))
                level = 1 if content.startswith("=") else 2
                source = "\n".join(texts)
                return Heading(text, numbers, level, source, attrs), i + 1
            if texts and (_BREAK.match(content) or _MARKER.match(content)):
                break
            texts.append(content)
            numbers.append(line.number)
            i += 1
        source = "\n".join(texts)
        if len(texts) == 1 and url_only(texts[0]):
            return UrlLine(url_only(texts[0]) or "", texts[0], numbers, source), i
        texts[-1], attrs = split_attrs(texts[-1])
        return Paragraph("\n".join(texts), numbers, texts, source, attrs), i

    # --- lists ----------------------------------------------------------------------------

    def _list(self, i: int, end: int) -> tuple[Block, int]:
        lines = self.lines
        root: list[Item] = []
        # Open items: (marker column, text column, item, paragraph still open?)
        stack: list[list] = []
        first = i
        blank_before = False
        while i < end:
            line = lines[i]
            content = line.content
            if line.blank:
                j = i
                while j < end and lines[j].blank:
                    j += 1
                if j >= end:
                    break
                nxt = lines[j]
                continues = (_MARKER.match(nxt.content) and not _BREAK.match(nxt.content)) or any(
                    nxt.indent >= entry[1] for entry in stack
                )
                if not continues or (not stack and nxt.indent >= 4):
                    break
                for k in range(i, j):
                    self.placement.place(lines[k].number, "blank")
                for entry in stack:
                    entry[3] = False
                blank_before, i = True, j
                continue
            marker = _MARKER.match(content)
            if marker and not _BREAK.match(content):
                while stack and line.indent < stack[-1][1]:
                    stack.pop()
                spaces = len(marker.group(2))
                width = len(marker.group(1)) + (spaces if 0 < spaces <= 4 else 1)
                text = content[marker.end() :].strip()
                item = Item(text=text, lines=[line.number])
                (stack[-1][2].children if stack else root).append(item)
                stack.append([line.indent, line.indent + width, item, True])
                blank_before = False
                i += 1
                continue
            owner_index = max(
                (k for k, entry in enumerate(stack) if line.indent >= entry[1]), default=None
            )
            if owner_index is not None:
                del stack[owner_index + 1 :]
                entry = stack[-1]
                item = entry[2]
                if _FENCE.match(content):
                    code, i = self._fence_at(i, end, indent=entry[1])
                    item.code.append(code)
                    entry[3] = False
                    blank_before = False
                    continue
                joiner = "\n\n" if blank_before or not entry[3] else "\n"
                item.text = f"{item.text}{joiner}{content}" if item.text else content
                item.lines.append(line.number)
                entry[3] = True
                blank_before = False
                i += 1
                continue
            lazy = (
                stack
                and not blank_before
                and stack[-1][3]
                and not (_FENCE.match(content) or _ATX.match(content) or _BREAK.match(content))
                and not content.startswith("<!--")
            )
            if lazy:
                item = stack[-1][2]
                item.text = f"{item.text}\n{content}"
                item.lines.append(line.number)
                i += 1
                continue
            break
        self._finish_items(root)
        source = "\n".join(lines[k].text for k in range(first, i)).rstrip()
        return BulletList(items=root, lines=[lines[first].number], source=source), i

    def _finish_items(self, items: list[Item]) -> None:
        """Split attribute blocks and task-list boxes off every item (no recursion)."""
        stack = list(items)
        while stack:
            item = stack.pop()
            stack.extend(item.children)
            head, sep, last = item.text.rpartition("\n")
            last, attrs = split_attrs(last)
            item.text = f"{head}{sep}{last}" if attrs else item.text
            box = _CHECKBOX.match(item.text)
            if box:
                item.text = item.text[box.end() :]
                if box.group(1) == " " and not (attrs and attrs.pick(("todo",))):
                    attrs = attrs or Attrs()
                    attrs.classes.append("todo")
            item.attrs = attrs
            if not item.text.strip():
                item.text = "…"
                self.placement.warn(item.lines[0], "This list item is empty; it was kept as “…”.")
