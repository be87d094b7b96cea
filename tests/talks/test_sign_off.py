"""The day's sign-off keeps the author's words and links the next day once it is written."""

import re

import pytest

from talks.models import Day

pytestmark = pytest.mark.django_db

DAY_URL = "/c/dockercon-2016/day-1/"


def _sign_off(html: str) -> str:
    footer = re.search(r'<footer class="sign-off">(.*?)</footer>', html, re.S).group(1)
    return " ".join(re.sub(r"<[^>]+>", "", footer).split())


def test_it_keeps_the_authors_words_before_the_next_day_is_written(client, demo_day):
    text = _sign_off(client.get(DAY_URL).content.decode())
    assert text.startswith(
        "See my day 2 notes here: DockerCon 2016 Highlights Day 2 (not written yet)"
    )
    assert "next day's" not in text


def test_it_keeps_the_authors_words_and_links_the_next_day(client, demo_day):
    Day.objects.create(
        conference=demo_day.conference, number=2, title="DockerCon 2016 Highlights Day 2"
    )
    html = client.get(DAY_URL).content.decode()
    assert _sign_off(html).startswith("See my day 2 notes here: DockerCon 2016 Highlights Day 2 ")
    assert '<a href="/c/dockercon-2016/day-2/">DockerCon 2016 Highlights Day 2</a>' in html
    assert "(not written yet)" not in _sign_off(html)


def test_it_says_what_the_export_says(client, demo_day):
    markdown = client.get(DAY_URL + "export.md").content.decode()
    assert "See my day 2 notes here: DockerCon 2016 Highlights Day 2" in markdown
