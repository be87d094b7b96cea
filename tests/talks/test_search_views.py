"""The search page: the box on every page, results, empty states, htmx partials, query counts."""

import re

import pytest

from talks.documents import ConferenceDoc, DayDoc, HighlightDoc, TalkDoc, save_day
from talks.models import Conference, Highlight
from talks.search import parse_query
from talks.views_search import day_label
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
    assert html.count('role="search"') == 1  # one search landmark: the box in the page
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


def test_filters_without_words_point_to_the_pages_that_list_what_they_hold(client, demo_day):
    html = client.get("/search/", {"tag": "security", "day": demo_day.pk}).content.decode()
    assert "day summaries within the filters chosen." in html
    assert 'Or read <a href="/tags/security/">everything tagged “security”</a> or ' in html
    assert f'<a href="/c/dockercon-2016/day-1/">{day_label(demo_day)}</a>.' in html
    html = client.get("/search/", {"conference": "dockercon-2016"}).content.decode()
    assert 'Or read <a href="/c/dockercon-2016/">DockerCon 2016</a>.' in html
    assert "Or read" not in client.get("/search/").content.decode()


def test_a_nul_in_the_words_separates_them_as_a_space_does(client, demo_day):
    html = client.get("/search/", {"q": "seccomp\x00filter"}).content.decode()
    assert "Default <mark>seccomp</mark> <mark>filter</mark> permits 304 calls." in html
    assert "\x00" not in html


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
    # The day's title names its conference already: it is not said twice.
    assert f'<option value="{demo_day.pk}" selected>DockerCon 2016 Highlights Day 1</option>' in day


def test_it_says_when_the_day_chosen_is_not_in_the_conference_chosen(client, demo_day):
    Conference.objects.create(name="KubeCon 2017", slug="kubecon-2017")
    params = {"q": "swarm", "conference": "kubecon-2017", "day": demo_day.pk}
    html = client.get("/search/", params).content.decode()
    assert "Nothing matches <strong>swarm</strong> with these filters" in html
    assert (
        "DockerCon 2016 Highlights Day 1 is not a day of KubeCon 2017, so nothing can match "
        "both: choose all days, or one of KubeCon 2017."
    ) in html
    agreeing = client.get("/search/", params | {"conference": "dockercon-2016"})
    assert "is not a day of" not in agreeing.content.decode()


def test_it_lets_the_keyboard_scroll_matching_commands(client, demo_day):
    html = client.get("/search/", {"q": "vote=6"}).content.decode()
    assert (
        '<pre class="search-excerpt" tabindex="0" role="group" aria-label="Matching commands: '
        in html
    )


def test_it_answers_htmx_with_the_results_only(client, demo_day):
    response = client.get("/search/", {"q": "seccomp"}, headers=HTMX)
    html = response.content.decode()
    assert "<html" not in html and "<form" not in html
    assert "3 results for <strong>seccomp</strong>" in html
    assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize(
    ("before", "now", "how"),
    [
        ("/search/", {"q": "o"}, "HX-Replace-Url"),  # the first letters typed in an empty box
        ("/search/?q=orch", {"q": "orchestration"}, "HX-Replace-Url"),  # typed on
        ("/search/?q=orchestration", {"q": "Orch"}, "HX-Replace-Url"),  # taken back
        ("/search/?q=swarm&tag=security", {"q": "swarm mode", "tag": "security"}, "HX-Replace-Url"),
        ("/search/?q=swarm", {"q": "docker"}, "HX-Push-Url"),  # other words
        ("/search/?q=swarm", {}, "HX-Push-Url"),  # emptied: words typed next replace it
        ("/search/?q=swarm", {"q": "swarm", "tag": "security"}, "HX-Push-Url"),  # a filter
        ("/search/?q=swarm&page=2", {"q": "swarm"}, "HX-Push-Url"),  # another page
        ("/c/dockercon-2016/day-1/?q=swarm", {"q": "swarm"}, "HX-Push-Url"),  # another page
    ],
)
def test_typing_on_replaces_the_address_and_a_new_search_adds_one(
    client, demo_day, before, now, how
):
    """Back leaves a search, not every pause in its typing (a slow typist paused after each
    letter and had an entry for each)."""
    headers = {**HTMX, "HX-Current-URL": f"http://testserver{before}"}
    response = client.get("/search/", now, headers=headers)
    assert response.status_code == 200
    (other,) = {"HX-Replace-Url", "HX-Push-Url"} - {how}
    assert other not in response
    assert response[how] == response.wsgi_request.get_full_path()
    assert "HX-Current-URL" in response["Vary"]


def test_the_header_box_and_history_restores_leave_the_address_alone(client, demo_day):
    popover = client.get("/search/", {"q": "docker"}, headers=POPOVER)
    restore = {**HTMX, "HX-History-Restore-Request": "true"}
    restored = client.get("/search/", {"q": "docker"}, headers=restore)
    for response in (popover, restored):
        assert "HX-Push-Url" not in response and "HX-Replace-Url" not in response


def test_it_answers_a_history_restore_with_the_whole_page(client, demo_day):
    headers = {**HTMX, "HX-History-Restore-Request": "true"}
    html = client.get("/search/", {"q": "seccomp"}, headers=headers).content.decode()
    assert "<html" in html and "3 results" in html


def test_it_gives_the_header_box_a_short_list(client, demo_day):
    response = client.get("/search/", {"q": "docker"}, headers=POPOVER)
    html = response.content.decode()
    assert html.count('class="search-hit ') == 6
    assert 'href="/search/?q=docker">All results for “docker” →</a>' in html
    # An emptied box empties the popover and its status, so the same words typed again are
    # announced again.
    emptied = client.get("/search/", {"q": ""}, headers=POPOVER).content.decode().strip()
    assert re.fullmatch(
        r'<div id="search-popover-status" hx-swap-oob="innerHTML">\s*</div>', emptied
    )


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


def test_it_announces_only_the_count_not_the_list(client, demo_day):
    html = client.get("/search/", {"q": "seccomp"}).content.decode()
    assert "aria-live" not in html  # the list of results is not a live region
    status = re.search(r'<div id="search-status" role="status">(.*?)</div>', html, re.S)[1]
    assert "3 results for <strong>seccomp</strong>" in status and "<ol" not in status
    nothing = client.get("/search/", {"q": "kubernetes"}).content.decode()
    status = re.search(r'<div id="search-status" role="status">(.*?)</div>', nothing, re.S)[1]
    assert "Nothing matches <strong>kubernetes</strong>." in status and "Try fewer" not in status
    # htmx answers update the status where it stands (out of band), so it is announced.
    partial = client.get("/search/", {"q": "seccomp"}, headers=HTMX).content.decode()
    oob = '<div id="search-status" hx-swap-oob="innerHTML">'
    assert oob in partial and "3 results" in partial.split(oob, 1)[1]
    assert "3 results" not in partial.split(oob, 1)[0]  # the list has no count of its own


def test_it_announces_the_header_boxs_count_beside_its_popover(client, demo_day):
    page = client.get("/tags/").content.decode()
    assert '<div id="search-popover" class="search-popover"></div>' in page
    assert '<div id="search-popover-status" class="visually-hidden" role="status"></div>' in page
    html = client.get("/search/", {"q": "seccomp"}, headers=POPOVER).content.decode()
    oob = '<div id="search-popover-status" hx-swap-oob="innerHTML">'
    assert oob in html and "3 results for <strong>seccomp</strong>" in html.split(oob, 1)[1]
    # Seen in the popover, but read once: from the status.
    assert re.search(r'<div aria-hidden="true">\s*<p class="search-summary">3 results', html)


def test_it_links_to_the_previous_results_and_keeps_no_empty_parameters(client, demo_day):
    notes = [HighlightDoc(f"Cgroup note number {i}") for i in range(25)]
    save_day(DayDoc(ConferenceDoc("Conf"), 1, "Day", talks=[TalkDoc("T", highlights=notes)]))
    params = {"q": "cgroup", "conference": "", "day": "", "tag": ""}
    first = client.get("/search/", params).content.decode()
    assert '<nav class="search-pager" aria-label="More results">' in first
    assert 'rel="next" href="?q=cgroup&amp;page=2" hx-get="?q=cgroup&amp;page=2"' in first
    assert 'rel="prev"' not in first
    second = client.get("/search/", {**params, "page": "2"}).content.decode()
    assert 'rel="prev" href="?q=cgroup" hx-get="?q=cgroup"' in second
    assert "Previous results" in second and "Next results" not in second
    partial = client.get("/search/", {"q": "cgroup", "page": "2"}, headers=HTMX).content.decode()
    assert "data-search-pager>← Previous results</a>" in partial  # site.js moves the focus
    # Past the last page, as for any page that does not exist: a notice, and the first page.
    beyond = client.get("/search/", {"q": "cgroup", "page": "3"}).content.decode()
    assert "There is no page 3 of results for this search; showing page 1." in beyond
    assert "Results 1–20 for <strong>cgroup</strong>" in beyond and "Nothing matches" not in beyond
    nothing = client.get("/search/", {"q": "zzzz", "page": "3"}).content.decode()
    assert "Nothing matches <strong>zzzz</strong>." in nothing


def test_it_offers_no_next_page_past_the_last_one_it_serves(client, demo_day, monkeypatch):
    monkeypatch.setattr("talks.views_search.PER_PAGE", 1)
    monkeypatch.setattr("talks.views_search.MAX_PAGE", 3)  # 50 in earnest: 15 results here
    html = client.get("/search/", {"q": "docker", "page": "3"}).content.decode()
    assert "Results 3–3" in html and "Next results" not in html
    assert 'rel="prev" href="?q=docker&amp;page=2"' in html


@pytest.mark.parametrize(
    ("page", "notice"),
    [
        ("51", "There is no page 51 (results stop at page 50); showing page 1."),
        ("0", "There is no page 0; showing page 1."),
        ("-1", "There is no page -1; showing page 1."),
        ("1e3", "There is no page “1e3”; showing page 1."),
        ("x", "There is no page “x”; showing page 1."),
        ("²", "There is no page “²”; showing page 1."),  # isdigit() but not for int()
    ],
)
def test_it_says_when_a_page_does_not_exist(client, demo_day, page, notice):
    response = client.get("/search/", {"q": "docker", "page": page})
    assert response.status_code == 200
    html = response.content.decode()
    assert notice in html
    assert "15 results for <strong>docker</strong>" in html  # page 1: all of them
    assert '<ol class="search-hits" start="1">' in html
    assert "There is no page" not in client.get("/search/", {"q": "docker"}).content.decode()


def test_it_explains_that_overlong_words_are_not_searched(client, demo_day):
    html = client.get("/search/", {"q": "a" * 500}).content.decode()
    assert "Words longer than 100 letters are not searched, and <strong>aaa" in html
    assert "has no words to look for" not in html
    mixed = client.get("/search/", {"q": "seccomp " + "b" * 500}).content.decode()
    # The results name the words searched, and no words were cut from a long search.
    assert "3 results for <strong>seccomp</strong>. Words longer than 100 letters are" in mixed
    assert "Only the first words" not in mixed


def test_it_says_that_one_letter_is_a_word_not_the_start_of_one(client, demo_day):
    html = client.get("/search/", {"q": "orchestrationzz k"}).content.decode()
    assert "Nothing matches <strong>orchestrationzz k</strong>" in html
    assert "A single letter is searched as a word of its own" in html
    assert parse_query("k").terms[0].prefix is False and parse_query("k").short_word
    assert not parse_query('"k"').short_word  # a quoted word is whole on purpose
    assert not parse_query("ku").short_word


def test_the_header_box_says_when_there_are_no_words_to_look_for(client, demo_day):
    html = client.get("/search/", {"q": "!!!"}, headers=POPOVER).content.decode()
    status = html.split('id="search-popover-status"')[1]
    assert "<strong>!!!</strong> has no words to look for" in status  # announced
    assert html.count("has no words to look for") == 2  # and shown in the popover


def test_a_long_search_makes_a_short_page_title(client, demo_day):
    words = "docker " * 80
    for headers in ({}, HTMX):
        html = client.get("/search/", {"q": words}, headers=headers).content.decode()
        title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
        assert len(title) < 100, title
