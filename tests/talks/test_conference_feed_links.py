"""A conference's pages announce its own feed, in HTML and in a Link header, beside the feed
of all days (README: "one per conference, announced with <link rel="alternate"> and a Link:
header")."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

ALL_DAYS = (
    '<http://testserver/feeds/days.atom>; rel="alternate"; type="application/atom+xml"; '
    'title="Latest days"'
)
CONFERENCE = (
    '<http://testserver/c/dockercon-2016/days.atom>; rel="alternate"; '
    'type="application/atom+xml"; title="Days of this conference"'
)
LINK_TAG = (
    '<link rel="alternate" type="application/atom+xml" title="DockerCon 2016: days" '
    'href="/c/dockercon-2016/days.atom">'
)


@pytest.mark.parametrize("url", ["/c/dockercon-2016/", "/c/dockercon-2016/day-1/"])
def test_it_announces_the_conference_feed_and_the_feed_of_all_days(client, demo_day, url):
    response = client.get(url)
    assert response["Link"] == f"{CONFERENCE}, {ALL_DAYS}"
    html = response.content.decode()
    assert LINK_TAG in html
    assert 'href="/feeds/days.atom">' in html


def test_it_keeps_the_header_on_a_day_page_served_from_the_cache(demo_day):
    reader = Client()  # no session cookie: DayPageCacheMiddleware serves the second time
    reader.get("/c/dockercon-2016/day-1/")
    again = reader.get("/c/dockercon-2016/day-1/")
    assert again["Link"] == f"{CONFERENCE}, {ALL_DAYS}"


def test_it_announces_only_the_feed_of_all_days_elsewhere(client, demo_day):
    assert client.get("/")["Link"] == ALL_DAYS


def test_it_announces_no_feed_of_a_conference_that_does_not_exist(client, demo_day):
    response = client.get("/c/nope/day-1/")
    assert response.status_code == 404
    assert "nope/days.atom" not in response.get("Link", "")
