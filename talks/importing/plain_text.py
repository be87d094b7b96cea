"""Plain text as people paste it from a blog or type it in an editor.

Bullets are any of • ◦ ▪ - * + or "1."; indentation nests them; a bullet ending with ":" that is
followed by bullets at the same indentation takes them as its children ("Pitfalls of seccomp:"
→ Fragile, Libseccomp). Lines that are shell commands, alone or in a run, become snippets;
a line that is only a URL stays a link. A block fenced with ``` as in Markdown is read as one:
its commands become a snippet (whatever word follows the fence, unless it names a language
such as ``yaml``: then, as other code, the block is kept as a note's text). Everything else is
a paragraph.
"""

from __future__ import annotations

import re

from .blocks import Block, BulletList, Code, CodeBlock, Item, Paragraph, Rule, UrlLine
from .detect import (
    COMMANDS,
    MAX_COMMAND_LENGTH,
    is_command,
    is_heading_like,
    strip_prompt,
    too_long_for_a_command,
    url_only,
)
from .lines import SourceLine
from .markdown_text import SHELL_LANGUAGES, code_from, fence_language
from .result import Placement

_BULLET = re.compile(r"^(?:[•◦▪▫‣⁃●○■□·∙\-–*+]|\d{1,3}[.)])(?:\s+|$)")
_RULE = re.compile(r"^([-*_=~—–])(?:\s*\1){2,}$")
# Only backticks: a line of ~~~ is a separator in plain text.
_FENCE = re.compile(r"^(`{3,})[ \t]*([^`\s{]*)[^`]*$")


def line_kind(line: SourceLine) -> str:
    """blank, fence (an opening ```), rule, bullet, command, url or prose."""
    content = line.content
    if not content:
        return "blank"
    if _FENCE.match(content):
        return "fence"
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
        self.fence_ends: dict[int, int] = {}  # opening fence's index → its closing one's
        self._find_fences()
        for line, kind in zip(lines, self.kinds, strict=True):
            if kind == "prose" and too_long_for_a_command(line.content):
                placement.warn(
                    line.number,
                    f"This line looks like a command, but at {len(line.content.strip()):,} "
                    f"characters it is longer than a command line may be "
                    f"({MAX_COMMAND_LENGTH:,}); it was kept as a note.",
                )

    def _find_fences(self) -> None:
        """Mark the lines of each fenced block "fenced" (its body and closing fence), so that
        none of them is read as a bullet or a command of its own. A fence never closed ends
        at its first blank line, as in Markdown, and the import says so."""
        count = len(self.lines)
        # The longest line of backticks alone from each line on: a fence that no line after it
        # can close is known at once (looking for one would make a text of many take
        # quadratic time); a fence that closes is looked at up to its close only.
        longest = [0] * (count + 1)
        for j in range(count - 1, -1, -1):
            content = self.lines[j].content
            alone = len(content) if content and not content.strip("`") else 0
            longest[j] = max(alone, longest[j + 1])
        i = 0
        while i < count:
            if self.kinds[i] != "fence":
                i += 1
                continue
            fence = _FENCE.match(self.lines[i].content).group(1)
            end = None
            if longest[i + 1] >= len(fence):
                end = next(j for j in range(i + 1, count) if _closes(self.lines[j].content, fence))
            if end is None:
                end = next(
                    (j for j in range(i + 1, count) if self.kinds[j] == "blank"), count
                ) - 1  # fmt: skip
                if end == i:  # nothing under it: a stray fence, not a block
                    self.kinds[i] = "stray-fence"
                    self.placement.warn(
                        self.lines[i].number,
                        "This ``` line opens no code block (nothing follows it, and it is "
                        "never closed); it was left out.",
                        role="left-out",
                    )
                    i += 1
                    continue
                self.placement.warn(
                    self.lines[i].number,
                    "This code block is never closed (no closing ```); it was ended at "
                    + ("its first blank line." if end + 1 < count else "the end of "
                       "the document."),
                )  # fmt: skip
            for j in range(i + 1, end + 1):
                self.kinds[j] = "fenced"
            self.fence_ends[i] = end
            i = end + 1

    def _fenced(self, i: int) -> tuple[Code, int]:
        """The block fenced on line ``i``: commands (a snippet), else code kept as text."""
        opening = self.lines[i]
        match = _FENCE.match(opening.content)
        assert match is not None
        fence, word = match.group(1), match.group(2)
        end = self.fence_ends[i]
        closed = end > i and _closes(self.lines[end].content, fence)
        inside = self.lines[i + 1 : end if closed else end + 1]
        body = [" " * max(0, line.indent - opening.indent) + line.content for line in inside]
        numbers = [line.number for line in self.lines[i : end + 1]]
        # A word that names no shell but a command ("```docker") says what the commands are
        # for: the lines decide, as unfenced lines do. Another ("```yaml") makes it code.
        shell_word = not word or word.lower() in SHELL_LANGUAGES or word in COMMANDS
        judged = word if word.lower() in SHELL_LANGUAGES or not shell_word else ""
        source = "\n".join([fence + word, *body, fence])
        code = code_from(body, numbers, language=judged, source=source, placement=self.placement)
        code.language = fence_language(opening.content[len(fence) :])
        self.placement.place_all(numbers, "snippet" if code.shell else "highlight")
        return code, end + 1

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
            elif kind == "fence":
                code, i = self._fenced(i)
                out.append(CodeBlock(code=code, source=_code_markdown(code)))
            elif kind == "stray-fence":
                i += 1  # warned about in _find_fences
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
                if j < len(self.lines) and self.kinds[j] in ("bullet", "command", "fence"):
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
            if kind in ("command", "fence") and stack:
                code, i = self._commands(i) if kind == "command" else self._fenced(i)
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
            out.extend("  " * (depth + 1) + line for line in _code_markdown(code).split("\n"))
        stack.extend((child, depth + 1) for child in reversed(item.children))
    return out


def _fence(commands: list[str]) -> str:
    return "\n".join(["```console", *(f"$ {c}" for c in commands), "```"])


def _code_markdown(code: Code) -> str:
    """A block as Markdown, for the intro or the summary: commands as a console block, other
    code as it was fenced."""
    return _fence(code.commands) if code.shell else code.source


def _closes(content: str, fence: str) -> bool:
    """Does a line holding only ``content`` close a block opened with ``fence``?"""
    return len(content) >= len(fence) and not content.strip("`")
