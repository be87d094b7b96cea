"""A search filter that no longer exists is dropped with a notice, and its select is not
marked invalid: it shows the valid choice searched instead."""

import re

import pytest

from tests.talks.search_helpers import demo_day_once_per_module  # noqa: F401 (the demo_day fixture)

pytestmark = pytest.mark.django_db


def _select(html: str, name: str) -> str:
    return re.search(rf'<select name="{name}"[^>]*>.*?</select>', html, re.S).group(0)


def test_it_does_not_mark_a_dropped_filter_invalid(client, demo_day):
    params = {"q": "docker", "tag": "999999", "day": "xyz", "conference": "nope"}
    html = client.get("/search/", params).content.decode()
    assert "There is no such tag (any more), so all tags are searched." in html
    assert "There is no such day (any more), so all days are searched." in html
    assert "aria-invalid" not in html
    assert "_error" not in html  # no aria-describedby naming an error that is not on the page
    assert '<option value="" selected>Any tag</option>' in _select(html, "tag")
    assert '<option value="" selected>All days</option>' in _select(html, "day")
    assert "15 results for <strong>docker</strong>" in html


def test_it_keeps_the_notice_in_the_htmx_answer(client, demo_day):
    headers = {"HX-Request": "true", "HX-Target": "search-results"}
    html = client.get("/search/", {"q": "docker", "tag": "999999"}, headers=headers)
    text = html.content.decode()
    assert "There is no such tag (any more), so all tags are searched." in text


def test_it_keeps_a_filter_that_exists(client, demo_day):
    html = client.get("/search/", {"q": "seccomp", "tag": "security"}).content.decode()
    assert '<option value="security" selected>' in _select(html, "tag")
    assert "There is no such" not in html
