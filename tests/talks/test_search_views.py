"""The search page: the box on every page, results, empty states, htmx partials, query counts."""

import re

import pytest

from talks.documents import ConferenceDoc, DayDoc, HighlightDoc, TalkDoc, save_day
from talks.models import Highlight
from tests.talks.search_helpers import demo_day_once_per_module  # noqa: F401 (the demo_day fixture)

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true", "HX-Target": "search-results"}
POPOVER = {"HX-Request": "true", "HX-Target": "search-popover"}


def test_it_puts_a_labelled_search_box_on_every_page(client, demo_day):
    for url in ["/", "/tags/", "/c/dockercon-2016/day-1/", "/follow-ups/"]:
        html = client.get(url).content.decode()
        form = '<form class="search-box" role="search" method="get" action="/search/">'
        box = re.search(re.escape(form) + ".*?</form>", html, re.S)
        assert box, url
        assert '<label class="visually-hidden" for="site-search">Search the notes</label>' in box[0]
        assert '<input type="search" id="site-search" name="q"' in box[0]
        for attribute in [
            'hx-get="/search/"',
            'hx-trigger="input changed delay:300ms, search"',
            'hx-target="#search-popover"',
        ]:
            assert attribute in box[0]
        assert "hx-push-url" not in box[0]  # a glance under the box keeps the page's address
        assert '<div id="search-popover"' in html
        assert '<a href="/follow-ups/">Follow-ups</a>' in html


def test_it_offers_search_on_the_not_found_page(client, demo_day):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert html.count('role="search"') == 2  # the header's and one in the page
    assert 'for="not-found-search"' in html and 'id="not-found-search"' in html


def test_it_shows_results_with_marked_words_and_links_to_anchors(client, demo_day):
    response = client.get("/search/", {"q": "seccomp"})
    assert response.status_code == 200
    html = response.content.decode()
    note = Highlight.objects.get(text="Default seccomp filter permits 304 calls.")
    assert f'href="/c/dockercon-2016/day-1/#h{note.pk}"' in html
    assert "Default <mark>seccomp</mark> filter permits 304 calls." in html
    assert "3 results for <strong>seccomp</strong>" in html
    assert 'value="seccomp"' in html  # the box keeps the words
    assert "<title>seccomp · Search · Confnotes</title>" in html
    assert 'id="site-search"' not in html  # one box on the search page: its own


def test_it_explains_what_to_type_when_there_is_nothing_to_search(client, demo_day):
    empty = client.get("/search/").content.decode()
    assert "Type a word or two to search talks, notes, commands and day summaries." in empty
    assert 'href="/search/?q=--update-parallelism"' in empty
    nonsense = client.get("/search/", {"q": '*** -- ""'}).content.decode()
    assert "has no words to look for" in nonsense


def test_it_says_when_nothing_matches(client, demo_day):
    html = client.get("/search/", {"q": "kubernetes"}).content.decode()
    assert "Nothing matches <strong>kubernetes</strong>." in html
    filtered = client.get("/search/", {"q": "kubernetes", "tag": "security"}).content.decode()
    assert "with these filters" in filtered
    assert 'href="/search/?q=kubernetes">all conferences, days and tags</a>' in filtered


def test_it_drops_filters_that_do_not_exist_with_a_note(client, demo_day):
    response = client.get("/search/", {"q": "seccomp", "conference": "nope", "day": "x"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "There is no such conference (any more), so all conferences are searched." in html
    assert "There is no such day (any more), so all days are searched." in html
    assert "3 results" in html


def test_it_filters_results(client, demo_day):
    html = client.get("/search/", {"q": "tls", "tag": "networking"}).content.decode()
    assert "2 results for <strong>tls</strong> (filtered)" in html
    assert '<option value="networking" selected>networking</option>' in html
    day = client.get("/search/", {"q": "tls", "day": demo_day.pk}).content.decode()
    assert "2 results" in day


def test_it_answers_htmx_with_the_results_only(client, demo_day):
    response = client.get("/search/", {"q": "seccomp"}, headers=HTMX)
    html = response.content.decode()
    assert "<html" not in html and "<form" not in html
    assert "3 results for <strong>seccomp</strong>" in html
    assert "HX-Request" in response["Vary"]


def test_it_answers_a_history_restore_with_the_whole_page(client, demo_day):
    headers = {**HTMX, "HX-History-Restore-Request": "true"}
    html = client.get("/search/", {"q": "seccomp"}, headers=headers).content.decode()
    assert "<html" in html and "3 results" in html


def test_it_gives_the_header_box_a_short_list(client, demo_day):
    response = client.get("/search/", {"q": "docker"}, headers=POPOVER)
    html = response.content.decode()
    assert html.count('class="search-hit ') == 6
    assert 'href="/search/?q=docker">All results for “docker” →</a>' in html
    assert client.get("/search/", {"q": ""}, headers=POPOVER).content.strip() == b""


def test_it_links_to_the_next_results(client, demo_day):  # "cgroup" is not in the demo
    notes = [HighlightDoc(f"Cgroup note number {i}") for i in range(25)]
    save_day(DayDoc(ConferenceDoc("Conf"), 1, "Day", talks=[TalkDoc("T", highlights=notes)]))
    first = client.get("/search/", {"q": "cgroup"}).content.decode()
    assert "Results 1–20 for <strong>cgroup</strong>" in first
    assert first.count('class="search-hit ') == 20
    assert 'href="?q=cgroup&amp;page=2" hx-get="?q=cgroup&amp;page=2"' in first
    second = client.get("/search/", {"q": "cgroup", "page": "2"}).content.decode()
    assert "Results 21–25" in second and '<ol class="search-hits" start="21">' in second
    assert "Next results" not in second
    wrong_page = client.get("/search/", {"q": "cgroup", "page": "x"}).content.decode()
    assert "Results 1–20" in wrong_page


def test_it_pins_the_queries_of_the_search_page(client, demo_day, django_assert_num_queries):
    # The index, then the highlights, talks, snippets and days found, in one query, and the
    # snippets' lines; the filter choices (conferences, days, tags) for the full page only.
    with django_assert_num_queries(1 + 2 + 3):
        html = client.get("/search/", {"q": "docker"}).content.decode()
    assert "<mark>docker</mark> service" in html and "Commands" in html
    assert {"Talk", "Note", "Commands", "Day"} <= set(
        re.findall(r">(Talk|Note|Commands|Day)<", html)
    )
    with django_assert_num_queries(1 + 2):
        client.get("/search/", {"q": "docker"}, headers=HTMX)
    with django_assert_num_queries(3):  # nothing to search: the filter choices only
        client.get("/search/")
    with django_assert_num_queries(1 + 1 + 1):  # a tag to check, the index, the notes
        client.get("/search/", {"q": "seccomp", "tag": "security"}, headers=HTMX)


def test_it_says_when_only_the_newest_matches_of_a_common_word_are_shown(
    client, demo_day, monkeypatch
):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL ranks every match")
    note = "add a word to find older ones"
    assert note not in client.get("/search/", {"q": "docker"}).content.decode()
    monkeypatch.setattr("talks.search.RANK_WINDOW", 2)
    assert note in client.get("/search/", {"q": "docker"}).content.decode()
