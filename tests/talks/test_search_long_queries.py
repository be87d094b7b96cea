"""A long search is cut: the page says so whether or not anything matches, and names the
search without a word cut in half."""

import pytest

from talks.search import MAX_QUERY_CHARS, MAX_TERMS
from tests.talks.search_helpers import demo_day_once_per_module  # noqa: F401 (the demo_day fixture)

pytestmark = pytest.mark.django_db

ONLY_FIRST_WORDS = "Only the first words of a long search are used."


def test_it_says_only_the_first_words_were_searched_when_nothing_matches(client, demo_day):
    many = " ".join(f"w{i}" for i in range(MAX_TERMS * 5))
    html = client.get("/search/", {"q": many}).content.decode()
    assert "Nothing matches <strong>w0 w1 w2" in html
    assert f"</strong>. {ONLY_FIRST_WORDS}" in html
    short = client.get("/search/", {"q": "kubernetes"}).content.decode()
    assert "Only the first words" not in short


def test_it_says_so_in_the_header_boxs_popover_too(client, demo_day):
    many = " ".join(f"zz{i}" for i in range(MAX_TERMS + 1))
    headers = {"HX-Request": "true", "HX-Target": "search-popover"}
    html = client.get("/search/", {"q": many}, headers=headers).content.decode()
    assert ONLY_FIRST_WORDS in html


def test_it_names_a_cut_search_without_half_a_word(client, demo_day):
    typed = "docker " * 40  # 280 characters: cut at 200, inside the 29th "docker"
    assert typed[MAX_QUERY_CHARS - 1 : MAX_QUERY_CHARS + 1].isalpha()
    html = client.get("/search/", {"q": typed}).content.decode()
    whole_words = " ".join(["docker"] * 28)
    assert f"for <strong>{whole_words}…</strong>. Only the first words" in html
    nothing = client.get("/search/", {"q": "kubernetes " * 30}).content.decode()
    assert "Nothing matches <strong>" + " ".join(["kubernetes"] * 18) + "…</strong>." in nothing


def test_it_names_a_search_cut_between_words_with_all_its_words(client, demo_day):
    typed = "a" * 99 + " " + "b" * 99 + " ccc"  # the cut falls just after the second word
    assert len(typed.split()[0] + " " + typed.split()[1]) == MAX_QUERY_CHARS - 1
    html = client.get("/search/", {"q": typed}).content.decode()
    assert f"<strong>{'a' * 99} {'b' * 99}…</strong>. {ONLY_FIRST_WORDS}" in html
