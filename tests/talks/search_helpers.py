"""Shared by the search tests: the demo day saved once per module, small days of notes, and
results as plain text."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils.html import strip_tags

from talks.demo import DOCKERCON_2016_DAY_1
from talks.documents import ConferenceDoc, DayDoc, TalkDoc, save_day
from talks.models import Conference, Day, Tag


@pytest.fixture(scope="module", name="demo_day")
def demo_day_once_per_module(django_db_setup, django_db_blocker):
    """The demo day, saved once for the module that imports this (its tests only read it, and
    what a test changes is rolled back after it); removed at the end."""
    with django_db_blocker.unblock():
        day, _ = save_day(DOCKERCON_2016_DAY_1)
    yield day
    with django_db_blocker.unblock():
        Conference.objects.all().delete()  # cascades, and the index rows go with them
        Tag.objects.all().delete()


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
