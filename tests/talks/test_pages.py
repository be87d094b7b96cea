"""Every reader page: status, key content, and constant query counts on the day page."""

import pytest
from django.urls import reverse

from talks.models import Day, Highlight

pytestmark = pytest.mark.django_db

DAY_URL = "/c/dockercon-2016/day-1/"


def test_it_shows_an_empty_home_page_that_says_what_to_do(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"There are no notes yet" in response.content
    assert b"load_demo" in response.content


def test_it_lists_conferences_and_latest_days_on_home(client, demo_day):
    response = client.get("/")
    assert response.status_code == 200
    assert b"DockerCon 2016" in response.content
    assert DAY_URL.encode() in response.content


def test_it_shows_a_conference_page(client, demo_day):
    response = client.get("/c/dockercon-2016/")
    assert response.status_code == 200
    assert b"DockerCon 2016 Highlights Day 1" in response.content
    assert b"4 talks" in response.content


def test_it_shows_the_day_with_summary_talks_and_sign_off(client, demo_day):
    response = client.get(DAY_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Summary") < html.index("Keynote highlights")
    positions = [
        html.index(title)
        for title in (
            'id="talk-keynote"',
            'id="talk-the-golden-ticket"',
            'id="talk-docker-for-developers"',
            'id="talk-immutable-infrastructure"',
        )
    ]
    assert positions == sorted(positions)
    assert "Ryan Walls" in html and "Software Engineering Manager at 3DSIM" in html
    assert "DockerCon 2016 Highlights Day 2" in html and "(not written yet)" in html
    assert 'href="http://dockercon2016.sched.org/event/70Ni"' in html


def test_it_gives_every_highlight_an_anchor(client, demo_day):
    html = client.get(DAY_URL).content.decode()
    for pk in Highlight.objects.filter(talk__day=demo_day).values_list("pk", flat=True):
        assert f'id="h{pk}"' in html
        assert f'href="#h{pk}"' in html


def test_it_shows_snippets_highlighted_with_copy_buttons(client, demo_day):
    html = client.get(DAY_URL).content.decode()
    assert html.count('class="snippet-line"') == 6
    assert 'data-copy="docker service scale vote=6"' in html
    assert '<span class="o">=</span>' in html or 'class="nv"' in html  # Pygments spans
    snippet_index = html.index("Example commands with new built-in orchestration")
    assert snippet_index < html.index("docker service ls") < html.index("Docker for AWS")


def test_it_nests_highlights_as_lists(client, demo_day):
    html = client.get(DAY_URL).content.decode()
    swarm = html.index("Swarm mode. Self forming")
    # Three levels: Success > Docker 1.12 > Swarm mode, each a nested <ul>.
    assert html[:swarm].count('<ul class="notes">') - html[:swarm].count("</ul>") >= 3


def test_it_links_the_next_day_once_it_exists(client, demo_day):
    Day.objects.create(
        conference=demo_day.conference, number=2, title="DockerCon 2016 Highlights Day 2"
    )
    html = client.get(DAY_URL).content.decode()
    assert 'href="/c/dockercon-2016/day-2/"' in html
    assert "(not written yet)" not in html
    day2 = client.get("/c/dockercon-2016/day-2/").content.decode()
    assert 'rel="prev" href="/c/dockercon-2016/day-1/"' in day2
    assert "No talks written for this day yet" in day2


def test_it_shows_a_talk_permalink(client, demo_day):
    response = client.get(DAY_URL + "the-golden-ticket/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "The Golden Ticket: Docker and High Security Microservices" in html
    assert "Pitfalls of seccomp:" in html
    assert "Keynote highlights" not in html


def test_it_shows_tags(client, demo_day):
    response = client.get(reverse("talks:tag_list"))
    assert response.status_code == 200
    assert b"#security" in response.content
    response = client.get(reverse("talks:tag", args=["security"]))
    assert response.status_code == 200
    assert b"The Golden Ticket" in response.content
    assert b"Secure node to node communication." in response.content


@pytest.mark.parametrize(
    "url",
    [
        "/c/nope/",
        "/c/dockercon-2016/day-9/",
        "/c/dockercon-2016/day-1/no-such-talk/",
        "/tags/nope/",
        "/nothing-here/",
    ],
)
def test_it_gives_helpful_404s(client, demo_day, url):
    response = client.get(url)
    assert response.status_code == 404
    assert b"Nothing here" in response.content
    assert b'href="/"' in response.content


def test_it_serves_htmx_from_the_package_not_a_cdn(client, demo_day):
    html = client.get(DAY_URL).content.decode()
    assert 'src="/static/django_htmx/htmx-2.min.js"' in html
    assert "unpkg.com" not in html and "cdn" not in html.lower()


def _day_queries(client, django_assert_max_num_queries, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def test_it_uses_the_same_number_of_queries_for_a_small_and_a_huge_day(
    client, demo_day, big_day, django_assert_num_queries
):
    small = _day_queries(client, None, DAY_URL)
    with django_assert_num_queries(small):
        response = client.get(big_day.get_absolute_url())
    assert response.status_code == 200
    assert response.content.decode().count('class="note ') == 2000
