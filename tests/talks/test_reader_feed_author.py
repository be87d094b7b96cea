"""The Atom feeds are valid with days that name no author: RFC 4287 (4.1.1) needs an author on
the feed or on every entry, so the feed has one, the site; a day's own author still names its
entry, and entry ids stay as subscribers know them."""

from xml.etree import ElementTree

import pytest

from talks.models import Conference, Day

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


def parse(content: bytes) -> ElementTree.Element:
    return ElementTree.fromstring(content)  # noqa: S314 - our own feed, not untrusted data


@pytest.fixture
def unsigned_day(demo_day) -> Day:
    """A second day of the demo conference whose notes name no author."""
    return Day.objects.create(
        conference=demo_day.conference, number=2, title="Day 2", slug="day-2", author=""
    )


@pytest.mark.parametrize("url", ["/feeds/days.atom", "/c/dockercon-2016/days.atom"])
def test_it_names_the_site_as_the_feeds_author(client, demo_day, unsigned_day, settings, url):
    settings.SITE_NAME = "Team Notes"
    feed = parse(client.get(url).content)
    assert [name.text for name in feed.findall(f"{ATOM}author/{ATOM}name")] == ["Team Notes"]
    authors = {
        entry.find(f"{ATOM}title").text: entry.find(f"{ATOM}author/{ATOM}name")
        for entry in feed.findall(f"{ATOM}entry")
    }
    assert authors["DockerCon 2016 Highlights Day 1"].text == "Ryan Walls"
    assert authors["Day 2"] is None  # the feed's author stands for it


def test_it_names_an_author_in_an_empty_feed_too(client, db):
    Conference.objects.create(name="Quiet Conf", slug="quiet")
    for url in ("/feeds/days.atom", "/c/quiet/days.atom"):
        feed = parse(client.get(url).content)
        assert feed.find(f"{ATOM}author/{ATOM}name").text == "Confnotes"


def test_it_keeps_the_entry_ids_subscribers_know(client, demo_day, unsigned_day):
    feed = parse(client.get("/feeds/days.atom").content)
    ids = sorted(entry.find(f"{ATOM}id").text for entry in feed.findall(f"{ATOM}entry"))
    assert ids == sorted([f"confnotes:day:{demo_day.pk}", f"confnotes:day:{unsigned_day.pk}"])
