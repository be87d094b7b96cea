"""Shared by the search tests: small days of notes, and results as plain text."""

from __future__ import annotations

import datetime as dt

from django.utils.html import strip_tags

from talks.documents import ConferenceDoc, DayDoc, TalkDoc, save_day
from talks.models import Day


def texts(results) -> list[str]:
    """Each hit's heading and excerpt without markup."""
    return [strip_tags(f"{hit.heading} {hit.excerpt}".strip()) for hit in results.hits]


def day_of(*talks: TalkDoc, number: int = 1, summary: str = "", slug: str = "testconf") -> Day:
    """Save a day of the given talks in conference ``slug``."""
    doc = DayDoc(
        conference=ConferenceDoc(name=f"Conf {slug}", slug=slug),
        number=number,
        title=f"Day {number} of {slug}",
        date=dt.date(2020, 1, number),
        summary=summary,
        talks=list(talks),
    )
    day, _ = save_day(doc)
    return day
