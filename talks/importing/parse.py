"""From text to days: choose the format, read it, settle conference and day number."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass

from django.utils.text import Truncator, slugify

from ..documents import ConferenceDoc, DayDoc
from .assembler import LIMITS, DayAssembler, DayDraft
from .blocks import fit
from .checks import CONFERENCE_SLUG_LENGTH, slug_problem
from .detect import infer_from_title, infer_location
from .lines import source_lines, split_text
from .markdown_text import MarkdownReader
from .plain_text import PlainTextReader
from .result import ParseResult, Placement

FORMATS = {"auto": "Detect", "markdown": "Markdown", "text": "Plain text"}
MAX_DAY_NUMBER = 999
_MARKDOWN_SIGNS = re.compile(r"^(?:#{1,6} |```|~~~|---\s*$)|\]\(https?://", re.MULTILINE)


@dataclass(frozen=True, kw_only=True)
class ImportOptions:
    """What the person importing says, which wins over anything read from the text."""

    conference: str = ""
    conference_slug: str = ""
    location: str = ""
    starts_on: dt.date | None = None
    day: int | None = None
    date: dt.date | None = None


def detect_format(text: str, *, filename: str = "") -> str:
    """ "markdown" or "text": by the file's extension, else by Markdown's tell-tale signs."""
    name = filename.lower()
    if name.endswith((".md", ".markdown", ".mdown", ".mkd")):
        return "markdown"
    if name.endswith(".txt"):
        return "text"
    return "markdown" if _MARKDOWN_SIGNS.search(text[:200_000]) else "text"


_HTML = re.compile(r"^(?:<!doctype html|<html[\s>]|<head[\s>]|<body[\s>])", re.IGNORECASE)
_XML = re.compile(r"^<\?xml\s", re.IGNORECASE)
_SEPARATED = re.compile(r"[,;\t]")


def foreign_format(text: str, *, filename: str = "") -> str:
    """Why ``text`` is not notes at all (a JSON export, a web page, a spreadsheet), else ""."""
    name = filename.lower()
    head = text.lstrip("\ufeff \t\r\n")[:4096]
    if head.startswith(("{", "[")) or name.endswith(".json"):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict) and data.get("format") == "confnotes":
            return (
                "This is a Confnotes JSON export; import the Markdown export (.md) instead: "
                "the same page offers both (…/export.md), and it imports back unchanged."
            )
        if data is not None or name.endswith(".json"):
            return (
                "This is a JSON file, not notes in plain text or Markdown. Import the notes "
                "themselves, or a Confnotes Markdown export (.md)."
            )
    if _HTML.match(head) or name.endswith((".html", ".htm")):
        return (
            "This is a web page (HTML), not notes in plain text or Markdown. Open it in a "
            "browser, copy the text of the notes and paste that instead."
        )
    if _XML.match(head) or name.endswith(".xml"):
        return "This is an XML file, not notes in plain text or Markdown."
    if name.endswith((".csv", ".tsv")) or _looks_like_a_table(head):
        return (
            "This looks like a spreadsheet (CSV), not notes in plain text or Markdown. Import "
            "the notes as text, one talk title followed by its bullets."
        )
    return ""


def _looks_like_a_table(head: str) -> bool:
    """Five or more lines with the same two or more separators, and no Markdown: a CSV file."""
    lines = [line for line in head.splitlines()[:10] if line.strip()]
    if len(lines) < 5 or _MARKDOWN_SIGNS.search(head):
        return False
    counts = {len(_SEPARATED.findall(line)) for line in lines[:-1]}  # the last may be cut
    return len(counts) == 1 and min(counts) >= 2


def parse_notes(
    text: str,
    *,
    format: str = "auto",
    filename: str = "",
    options: ImportOptions | None = None,
) -> ParseResult:
    """Read a notes document into days. Never raises on odd input: it warns instead, and
    says in ``refusal`` why the text cannot be imported at all (a JSON export, a slug that
    cannot make a web address)."""
    options = options or ImportOptions()
    fmt = detect_format(text, filename=filename) if format == "auto" else format
    foreign = foreign_format(text, filename=filename)
    if foreign:
        return ParseResult(days=[], warnings=[], format=fmt, refusal=foreign)
    raw = split_text(text)
    placement = Placement(len(raw))
    lines = source_lines(raw, placement)
    front: dict[str, str] = {}
    front_lines: dict[str, int] = {}
    if fmt == "markdown":
        reader = MarkdownReader(lines, placement)
        sections = reader.read()
        front, front_lines = reader.front_matter, reader.front_matter_lines
    else:
        sections = [PlainTextReader(lines, placement).blocks()]
    strict = bool(front.get("conference"))
    drafts = [
        DayAssembler(placement, markdown=fmt == "markdown", strict_levels=strict).build(blocks)
        for blocks in sections
    ]
    days = _settle(
        drafts, front=front, front_lines=front_lines, options=options, placement=placement
    )
    placement.warnings.sort(key=lambda w: w.line)
    refusals = sorted(placement.refusals, key=lambda w: w.line)
    refusal = ""
    if refusals:
        refusal = str(refusals[0])[:1].upper() + str(refusals[0])[1:]
        if len(refusals) > 1:
            refusal += f" (And {len(refusals) - 1} more like it.)"
    return ParseResult(
        days=days,
        warnings=placement.warnings,
        format=fmt,
        roles=placement.roles,
        refusal=refusal,
        conference_slug_given=bool(options.conference_slug or front.get("conference-slug")),
        unstated_languages=placement.unstated_languages,
    )


def _quoted(value: str) -> str:
    """A value from the notes, short enough to quote back in a warning."""
    return Truncator(value).chars(60)


def _date(value: str, *, what: str, placement: Placement) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        placement.warn(
            0, f"The {what} “{_quoted(value)}” is not a date like 2016-06-20; it was left out."
        )
        return None


def _number(value: str, *, what: str, line: int, placement: Placement) -> int | None:
    """A day number given in the notes; one that cannot be (``day: 1000``) refuses the import,
    as the import's own day number option does, rather than guess which day is meant."""
    if not value:
        return None
    if value.isdigit() and 1 <= int(value) <= MAX_DAY_NUMBER:
        return int(value)
    placement.refuse(
        line,
        f"{what} (“{_quoted(value)}”) is not a day number from 1 to {MAX_DAY_NUMBER}. Nothing "
        "was imported: correct it, or leave it out to take the number from the day's title "
        "(such as “Day 2”).",
    )
    return None


def _conference_slug(
    name: str, *, front: dict[str, str], options: ImportOptions, placement: Placement
) -> str:
    """The slug given (option, else front matter), refused unless it can make a web address;
    else one made from the name."""
    for given, where in [
        (options.conference_slug, "The conference slug given for the import"),
        (front.get("conference-slug", ""), "The front matter's “conference-slug:”"),
    ]:
        if not given:
            continue
        problem = slug_problem(given, what=where, length=CONFERENCE_SLUG_LENGTH)
        if problem:
            placement.refuse(0, f"{problem} Nothing was imported.")
        return given
    return slugify(name)[:CONFERENCE_SLUG_LENGTH]


def _absent(draft: DayDraft, *, title: str) -> frozenset[str]:
    """The day's texts this document does not hold at all, which an import leaves as stored.

    Our exports write every one that is not empty (the sign-off after a final ``---``), so
    export → import still replaces them exactly.
    """
    given = {
        "title": title,
        "intro": draft.intro,
        "summary": draft.summary,
        "author": draft.author,
        "author_title": draft.author,  # the sign-off is one: a name alone has no title
        "next_day_title": draft.next_day_title,
    }
    return frozenset(name for name, value in given.items() if not value)


def _settle(
    drafts: list[DayDraft],
    *,
    front: dict[str, str],
    front_lines: dict[str, int],
    options: ImportOptions,
    placement: Placement,
) -> list[DayDoc]:
    """Decide conference, day numbers, dates and titles: options, then front matter, then text.
    Two days of the same number refuse the import (the later would replace the earlier)."""
    single = len(drafts) == 1
    front = {**front}
    for key, what, limit in [
        ("title", "title in the front matter", "day_title"),
        ("conference", "conference name in the front matter", "meta"),
        ("location", "place in the front matter", "meta"),
    ]:
        if front.get(key):
            front[key] = fit(front[key], limit, line=0, what=what, placement=placement)
    first_title = drafts[0].title or front.get("title", "")
    inferred_name, _ = infer_from_title(first_title)
    name = options.conference or front.get("conference", "") or inferred_name
    name = fit(name, "meta", line=0, what="conference name", placement=placement)
    intro = "\n\n".join(drafts[0].intro)
    location = options.location or front.get("location", "")
    if not location and name:
        location = infer_location(intro, conference=name)
    conference = ConferenceDoc(
        name=name,
        slug=_conference_slug(name, front=front, options=options, placement=placement),
        location=fit(location, "meta", line=0, what="place", placement=placement),
        starts_on=options.starts_on
        or _date(front.get("starts-on", ""), what="start date", placement=placement),
    )
    ignored = [f"“{key}:”" for key in ("day", "date") if front.get(key) and not single]
    if ignored:
        apply, were = ("apply", "they were") if len(ignored) > 1 else ("applies", "it was")
        placement.warn(
            0,
            f"The front matter's {' and '.join(ignored)} {apply} to a single day, and these "
            f"notes hold {len(drafts)} days, each with its own: {were} left out.",
        )
    days = []
    refusals = len(placement.refusals)
    for index, draft in enumerate(drafts):
        attrs = draft.title_attrs.values if draft.title_attrs else {}
        title = draft.title or (front.get("title", "") if single else "")
        _, title_number = infer_from_title(title)
        refused = len(placement.refusals)
        number = (
            (options.day if single else None)
            or (_front_day(front, front_lines, placement) if single else None)
            or _number(
                attrs.get("day", ""),
                what=f"The “day=” after the title “{_quoted(title)}”",
                line=draft.title_line,
                placement=placement,
            )
            or title_number
            or draft.marker_number
        )
        if number is None:
            number = index + 1
            if len(placement.refusals) == refused:  # else the refusal says why
                placement.warn(0, f"No day number found (such as “Day 1”); used {number}.")
        if title_number and draft.marker_number and title_number != draft.marker_number:
            placement.warn(
                draft.marker_line,
                f"The title says Day {title_number} but the text says Day {draft.marker_number}.",
            )
        date = (options.date if single else None) or _date(
            (front.get("date", "") if single else "") or attrs.get("date", ""),
            what="date",
            placement=placement,
        )
        days.append(
            DayDoc(
                conference=conference,
                number=number,
                title=title or f"{name or 'Conference'} Day {number}"[: LIMITS["day_title"]],
                date=date,
                intro="\n\n".join(draft.intro),
                summary="\n\n".join(draft.summary),
                author=draft.author,
                author_title=draft.author_title,
                next_day_title=draft.next_day_title,
                talks=draft.talks,
                absent=_absent(draft, title=title),
            )
        )
    if len(placement.refusals) == refusals:  # a number refused was replaced by a guess
        _refuse_repeated_days(days, drafts, placement=placement)
    return days


def _front_day(front: dict[str, str], lines: dict[str, int], placement: Placement) -> int | None:
    what = "The front matter's “day:”"
    return _number(front.get("day", ""), what=what, line=lines.get("day", 0), placement=placement)


def _refuse_repeated_days(
    days: list[DayDoc], drafts: list[DayDraft], *, placement: Placement
) -> None:
    """Each day once: saving a second Day 1 would silently replace the first one's notes."""
    first: dict[int, tuple[DayDoc, DayDraft]] = {}
    for day, draft in zip(days, drafts, strict=True):
        if day.number not in first:
            first[day.number] = (day, draft)
            continue
        earlier, earlier_draft = first[day.number]
        named = " and ".join(
            f"“{_quoted(doc.title)}”" + (f" (line {d.title_line})" if d.title_line else "")
            for doc, d in [(earlier, earlier_draft), (day, draft)]
        )
        placement.refuse(
            0,
            f"These notes hold Day {day.number} twice: {named}. Nothing was imported: give "
            f"each day its own number (in its title, such as “Day 2”, or after it, such as "
            f"{{day=2}}), or import them one at a time.",
        )
