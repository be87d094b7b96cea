"""A talk's own page leads on: to the talk before and after it on its day, and back to the day,
in the same number of queries whatever the size of the day."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from talks.documents import save_day
from talks.models import Talk
from tests.factories import big_day_doc

pytestmark = pytest.mark.django_db

DAY_URL = "/c/dockercon-2016/day-1/"


def _nav(html: str) -> str:
    start = html.index('<nav class="day-nav" aria-label="Other talks">')
    return html[start : html.index("</nav>", start)]


def test_it_links_the_talks_before_and_after_and_the_day(client, demo_day):
    talks = list(Talk.objects.filter(day=demo_day).order_by("position", "id"))
    assert len(talks) >= 3
    middle = talks[1]
    nav = _nav(client.get(middle.get_absolute_url()).content.decode())
    assert f'<a rel="prev" href="{talks[0].get_absolute_url()}">← {talks[0].title}</a>' in nav
    assert f'<a rel="next" href="{talks[2].get_absolute_url()}">{talks[2].title} →</a>' in nav
    back = f'<a href="{DAY_URL}#{middle.anchor}">All talks of DockerCon 2016 Highlights Day 1</a>'
    assert back in nav


def test_it_says_where_the_day_begins_and_ends(client, demo_day):
    talks = list(Talk.objects.filter(day=demo_day).order_by("position", "id"))
    first = _nav(client.get(talks[0].get_absolute_url()).content.decode())
    assert "This is the day's first talk." in first and 'rel="prev"' not in first
    assert f'href="{talks[1].get_absolute_url()}"' in first
    last = _nav(client.get(talks[-1].get_absolute_url()).content.decode())
    assert "This is the day's last talk." in last and 'rel="next"' not in last
    assert f'href="{talks[-2].get_absolute_url()}"' in last


def test_it_follows_the_days_order_not_the_ids(client, demo_day):
    talks = list(Talk.objects.filter(day=demo_day).order_by("position", "id"))
    talks[0].position, talks[-1].position = talks[-1].position, talks[0].position
    Talk.objects.bulk_update([talks[0], talks[-1]], ["position"])
    nav = _nav(client.get(talks[-1].get_absolute_url()).content.decode())
    assert "This is the day's first talk." in nav
    assert f'<a rel="next" href="{talks[1].get_absolute_url()}">' in nav


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_it_finds_the_neighbours_in_one_query_whatever_the_size_of_the_day(
    client, big_day, django_assert_num_queries
):
    doc = big_day_doc(talks=3)
    doc.conference.slug, doc.conference.name = "small-conf", "Small Conf"
    small_day, _ = save_day(doc)
    # Talks of the same shape (notes, tags, no commands), on a day of 3 talks and of 200.
    small = Talk.objects.filter(day=small_day).order_by("position", "id")[1].get_absolute_url()
    huge = Talk.objects.filter(day=big_day).order_by("position", "id")[101].get_absolute_url()
    expected = _queries(client, small)
    assert expected == 7  # the day, the talk, its tags, notes, their tags, blocks; neighbours
    with django_assert_num_queries(expected) as captured:
        html = client.get(huge).content.decode()
    assert 'rel="prev"' in _nav(html) and 'rel="next"' in _nav(html)
    neighbours = [q["sql"] for q in captured.captured_queries if '"talks_talk"."title"' in q["sql"]]
    assert len(neighbours) == 2  # the talk itself, and the day's titles for its neighbours
