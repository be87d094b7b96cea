"""The follow-ups page's filters: the chosen state and conference are the current items of
their lists (aria-current="true"); no filter link claims to be the page itself."""

import re

import pytest

from talks.models import Conference, Day, Highlight, Talk

pytestmark = pytest.mark.django_db


@pytest.fixture
def question(db) -> Highlight:
    conference = Conference.objects.create(name="DockerCon 2016", slug="dockercon-2016")
    day = Day.objects.create(conference=conference, number=1, title="Day 1", slug="day-1")
    talk = Talk.objects.create(day=day, title="Docker for Developers", slug="dev")
    return Highlight.objects.create(talk=talk, text="Which APIs exist?", kind="question")


def _current(html: str) -> list[tuple[str, str]]:
    """(aria-current value, text) of every element that has one."""
    found = re.findall(r'<(?:a|span)\b[^>]*aria-current="([^"]+)"[^>]*>(.*?)</(?:a|span)>', html)
    return [(value, re.sub(r"<[^>]+>", "", text)) for value, text in found]


@pytest.mark.parametrize("url", ["/follow-ups/", "/follow-ups/?state=open"])
def test_it_marks_the_chosen_filters_as_current_items_not_pages(client, question, url):
    html = client.get(url).content.decode()
    assert _current(html) == [
        ("page", "Follow-ups"),  # the breadcrumb says which page this is
        ("true", "Open (1)"),
        ("true", "All conferences"),
    ]
    assert html.count('aria-current="page"') == 1
    assert '<ul class="tabs" aria-label="By state">' in html
    assert '<ul class="tabs" aria-label="By conference">' in html


def test_it_moves_the_current_items_with_the_filters(client, question):
    html = client.get("/follow-ups/dockercon-2016/?state=resolved").content.decode()
    assert _current(html) == [
        ("page", "DockerCon 2016"),
        ("true", "Resolved (0)"),
        ("true", "DockerCon 2016 (1 open)"),
    ]
