"""The admin refuses the dates an import refuses: a day before its conference starts, a start
moved after a day. A date already so when the edit began is left alone, as the import does."""

from __future__ import annotations

import datetime as dt

import pytest

from talks.models import Conference, Day

pytestmark = pytest.mark.django_db

START = dt.date(2016, 6, 19)


@pytest.fixture
def conference() -> Conference:
    return Conference.objects.create(name="DockerCon 2016", slug="dockercon-2016", starts_on=START)


def day_form(conference: Conference, **changes) -> dict:
    return {
        "conference": conference.pk,
        "number": 2,
        "title": "Day 2",
        "slug": "day-2",
        "date": "2016-06-21",
        "intro": "",
        "summary": "",
        "author": "",
        "author_title": "",
        "next_day_title": "",
        "talks-TOTAL_FORMS": 0,
        "talks-INITIAL_FORMS": 0,
        "talks-MIN_NUM_FORMS": 0,
        "talks-MAX_NUM_FORMS": 1000,
    } | changes


def conference_form(conference: Conference, **changes) -> dict:
    return {
        "name": conference.name,
        "slug": conference.slug,
        "location": "",
        "starts_on": conference.starts_on.isoformat(),
        "description": "",
    } | changes


def test_a_day_dated_before_its_conference_starts_is_refused(staff_client, conference):
    response = staff_client.post("/admin/talks/day/add/", day_form(conference, date="2010-01-01"))
    assert response.status_code == 200
    assert "This is before the conference starts (2016-06-19)" in response.content.decode()
    assert not Day.objects.exists()
    added = staff_client.post("/admin/talks/day/add/", day_form(conference))
    assert added.status_code == 302 and Day.objects.get().date == dt.date(2016, 6, 21)


def test_a_day_already_dated_before_the_start_can_still_be_edited(staff_client, conference):
    early = Day.objects.create(
        conference=conference, number=2, title="Day 2", slug="day-2", date=dt.date(2010, 1, 1)
    )
    url = f"/admin/talks/day/{early.pk}/change/"
    response = staff_client.post(url, day_form(conference, date="2010-01-01", title="Day two"))
    assert response.status_code == 302
    early.refresh_from_db()
    assert early.title == "Day two"


def test_a_start_moved_after_a_day_is_refused(staff_client, conference):
    Day.objects.create(
        conference=conference, number=1, title="Day 1", slug="day-1", date=dt.date(2016, 6, 20)
    )
    url = f"/admin/talks/conference/{conference.pk}/change/"
    moved = staff_client.post(url, conference_form(conference, starts_on="2030-01-01"))
    assert moved.status_code == 200
    assert "Day 1 (“Day 1”) is dated 2016-06-20, before this start" in moved.content.decode()
    conference.refresh_from_db()
    assert conference.starts_on == START
    earlier = staff_client.post(url, conference_form(conference, starts_on="2016-06-01"))
    assert earlier.status_code == 302
