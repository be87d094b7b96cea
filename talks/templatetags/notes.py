"""Template filters for the notes pages."""

from __future__ import annotations

import html
import re

from django import template
from django.utils.html import strip_tags

from talks.markdown import web_link
from talks.models import Day, Highlight

register = template.Library()
_SPACES = re.compile(r"\s+")
_LEADING_PUNCTUATION = re.compile(r"^[\s:·,–—-]+")


@register.filter
def web_url(value: str) -> str:
    """The stored URL when it is a safe absolute http(s) link, else "" (then show no link)."""
    return web_link(value)


@register.filter
def excerpt(rendered_html: str, length: int = 60) -> str:
    """Rendered Markdown as a short line of plain text (escaped again where it is shown),
    to name a note in a link or a label."""
    text = _SPACES.sub(" ", html.unescape(strip_tags(rendered_html))).strip()
    if len(text) <= length:
        return text
    cut = text[: length - 1]
    if " " in cut:  # end on a whole word
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,.;:…") + "…"  # one ellipsis, even where the text had its own


@register.filter
def title_names_conference(day: Day) -> bool:
    """Whether the day's title already says its conference ("DockerCon 2016 Highlights Day
    1"), so that the conference's name need not follow it."""
    return day.conference.name.casefold() in day.title.casefold()


@register.filter
def short_day_title(day: Day) -> str:
    """The day's title without its conference's name in front, for where the conference is
    already named ("Highlights Day 1" on DockerCon 2016's pages)."""
    name = day.conference.name
    if day.title.casefold().startswith(name.casefold()):
        rest = _LEADING_PUNCTUATION.sub("", day.title[len(name) :])
        if rest:
            return rest[0].upper() + rest[1:]
    return day.title


@register.filter
def says_its_kind(highlight: Highlight) -> bool:
    """Whether the note's text starts with its kind ("Success" as a heading of kind success),
    so a badge saying the kind would only repeat it."""
    words = excerpt(highlight.text_html, 200).casefold().split()
    label = highlight.get_kind_display().casefold().split()
    return bool(words) and [word.strip(".:!") for word in words[: len(label)]] == label


@register.filter
def child_heading_level(highlight: Highlight, level: int | str | None) -> int:
    """The heading level for the notes under ``highlight``: one deeper under a heading note
    (never past <h6>), the same under any other. Notes outside a talk's outline start at 3."""
    level = int(level or 3)
    return min(level + 1, 6) if highlight.style == Highlight.Style.HEADING else level
