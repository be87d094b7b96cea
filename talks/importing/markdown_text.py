"""Markdown notes: the subset notes use, read line by line so every line keeps its number.

Understood: front matter (``---`` key: value ``---``), ATX and setext headings, ``-``/``*``/
``+``/``1.`` lists nested by indentation (CommonMark's rule: a child starts at its parent's text
column), fenced and indented code, ``<!-- -->`` (ends a list), thematic breaks, and attribute
blocks ``{#slug .kind tags=a,b}`` after a heading, paragraph or item. Inline Markdown (code,
links, emphasis) is kept as written: highlights are Markdown.

A note's text may itself hold Markdown blocks (code, lists, quotes, HTML). Inside a list item
the reader keeps them as text, line for line, and ``note_lines`` writes a note so that it does:
the lines it would otherwise take as structure (a list marker, a fence of code that reads like
commands) carry backslashes, which the reader takes off again.
"""

from __future__ import annotations

import re

from ..models import SHELL_LANGUAGES
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
# What front matter may say (``_`` may stand for ``-``, in any case); see parse._settle.
FRONT_MATTER_KEYS = (
    "conference",
    "conference-slug",
    "location",
    "starts-on",
    "title",
    "day",
    "date",
)
# A line whose start would be read as structure: a note holding one is not written as a
# paragraph by the exporter (see reads_as_paragraph).
_BLOCK_START = re.compile(r"^(?:#{1,6}(?:\s|$)|`{3,}|~{3,}|[-*+](?:\s|$)|\d{1,9}[.)](?:\s|$)|"
                          r"<!--|=+\s*$|([-*_])(?:\s*\1){2,}\s*$|>)")  # fmt: skip


# A snippet's language that does not read as commands, after the opening fence:
# ```console {language=python}; the fence's own word decides that the block is commands.
_LANGUAGE_ATTR = re.compile(r'\{[ \t]*language=("(?:[^"\\\n]|\\.)*"|[^\s{}"\\]+)[ \t]*\}[ \t]*$')
_PLAIN_LANGUAGE = re.compile(r'[^\s{}"\\`]+')
# A backtick may not stand in a fence's info string: it is written \x60.
_LANGUAGE_ESCAPED = {"\\": "\\\\", '"': '\\"', "`": "\\x60", "\n": "\\n", "\r": "\\r"}
_LANGUAGE_UNESCAPE = re.compile(r"\\(x60|.)")
_LANGUAGE_UNESCAPED = {"x60": "`", "n": "\n", "r": "\r"}


def fence_info(language: str) -> str:
    """What follows the opening fence of a snippet's block: its language when that reads as
    commands (``bash``), else ``console {language=…}``; ``fence_language`` reads it back."""
    if language.lower() in SHELL_LANGUAGES:
        return language
    if _PLAIN_LANGUAGE.fullmatch(language):
        return f"console {{language={language}}}"
    escaped = re.sub(r'[\\"`\n\r]', lambda m: _LANGUAGE_ESCAPED[m.group(0)], language)
    return f'console {{language="{escaped}"}}'


def fence_language(info: str) -> str | None:
    """The language an opening fence's info string states (see ``fence_info``): the
    ``{language=…}`` it ends with, else its first word; None when it names none."""
    match = _LANGUAGE_ATTR.search(info)
    if match is None:
        word = info.strip().split(maxsplit=1)
        return word[0] if word and "{" not in word[0] else None
    value = match.group(1)
    if not value.startswith('"'):
        return value
    return _LANGUAGE_UNESCAPE.sub(
        lambda m: _LANGUAGE_UNESCAPED.get(m.group(1), m.group(1)), value[1:-1]
    )


def _is_fence_close(content: str, fence: str) -> bool:
    if len(content) < len(fence):
        return False
    stripped = content.strip()
    return len(stripped) >= len(fence) and set(stripped) == {fence[0]} and stripped[0] == fence[0]


# --- a note's own Markdown inside a list item ----------------------------------------------

_ORDERED_ESCAPE = re.compile(r"^(\d{1,9})(\\+)([.)].*)$", re.DOTALL)
_LEADING_ESCAPE = re.compile(r"^(\\+)(.*)$", re.DOTALL)
_ORDERED_START = re.compile(r"^(\d{1,9})([.)].*)$", re.DOTALL)


def _unescaped(content: str) -> tuple[int, str]:
    """The backslashes that escape a line (before it, or after the digits of "1\\."), and the
    line without them."""
    match = _ORDERED_ESCAPE.match(content)
    if match:
        return len(match.group(2)), match.group(1) + match.group(3)
    match = _LEADING_ESCAPE.match(content)
    if match:
        return len(match.group(1)), match.group(2)
    return 0, content


def _escaped(content: str, count: int) -> str:
    """``content`` with ``count`` backslashes more where ``_unescaped`` counts them."""
    match = _ORDERED_ESCAPE.match(content) or _ORDERED_START.match(content)
    if match:
        digits = match.group(1)
        return digits + "\\" * count + content[len(digits) :]
    return "\\" * count + content


def _less_escaped(content: str, count: int) -> str:
    match = _ORDERED_ESCAPE.match(content)
    if match:
        return match.group(1) + content[len(match.group(1)) + count :]
    return content[count:]


def _escapes(core: str, *, first: bool) -> int:
    """How many backslashes a line of a note's text gets in a list item (on top of its own,
    ``core`` being the line without them) so that the reader keeps it as text.

    A line that looks like a fence but opens no code block gets two (one marks a fence that
    opens a block of text, see ``note_lines``); a list marker, which would start a child note,
    gets one; so does, on the item's first line after "- ", a thematic break or a task box.
    """
    if _FENCE.match(core):
        return 2
    if first:
        return 1 if _BREAK.match("- " + core) or _CHECKBOX.match(core) else 0
    return 1 if _MARKER.match(core) and not _BREAK.match(core) else 0


def _reads_as_commands(body: list[str], language: str) -> bool:
    """Would a fenced block with these lines become a snippet rather than text?"""
    code = code_from(body, [0], language=language, source="", placement=Placement(0))
    return code.shell


def _attrs_line(line: str) -> Attrs | None:
    """The attribute block of a line that holds nothing else (the last line of a note that
    ends with a code fence, which cannot carry one)."""
    rest, attrs = split_attrs("x " + line.strip())
    return attrs if attrs is not None and rest == "x" else None


def ends_like_attrs(text: str) -> bool:
    """Would the reader take the end of this note's text for an attribute block?"""
    _, sep, last = text.strip().rpartition("\n")
    return split_attrs(last)[1] is not None or bool(sep and _attrs_line(last))


def note_lines(text: str, *, attrs: str = "") -> list[str]:
    """A note's text as the lines of a list item (relative to the item's text column) that
    ``MarkdownReader`` reads back as exactly ``text``, with ``attrs`` (an attribute block).

    Code blocks are written as they are, unless their lines would be read as commands (then
    the opening fence gets a backslash). Other lines that would be read as structure get
    backslashes (``_escapes``), which the reader takes off again.
    """
    lines = [line.rstrip() for line in text.strip().split("\n")]
    out: list[str] = []
    separate = False  # would the attribute block change how the last line is read?
    i = 0
    while i < len(lines):
        line = lines[i]
        content = line.lstrip()
        lead = line[: len(line) - len(content)]
        backslashes, core = _unescaped(content)
        opener = None if backslashes else _FENCE.match(core)
        close = _closing_line(lines, i, opener.group(1)) if opener else None
        if opener and close is not None:
            shell = _reads_as_commands(lines[i + 1 : close], opener.group(2))
            out += [lead + "\\" * shell + content, *lines[i + 1 : close + 1]]
            separate = True
            i = close + 1
            continue
        count = _escapes(core, first=i == 0) if content else 0
        out.append(lead + _escaped(content, count) if count else line)
        separate = bool(count)
        i += 1
    if attrs:
        if separate:
            out.append(attrs.strip())
        else:
            out[-1] += attrs
    return out


def _closing_line(lines: list[str], start: int, fence: str) -> int | None:
    for index in range(start + 1, len(lines)):
        content = lines[index].lstrip()
        if content and len(lines[index]) - len(content) < 4 and _is_fence_close(content, fence):
            return index
    return None


def reads_as_paragraph(text: str) -> bool:
    """Would ``text``, written as it is at the top level, be read back as one paragraph?"""
    return all(
        line == line.strip() and line and not _BLOCK_START.match(line) and not _SETEXT.match(line)
        for line in text.split("\n")
    )


def reads_as_code_text(text: str) -> bool:
    """Is ``text`` one fenced block that, written as it is at the top level, is read back as
    itself, kept as text (not as commands)?"""
    lines = text.split("\n")
    opener = _FENCE.match(lines[0])
    if not opener or lines[0] != opener.group(1) + opener.group(2) or lines[-1] != opener.group(1):
        return False
    if _closing_line(lines, 0, opener.group(1)) != len(lines) - 1:
        return False
    body = lines[1:-1]
    if any(line != line.rstrip() or "\t" in line for line in body):
        return False
    return not _reads_as_commands(body, opener.group(2))


def code_from(body: list[str], numbers: list[int], *, language: str, source: str,
               placement: Placement) -> Code:  # fmt: skip
    """Commands from a code block's lines, or the block kept as text when it is not shell."""
    language = language.lower()
    shell_language = language in SHELL_LANGUAGES
    # A prompt counts only at the very start of a line: "  $ x" is output, not a command.
    prompted = any(strip_prompt(line)[1] for line in body if not line.startswith("#"))
    lines = _join_continuations(body, prompted=prompted)
    if not shell_language and language:
        return Code(lines=numbers, commands=[], shell=False, source=source)
    commands: list[str] = []
    caption = ""
    outputs = 0
    comments: list[str] = []  # said to be left out only if the block is commands after all
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
                comments.append(stripped)
            continue
        if prompted and not had_prompt:
            outputs += 1
            continue
        commands.append(command.strip() if had_prompt else stripped)
    plausible = shell_language or prompted or all(is_command(c) for c in commands)
    if not commands or not plausible or any(len(c) > 1000 for c in commands):
        return Code(lines=numbers, commands=[], shell=False, source=source)
    for comment in comments:
        placement.warn(numbers[0], f"The comment “{comment[:80]}” in this code block was left out.")
    if outputs:
        placement.warn(
            numbers[0],
            f"{outputs} line{'s' if outputs != 1 else ''} of output in this block "
            f"{'were' if outputs != 1 else 'was'} left out: only commands are imported.",
        )
    return Code(lines=numbers, commands=commands, caption=caption)


def _join_continuations(lines: list[str], *, prompted: bool) -> list[str]:
    """Commands continued on the next line after a backslash, as one line. Where commands
    have prompts only they are continued: a line of output may end with a backslash too."""
    out: list[str] = []
    pending = ""
    for line in lines:
        continued = line.rstrip().endswith("\\") and not line.rstrip().endswith("\\\\")
        if continued and (pending or not prompted or strip_prompt(line)[1]):
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
        self.front_matter_lines: dict[str, int] = {}  # key → the line it is on
        # (fence, text column) → the line up to which no line closes such a fence in an item
        self._unclosed: dict[tuple[str, int], int] = {}
        # (fence character, container column) → for each line, the longest fence that a line
        # from there on closes (see _never_closed)
        self._closers: dict[tuple[str, int], list[int]] = {}

    # --- document -------------------------------------------------------------------------

    def read(self) -> list[list[Block]]:
        """The blocks of each day: one list, or one per day for a conference document."""
        start = self._front_matter()
        blocks = self._blocks(start, len(self.lines))
        return self._split_days(blocks)

    def _front_matter(self) -> int:
        """Read the ``key: value`` lines between a first line ``---`` and the next; warn about
        a key the import does not use, and refuse front matter that is never closed."""
        lines = self.lines
        if not lines or lines[0].content != "---" or lines[0].indent:
            return 0
        values: dict[str, str] = {}
        where: dict[str, int] = {}
        for i in range(1, min(len(lines), 200)):
            content = lines[i].content
            if content in ("---", "...") and not lines[i].indent:
                self.front_matter, self.front_matter_lines = values, where
                for k in range(i + 1):
                    self.placement.place(lines[k].number, "metadata")
                for key, number in where.items():
                    if key not in FRONT_MATTER_KEYS:
                        known = ", ".join(f"“{name}:”" for name in FRONT_MATTER_KEYS)
                        self.placement.warn(
                            number,
                            f"The front matter's “{key[:40]}:” is not one the import uses "
                            f"({known}); it was left out.",
                        )
                return i + 1
            match = _FRONT_KEY.match(content)
            if match:
                key = match.group(1).lower().replace("_", "-")
                values[key] = match.group(2).strip().strip("\"'")
                where[key] = lines[i].number
            elif content and not content.startswith("#"):
                break
        if any(key in FRONT_MATTER_KEYS for key in values):
            last = max(where.values())
            self.placement.refuse(
                lines[0].number,
                f"The front matter (the “---” on line {lines[0].number} and the “key: value” "
                f"lines after it, up to line {last}) is never closed. Nothing was imported: add "
                f"a line with only “---” after line {last}, before the notes.",
            )
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
        code = code_from(body, numbers, language="", source=source, placement=self.placement)
        return CodeBlock(code=code, source=source), i

    def _fenced(self, i: int, end: int, *, indent: int) -> tuple[Block, int]:
        code, i = self._fence_at(i, end, indent=indent)
        return CodeBlock(code=code, source=code.source), i

    def _fence_at(
        self, i: int, end: int, *, indent: int, opening_text: str = ""
    ) -> tuple[Code, int]:
        """Read a fenced block opened on line ``i``; ``indent`` is its container's column.
        ``opening_text`` is the fence when it follows a list marker on that line."""
        opening = self.lines[i]
        match = _FENCE.match(opening_text or opening.content)
        assert match is not None
        fence, language = match.group(1), match.group(2)
        body: list[str] = []
        numbers = [opening.number]
        # A fence no later line closes ends at its first blank line: known without looking
        # at every line to the end, which for many such fences would take quadratic time.
        stop = end
        if self._never_closed(i, fence, indent=indent):
            stop = next((k for k in range(i + 1, end) if self.lines[k].blank), end)
        j = i + 1
        while j < stop:
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
        code = code_from(body, numbers, language=language, source=source, placement=self.placement)
        code.language = fence_language((opening_text or opening.content)[len(fence) :])
        self.placement.place_all(numbers, "snippet" if code.shell else "highlight")
        return code, j + 1

    def _never_closed(self, i: int, fence: str, *, indent: int) -> bool:
        """Does no line after line ``i`` close ``fence`` (opened in a container at column
        ``indent``, 0 to 3 at the top level)? False when it is not known (deeper)."""
        if indent > 3:
            return False  # in a list item, whose reader looks for the close first
        key = (fence[0], indent)
        longest = self._closers.get(key)
        if longest is None:
            longest = [0] * (len(self.lines) + 1)
            for j in range(len(self.lines) - 1, -1, -1):
                line = self.lines[j]
                closes = line.indent - indent < 4 and not line.content.strip(fence[0])
                longest[j] = max(len(line.content) if closes else 0, longest[j + 1])
            self._closers[key] = longest
        return longest[i + 1] < len(fence)

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
        # Open items: [marker column, text column, item, paragraph still open?, text just
        # ended with a code block of its own?]
        stack: list[list] = []
        boxes: dict[int, str] = {}  # id(item) → " " or "x", its task-list box
        first = i
        blanks = 0
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
                    entry[3] = entry[4] = False
                blanks, i = j - i, j
                continue
            marker = _MARKER.match(content)
            if marker and not _BREAK.match(content):
                while stack and line.indent < stack[-1][1]:
                    stack.pop()
                spaces = len(marker.group(2))
                width = len(marker.group(1)) + (spaces if 0 < spaces <= 4 else 1)
                text = content[marker.end() :].strip()
                item = Item(text="", lines=[line.number])
                box = _CHECKBOX.match(text)
                if box:
                    boxes[id(item)] = box.group(1)
                    text = text[box.end() :]
                (stack[-1][2].children if stack else root).append(item)
                entry = [line.indent, line.indent + width, item, True, False]
                stack.append(entry)
                blanks = 0
                i = self._item_text(i, end, entry, text, first=True, joiner="")
                continue
            owner_index = max(
                (k for k, entry in enumerate(stack) if line.indent >= entry[1]), default=None
            )
            if owner_index is not None:
                del stack[owner_index + 1 :]
                entry = stack[-1]
                # As many blank lines as there were; after commands (a snippet), a new
                # paragraph of the text.
                if blanks:
                    joiner = "\n" * (blanks + 1)
                elif entry[3] or entry[4]:
                    joiner = "\n"
                else:
                    joiner = "\n\n"
                text = " " * (line.indent - entry[1]) + content
                blanks = 0
                i = self._item_text(i, end, entry, text, first=False, joiner=joiner)
                continue
            lazy = (
                stack
                and not blanks
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
        self._finish_items(root, boxes)
        source = "\n".join(lines[k].text for k in range(first, i)).rstrip()
        return BulletList(items=root, lines=[lines[first].number], source=source), i

    def _item_text(self, i: int, end: int, entry: list, text: str, *, first: bool,
                   joiner: str) -> int:  # fmt: skip
        """Add line ``i`` to the text of the item ``entry`` holds: ``text`` is what is left of
        it after the marker or the item's indentation. A code block that starts there is read
        whole: commands become a snippet, other code stays in the text as it is. Returns the
        index of the next line (see ``note_lines`` for the backslashes taken off)."""
        item = entry[2]
        column = entry[1]
        content = text.lstrip()
        lead = text[: len(text) - len(content)]
        backslashes, core = _unescaped(content)
        opener = _FENCE.match(core) if backslashes <= 1 else None
        close = self._item_fence_close(i, end, opener.group(1), column) if opener else None
        if opener and not backslashes and close is None:
            last = self._item_last_line(i, end, column)
            self.placement.warn(
                self.lines[i].number,
                "This code block is never closed (no closing ```); it was ended at the end "
                "of its note.",
            )
            self._add_text(entry, joiner, [text, *self._relative(i + 1, last + 1, column)], i)
            entry[3], entry[4] = False, True
            return last + 1
        if opener and close is not None:
            body = self._relative(i + 1, close, column)
            if not backslashes and _reads_as_commands(body, opener.group(2)):
                code, nxt = self._fence_at(
                    i, end, indent=column, opening_text=content if first else ""
                )
                item.code.append(code)
                entry[3] = entry[4] = False
                return nxt
            closing = self._relative(close, close + 1, column)
            self._add_text(entry, joiner, [lead + core, *body, *closing], i)
            entry[3], entry[4] = False, True
            return close + 1
        count = _escapes(core, first=first)
        if backslashes >= count > 0:
            text = lead + _less_escaped(content, count)
        self._add_text(entry, joiner, [text], i)
        entry[3], entry[4] = True, False
        return i + 1

    def _add_text(self, entry: list, joiner: str, texts: list[str], start: int) -> None:
        """Add ``texts``, read from lines ``start`` on, to the text of the item ``entry`` holds."""
        item = entry[2]
        added = "\n".join(texts)
        item.text = f"{item.text}{joiner}{added}" if item.text else added
        numbers = [line.number for line in self.lines[start : start + len(texts)]]
        item.lines += [n for n in numbers if n != item.lines[-1]]  # the marker's line is in

    def _relative(self, start: int, stop: int, column: int) -> list[str]:
        """Lines ``start`` to ``stop`` (excluded) with their indentation beyond ``column``."""
        return [
            " " * max(0, line.indent - column) + line.content if line.content else ""
            for line in self.lines[start:stop]
        ]

    def _item_fence_close(self, i: int, end: int, fence: str, column: int) -> int | None:
        """The line that closes a fence opened on line ``i`` in an item whose text is at
        ``column``, if it closes before the item ends.

        A fence that does not close is read as a line of text, and the next one looks ahead
        again: where a search found no close, the next search for the same fence stops, so
        that an item of many such lines is not read in quadratic time.
        """
        if self._unclosed.get((fence, column), -1) > i:
            return None
        j = i + 1
        while j < end:
            line = self.lines[j]
            if not line.blank:
                if line.indent < column:
                    break
                if line.indent - column < 4 and _is_fence_close(line.content, fence):
                    return j
            j += 1
        self._unclosed[(fence, column)] = j
        return None

    def _item_last_line(self, i: int, end: int, column: int) -> int:
        last = i
        for j in range(i + 1, end):
            line = self.lines[j]
            if not line.blank:
                if line.indent < column:
                    break
                last = j
        return last

    def _finish_items(self, items: list[Item], boxes: dict[int, str]) -> None:
        """Split attribute blocks off every item and mark unticked boxes (no recursion)."""
        stack = list(items)
        while stack:
            item = stack.pop()
            stack.extend(item.children)
            head, sep, last = item.text.rpartition("\n")
            last, attrs = split_attrs(last)
            if attrs is None and sep:
                attrs = _attrs_line(last)
                if attrs is not None:
                    head, sep, last = head.rstrip("\n"), "", ""
            item.text = f"{head}{sep}{last}" if attrs else item.text
            if boxes.get(id(item)) == " " and not (attrs and attrs.pick(("todo",))):
                attrs = attrs or Attrs()
                attrs.classes.append("todo")
            item.attrs = attrs
            if not item.text.strip():
                item.text = "…"
                self.placement.warn(item.lines[0], "This list item is empty; it was kept as “…”.")
