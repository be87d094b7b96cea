"""The Atom feed of days, and how feed readers find it."""

from __future__ import annotations

from xml.etree import ElementTree


def parse(content: bytes) -> ElementTree.Element:
    return ElementTree.fromstring(content)  # noqa: S314 - our own feed, not untrusted data


ATOM = "{http://www.w3.org/2005/Atom}"


def test_it_serves_an_atom_feed_of_days(client, demo_day):
    response = client.get("/feeds/days.atom")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = parse(response.content)
    assert feed.find(f"{ATOM}title").text == "Confnotes: latest days of notes"
    entries = feed.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}title").text for e in entries] == ["DockerCon 2016 Highlights Day 1"]
    entry = entries[0]
    assert entry.find(f"{ATOM}link").get("href") == "http://testserver/c/dockercon-2016/day-1/"
    assert entry.find(f"{ATOM}author/{ATOM}name").text == "Ryan Walls"
    assert entry.find(f"{ATOM}published").text.startswith("2016-06-20")
    assert "Good first day" in entry.find(f"{ATOM}summary").text
    assert entry.find(f"{ATOM}category").get("term") == "DockerCon 2016"


def test_it_serves_a_feed_per_conference(client, demo_day):
    response = client.get("/c/dockercon-2016/days.atom")
    feed = parse(response.content)
    assert feed.find(f"{ATOM}title").text == "DockerCon 2016: days of notes (Confnotes)"
    assert len(feed.findall(f"{ATOM}entry")) == 1
    assert client.get("/c/nope/days.atom").status_code == 404


def test_it_serves_an_empty_feed_when_there_are_no_notes(client, db):
    feed = parse(client.get("/feeds/days.atom").content)
    assert feed.findall(f"{ATOM}entry") == []


def test_it_announces_the_feed_in_a_link_header_and_a_link_tag(client, demo_day):
    for url in ("/", "/c/dockercon-2016/day-1/"):
        response = client.get(url)
        assert response["Link"].endswith(
            '<http://testserver/feeds/days.atom>; rel="alternate"; '
            'type="application/atom+xml"; title="Latest days"'
        )
        assert (
            '<link rel="alternate" type="application/atom+xml" title="Confnotes: latest days" '
            'href="/feeds/days.atom">' in response.content.decode()
        )
    conference = client.get("/c/dockercon-2016/").content.decode()
    assert 'href="/c/dockercon-2016/days.atom"' in conference
