"""How the blocks of a day (see ``blocks``) become a day of notes.

``DayAssembler`` makes the judgement calls that do not depend on syntax: the title and intro,
where talks start, which list nests under which heading, where a block of commands hangs, the
summary and the sign-off.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re

from django.utils import timezone

from ..documents import HighlightDoc, SnippetDoc, TalkDoc
from .blocks import (
    LIMITS,
    Block,
    BulletList,
    Code,
    CodeBlock,
    DayDraft,
    Heading,
    Item,
    Paragraph,
    Rule,
    UrlLine,
    all_lines,
    fit,
)
from .checks import TALK_SLUG_LENGTH, slug_problem
from .detect import (
    HIGHLIGHT_KINDS,
    HIGHLIGHT_STYLES,
    TALK_KINDS,
    Attrs,
    SlugAllocator,
    TalkHeading,
    attrs_for,
    classify_talk_heading,
    day_marker,
    infer_highlight_kind,
    is_heading_like,
    is_summary_marker,
    is_title_case,
    next_day_title,
    short_slug,
)
from .result import Placement
from .signoff import find_sign_off

MAX_DEPTH = 8
_TITLE_DAY = re.compile(r"\bday\s+\d{1,3}\b", re.IGNORECASE)


class DayAssembler:
    """Turns the blocks of one day into a ``DayDraft``; see the module docstring."""

    def __init__(self, placement: Placement, *, markdown: bool, strict_levels: bool) -> None:
        self.placement = placement
        self.markdown = markdown
        self.strict_levels = strict_levels
        self.draft = DayDraft()
        self.section = "intro"  # intro | talk | summary
        self.talk: TalkDoc | None = None
        self.last_top: HighlightDoc | None = None
        self.nest_target: HighlightDoc | None = None
        self.just_started_talk = False
        self.early_snippets: list[int] = []
        self.slugs = SlugAllocator()
        self.talk_level: int | None = None
        self.has_talk_headings = False

    # --- entry point ----------------------------------------------------------------------

    def build(self, blocks: list[Block]) -> DayDraft:
        if blocks and self._take_title(blocks[0]):
            blocks = blocks[1:]
        sign_off = find_sign_off(blocks, self.placement)
        self.draft.author, self.draft.author_title = sign_off.author, sign_off.author_title
        body = blocks[: sign_off.start]
        self._settle_talk_level(body)
        for index, block in enumerate(body):
            following = body[index + 1] if index + 1 < len(body) else None
            target, self.nest_target = self.nest_target, None
            started, self.just_started_talk = self.just_started_talk, False
            self._block(block, following=following, target=target, after_talk_title=started)
        self._close_talk()
        return self.draft

    # --- title and sign-off ---------------------------------------------------------------

    def _take_title(self, block: Block) -> bool:
        if self.markdown:
            if not (isinstance(block, Heading) and block.level == 1):
                return False
            text = block.text
        else:
            if not isinstance(block, Paragraph) or len(block.line_texts) != 1:
                return False
            text = block.text
            if len(text) > 200 or len(text.split()) > 20 or text.endswith((".", "!", "?")):
                return False
            if day_marker(text) is not None or is_summary_marker(text):
                return False
        attrs = getattr(block, "attrs", None)
        if attrs is None and classify_talk_heading(text).explicit and not _TITLE_DAY.search(text):
            return False  # "Keynote highlights" first: the notes start with a talk, untitled
        text, attrs = attrs_for(text, attrs, "day")
        self.draft.title = fit(
            text, "day_title", line=block.lines[0], what="title", placement=self.placement
        )
        self.draft.title_attrs = attrs
        self.draft.title_line = block.lines[0]
        self.placement.place_all(block.lines, "title")
        return True

    def _meta(self, text: str, *, line: int, what: str) -> str:
        return fit(text, "meta", line=line, what=what, placement=self.placement)

    # --- talk level (Markdown) ------------------------------------------------------------

    def _settle_talk_level(self, blocks: list[Block]) -> None:
        """Talks are the shallowest headings (## in our exports), unless every heading at that
        level only wraps two or more deeper headings ("## Talks" over "### First" ...)."""
        if not self.markdown:
            return
        headings = [
            (index, block)
            for index, block in enumerate(blocks)
            if isinstance(block, Heading) and not self._is_marker(block)
        ]
        levels = sorted({block.level for _, block in headings})
        if self.strict_levels:
            self.talk_level = 2
        elif levels:
            self.talk_level = next(
                (level for level in levels if not self._wraps(headings, level, blocks)),
                levels[-1],
            )
        self.has_talk_headings = any(block.level == self.talk_level for _, block in headings)

    @staticmethod
    def _wraps(headings: list[tuple[int, Heading]], level: int, blocks: list[Block]) -> bool:
        for position, (index, block) in enumerate(headings):
            if block.level != level:
                continue
            following = blocks[index + 1] if index + 1 < len(blocks) else None
            if not (isinstance(following, Heading) and following.level > level):
                return False  # has content of its own
            children = 0
            for _, later in itertools.islice(headings, position + 1, None):
                if later.level <= level:
                    break
                children += later.level == following.level
            if children < 2:
                return False
        return True

    @staticmethod
    def _is_marker(block: Heading) -> bool:
        return block.attrs is None and (
            day_marker(block.text) is not None or is_summary_marker(block.text)
        )

    # --- blocks ---------------------------------------------------------------------------

    def _block(
        self,
        block: Block,
        *,
        following: Block | None,
        target: HighlightDoc | None,
        after_talk_title: bool,
    ) -> None:
        if isinstance(block, Heading):
            self._heading(block)
        elif isinstance(block, Paragraph):
            self._paragraph(block, following=following)
        elif isinstance(block, BulletList):
            self._list(block, target=target)
        elif isinstance(block, CodeBlock):
            self._code(block)
        elif isinstance(block, UrlLine):
            self._url(block, after_talk_title=after_talk_title)
        else:  # Rule, ListBreak
            if self.section != "talk" and isinstance(block, Rule):
                self._keep_as_text(block, role=self.section)
            self.placement.place_all(block.lines, "separator")
            self.last_top = None

    def _heading(self, block: Heading) -> None:
        level = self.talk_level
        if self._is_marker(block) and (level is None or block.level <= level):
            if is_summary_marker(block.text):
                self._start_summary(block.lines)
            else:
                self._day_marker(day_marker(block.text) or 0, block.lines)
            return
        if level is not None and block.level == level:
            self._start_talk(classify_talk_heading(block.text), block)
            return
        if level is not None and block.level < level:
            self.placement.warn(
                block.lines[0], f"The heading “{block.text}” only groups talks; it was left out."
            )
            self.placement.place_all(block.lines, "section")
            return
        if self.section == "talk":
            self._add_top(self._highlight(block.text, "heading", block.attrs, block.lines))
            self.nest_target = self.last_top
        else:
            self._keep_as_text(block, role=self.section)

    def _paragraph(self, block: Paragraph, *, following: Block | None) -> None:
        text, attrs = attrs_for(block.text, block.attrs, "highlight")
        if attrs is None:
            title = next_day_title(text)
            if title:
                self.draft.next_day_title = self._meta(
                    title, line=block.lines[0], what="next day's title"
                )
                self.placement.place_all(block.lines, "next-day")
                return
            if not self.markdown and len(block.line_texts) == 1 and self._plain_heading(block):
                return
        if self.section != "talk":
            self._keep_as_text(block, role=self.section)
            return
        style = "paragraph"
        # "Success" followed by bullets is a group heading; in plain text any short line is.
        if (
            attrs is None
            and is_heading_like(text)
            and (not self.markdown or isinstance(following, BulletList))
        ):
            style = "heading"
        highlight = self._highlight(text, style, attrs, block.lines)
        self._add_top(highlight)
        if highlight.style == "heading" or text.endswith(":"):
            self.nest_target = highlight

    def _plain_heading(self, block: Paragraph) -> bool:
        """Plain text: is this short line a day marker, the summary, or a talk? (True if used.)"""
        text = block.text
        number = day_marker(text)
        if number is not None:
            self._day_marker(number, block.lines)
            return True
        if is_summary_marker(text):
            self._start_summary(block.lines)
            return True
        if len(text) > 200 or text.endswith((".", "!", "?", ";", ",")):
            return False
        heading = classify_talk_heading(text)
        marked = heading.title != text  # a prefix or quotes were stripped
        if not (marked or is_heading_like(text)):
            return False
        if self.section == "summary" and not heading.explicit:
            return False
        if heading.explicit or self.talk is None or is_title_case(text):
            self._start_talk(heading, block)
            return True
        return False

    def _list(self, block: BulletList, *, target: HighlightDoc | None) -> None:
        if self.section != "talk":
            if self.section == "summary" or (self.markdown and self.has_talk_headings):
                self._keep_as_text(block, role=self.section)
                return
            self._implicit_talk(block.lines[0])
        assert self.talk is not None
        depth = 2 if target is not None else 1
        highlights = self._convert(block.items, depth=depth)
        if target is not None:
            target.children.extend(highlights)
            return
        for highlight in highlights:
            self._add_top(highlight)

    def _code(self, block: CodeBlock) -> None:
        code = block.code
        if self.section != "talk":
            if self.section == "summary" or (self.markdown and self.has_talk_headings):
                self._keep_as_text(block, role=self.section)
                if code.shell:
                    self.placement.warn(
                        code.lines[0],
                        f"These commands are in the {self.section}, not in a talk: they were "
                        "kept as text and cannot be run.",
                    )
                return
            self._implicit_talk(code.lines[0])
        assert self.talk is not None
        if not code.shell:
            self._add_top(self._highlight(code.source, "paragraph", None, code.lines))
            return
        snippet = self._snippet(code)
        if self.last_top is not None:
            self.last_top.snippets.append(snippet)
        else:
            self.talk.snippets.append(snippet)
            if not self.talk.highlights:
                self.early_snippets.append(code.lines[0])
        self.placement.place_all(code.lines, "snippet")

    def _url(self, block: UrlLine, *, after_talk_title: bool) -> None:
        talk = self.talk
        if self.section == "talk" and talk is not None and after_talk_title:
            if len(block.url) <= LIMITS["url"]:
                talk.session_url = block.url
                self.placement.place_all(block.lines, "session-url")
                return
            self.placement.warn(
                block.lines[0],
                "This link is too long for a session link (500 characters); it was kept as a note.",
            )
        if self.section != "talk":
            self._keep_as_text(block, role=self.section)
            return
        self._add_top(self._highlight(block.text, "paragraph", None, block.lines))

    # --- sections -------------------------------------------------------------------------

    def _day_marker(self, number: int, lines: list[int]) -> None:
        if self.draft.marker_number is None:
            self.draft.marker_number, self.draft.marker_line = number, lines[0]
            self.placement.place_all(lines, "day-marker")
        elif number != self.draft.marker_number:
            self.placement.warn(
                lines[0],
                f"This says Day {number}, but the document already said Day "
                f"{self.draft.marker_number}; import one day at a time. The line was left out.",
            )
            self.placement.place_all(lines, "day-marker")
        else:
            self.placement.place_all(lines, "day-marker")

    def _start_summary(self, lines: list[int]) -> None:
        self._close_talk()
        self.section = "summary"
        self.placement.place_all(lines, "summary")

    def _start_talk(self, heading: TalkHeading, block: Paragraph | Heading) -> None:
        self._close_talk()
        _, attrs = attrs_for(heading.title, block.attrs, "talk")
        if block.attrs is not None and attrs is None:  # it was only text: read it again
            heading = classify_talk_heading(f"{block.text}{block.attrs.source}")
        line = block.lines[0]
        if attrs is None and re.search(r"\s\{[^{}]*\}$", heading.title):
            self.placement.warn(
                line, "The {…} at the end of this talk title was not understood as facts about "
                "the talk (such as {#slug .keynote tags=a, b}); it was kept in the title.",
            )  # fmt: skip
        title = fit(
            heading.title, "talk_title", line=line, what="talk title", placement=self.placement
        )
        kind = (attrs.pick(TALK_KINDS) if attrs else "") or heading.kind
        slug = heading.slug if kind == heading.kind else short_slug(title, kind=kind)
        if attrs and attrs.slug:
            problem = slug_problem(
                attrs.slug, what=f"The slug of the talk “{title[:60]}”", length=TALK_SLUG_LENGTH
            )
            if problem:  # it would make the talk's web address, c/<conf>/<day>/<talk>/
                self.placement.refuse(line, f"{problem} Nothing was imported.")
            slug = attrs.slug[:TALK_SLUG_LENGTH]
        talk = TalkDoc(
            title=title,
            kind=kind,
            slug=self.slugs.take(slug),
            tags=self._tags(attrs.tags if attrs else [], line=line),
        )
        self.draft.talks.append(talk)
        self.talk, self.section = talk, "talk"
        self.just_started_talk = True
        self.placement.place_all(block.lines, "talk")

    def _implicit_talk(self, line: int) -> None:
        self.placement.warn(
            line, "These notes come before any talk title; they were put in a talk called “Notes”."
        )
        self._start_talk(
            TalkHeading(title="Notes", kind="talk", slug="notes", explicit=True),
            Paragraph(text="Notes", lines=[line], line_texts=["Notes"], source=""),
        )
        self.just_started_talk = False

    def _close_talk(self) -> None:
        if self.talk is not None and self.talk.highlights and self.early_snippets:
            for line in self.early_snippets:
                self.placement.warn(
                    line,
                    "These commands come before any note of the talk; they are shown at the end "
                    "of the talk.",
                )
        self.talk, self.last_top, self.early_snippets = None, None, []

    def _keep_as_text(self, block: Block, *, role: str) -> None:
        """Intro and summary are Markdown text: keep the block's own Markdown there."""
        target = self.draft.summary if role == "summary" else self.draft.intro
        if block.source.strip():
            target.append(block.source)
        self.placement.place_all(all_lines(block), role)

    # --- highlights -----------------------------------------------------------------------

    def _add_top(self, highlight: HighlightDoc) -> None:
        assert self.talk is not None
        self.talk.highlights.append(highlight)
        self.last_top = highlight

    def _highlight(
        self, text: str, style: str, attrs: Attrs | None, lines: list[int]
    ) -> HighlightDoc:
        text, attrs = attrs_for(text, attrs, "highlight")
        if attrs is not None:
            style = attrs.pick(HIGHLIGHT_STYLES) or style
        kind = (attrs.pick(HIGHLIGHT_KINDS) if attrs else "") or infer_highlight_kind(
            text, style=style
        )
        self.placement.place_all(lines, "highlight")
        highlight = HighlightDoc(
            text=text,
            style=style,
            kind=kind,
            tags=self._tags(attrs.tags if attrs else [], line=lines[0]),
            source_line=lines[0],
        )
        if attrs is not None and attrs.values:
            self._resolution(highlight, attrs.values, line=lines[0])
        return highlight

    def _resolution(self, highlight: HighlightDoc, values: dict[str, str], *, line: int) -> None:
        """A follow-up's answer, as our exports write it:
        ``{resolved=2016-06-21T09:30:00+00:00 resolution="..." resolution-url=https://...}``."""
        highlight.resolution = values.get("resolution", "")
        url = values.get("resolution-url", "")
        if len(url) > LIMITS["url"] or (url and not url.startswith(("http://", "https://"))):
            self.placement.warn(
                line, "The answer's link is not an http(s) link of at most 500 characters; it "
                "was left out.",
            )  # fmt: skip
            url = ""
        highlight.resolution_url = url
        resolved = values.get("resolved", "")
        if resolved:
            try:
                when = dt.datetime.fromisoformat(resolved)
            except ValueError:
                self.placement.warn(
                    line, f"“{resolved[:40]}” is not a time like 2016-06-21T09:30:00+00:00; the "
                    "answer was kept without its time.",
                )  # fmt: skip
            else:
                if timezone.is_naive(when):
                    when = timezone.make_aware(when, dt.UTC)
                highlight.resolved_at = when

    def _convert(self, items: list[Item], *, depth: int) -> list[HighlightDoc]:
        out: list[HighlightDoc] = []
        for item in items:
            highlight = self._highlight(item.text, "bullet", item.attrs, item.lines)
            for code in item.code:
                if code.shell:
                    highlight.snippets.append(self._snippet(code))
                    self.placement.place_all(code.lines, "snippet")
                else:
                    highlight.text = f"{highlight.text}\n\n{code.source}".strip()
                    self.placement.place_all(code.lines, "highlight")
            out.append(highlight)
            if depth < MAX_DEPTH:
                highlight.children = self._convert(item.children, depth=depth + 1)
            elif item.children:
                self.placement.warn(
                    item.children[0].lines[0],
                    f"Notes nested deeper than {MAX_DEPTH} levels were kept at level {MAX_DEPTH}.",
                )
                flat = _flatten(item.children)
                out.extend(self._convert(flat, depth=depth))
        return out

    def _snippet(self, code: Code) -> SnippetDoc:
        caption = fit(
            code.caption, "caption", line=code.lines[0], what="caption", placement=self.placement
        )
        snippet = SnippetDoc(lines=list(code.commands), caption=caption)
        if code.language is None:
            self.placement.unstated_languages.add(id(snippet))  # the stored one is kept
        else:
            snippet.language = fit(
                code.language, "language", line=code.lines[0], what="language",
                placement=self.placement,
            )  # fmt: skip
        return snippet

    def _tags(self, names: list[str], *, line: int) -> list[str]:
        tags = []
        for name in names:
            if len(name) > LIMITS["tag"]:  # any name fits a tag's address (models.tag_slug)
                self.placement.warn(
                    line,
                    f"The tag “{name[:80]}…” is longer than {LIMITS['tag']} characters; it "
                    "was left out.",
                )
                continue
            if name not in tags:
                tags.append(name)
        return tags


def _flatten(items: list[Item]) -> list[Item]:
    """Items and all their descendants, in document order, as leaves (no recursion: the
    nesting of hostile input has no bound)."""
    out: list[Item] = []
    stack = list(reversed(items))
    while stack:
        item = stack.pop()
        out.append(Item(text=item.text, lines=item.lines, attrs=item.attrs, code=item.code))
        stack.extend(reversed(item.children))
    return out
