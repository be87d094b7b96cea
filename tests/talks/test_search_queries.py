"""Search: ranking, phrases, prefixes, accents, paging and excerpts, each on notes of its own, on
whichever engine the database has (SQLite FTS5 by default, PostgreSQL with DATABASE_URL)."""

import html
import string

import pytest
from django.db import connection
from django.utils.html import strip_tags
from hypothesis import example, given, settings
from hypothesis import strategies as st

from talks.documents import HighlightDoc, SnippetDoc, TalkDoc
from talks.models import Talk
from talks.search import (
    Kind,
    _word_spans,
    excerpt,
    index_text,
    match_spans,
    parse_query,
    search,
)
from tests.talks.search_helpers import day_of as _day
from tests.talks.search_helpers import texts as _texts

pytestmark = pytest.mark.django_db


def test_it_ranks_a_title_match_above_a_body_match(db):
    _day(
        TalkDoc(title="Other things", highlights=[HighlightDoc("We talked about overlay, a lot")]),
        TalkDoc(title="Overlay networks", highlights=[HighlightDoc("Nothing to see")]),
    )
    results = search("overlay")
    assert [hit.kind for hit in results.hits] == [Kind.TALK, Kind.HIGHLIGHT]
    assert results.hits[0].url.endswith("#talk-overlay-networks")


def test_it_ranks_a_group_heading_above_a_bullet(db):
    _day(
        TalkDoc(
            title="Security",
            highlights=[
                HighlightDoc("Use TLS for all the traffic between nodes"),
                HighlightDoc("Traffic", style="heading", children=[HighlightDoc("Encrypt")]),
            ],
        )
    )
    assert _texts(search("traffic"))[0].startswith("Traffic")


def test_it_matches_quoted_phrases_in_order(db):
    _day(
        TalkDoc(
            title="Updates",
            highlights=[
                HighlightDoc("Rolling updates are built in"),
                HighlightDoc("Updates keep rolling in"),
            ],
        )
    )
    assert _texts(search('"rolling updates"')) == ["Rolling updates are built in"]
    assert len(search("rolling updates").hits) == 2


def test_it_ignores_case_and_accents(db):
    _day(TalkDoc(title="Déploiement", highlights=[HighlightDoc("Réseau SÉCURISÉ à Zürich")]))
    assert _texts(search("reseau securise zurich")) == ["Réseau SÉCURISÉ à Zürich"]
    assert _texts(search("RÉSEAU")) == ["Réseau SÉCURISÉ à Zürich"]
    assert [h.kind for h in search("deploiement").hits] == [Kind.TALK]
    assert "<mark>Zürich</mark>" in str(search("zuri").hits[0].heading)


def test_it_reads_queries_the_way_it_says():
    assert parse_query('say "swarm mode" --update-parallelism').terms == (
        parse_query("say").terms[0],
        parse_query('"swarm mode"').terms[0],
        parse_query("--update-parallelism").terms[0],
    )
    phrase = parse_query('"swarm mode"').terms[0]
    assert (phrase.words, phrase.prefix) == (("swarm", "mode"), False)
    typed = parse_query('"swarm mo').terms[0]
    assert (typed.words, typed.prefix) == (("swarm", "mo"), True)
    assert parse_query("a").terms[0].prefix is False  # one letter would match too much
    assert parse_query("swarm swarm SWARM").terms == parse_query("swarm").terms
    assert parse_query("NEAR AND").terms[0].words == ("near",)
    long = parse_query("word " * 100)
    assert long.shortened and len(long.text) == 200
    assert not long.long_words
    # A word no note can hold is left out, and the query says so (the page explains it).
    overlong = parse_query("a" * 500)
    assert overlong.long_words and not overlong.terms
    assert not overlong.shortened  # the cut only took part of a word no note holds
    mixed = parse_query("swarm " + "b" * 101)
    assert mixed.long_words and [t.words for t in mixed.terms] == [("swarm",)]
    assert mixed.text == "swarm"  # the words searched
    assert parse_query("swarm " + "b" * 500 + " tls").shortened  # "tls" is past the cut
    assert not parse_query("c" * 100).long_words  # 100 letters is still a word
    many = parse_query(" ".join(f"w{i}" for i in range(20)))
    assert many.shortened and len(many.terms) == 8


def test_it_pages_through_many_results(db):
    _day(TalkDoc(title="Many", highlights=[HighlightDoc(f"kernel note {i}") for i in range(25)]))
    first = search("kernel", per_page=10)
    third = search("kernel", per_page=10, page=3)
    assert (len(first.hits), first.has_next) == (10, True)
    assert (len(third.hits), third.has_next, third.first_number) == (5, False, 21)
    assert not {h.url for h in first.hits} & {h.url for h in third.hits}
    assert search("kernel", page=9).hits == []


def test_it_ranks_only_the_newest_matches_of_a_very_common_word_on_sqlite(db, monkeypatch):
    _day(TalkDoc(title="Kernel tuning", highlights=[HighlightDoc("Old: kernel")]), slug="old")
    _day(TalkDoc(title="New", highlights=[HighlightDoc(f"kernel {i}") for i in range(5)]))
    monkeypatch.setattr("talks.search.RANK_WINDOW", 3)
    results = search("kernel")
    hits = results.hits
    assert hits[0].kind == Kind.TALK  # a title match is always ranked, however old
    if connection.vendor == "sqlite":
        assert {strip_tags(h.heading) for h in hits[1:]} == {"kernel 2", "kernel 3", "kernel 4"}
        assert results.capped
        assert not search("tuning").capped  # two matches: all ranked
    else:  # PostgreSQL ranks every match: reading them costs more than ranking them
        assert len(hits) == 7 and not results.capped


def test_it_marks_words_in_a_short_excerpt_around_the_best_match():
    query = parse_query("needle")
    text = ("hay " * 100) + "a needle <b>here</b> " + ("straw " * 100)
    result = str(excerpt(text, query, width=80))
    assert result.startswith("…") and result.endswith("…")
    assert "<mark>needle</mark> &lt;b&gt;here&lt;/b&gt;" in result
    assert len(html.unescape(strip_tags(result))) <= 82
    assert str(excerpt("no match at all, " * 30, query, width=40)).endswith("…")
    assert str(excerpt("<i>", query)) == "&lt;i&gt;"


def test_it_marks_a_phrase_only_where_the_words_follow_each_other():
    query = parse_query('"rolling update"')
    result = str(excerpt("rolling, then update; a rolling update", query, width=None))
    assert result == "rolling, then update; a <mark>rolling update</mark>"


@settings(max_examples=500, deadline=None)
@given(
    text=st.text(alphabet='abAB1 -_:/\n"*', max_size=40),
    typed=st.text(alphabet='abB1 -:"*', max_size=12),
)
def test_it_marks_ascii_text_quickly_and_the_same_way(text, typed):
    query = parse_query(typed)
    assert match_spans(text, query) == match_spans(text + " é", query)  # the word-by-word way


def test_it_indexes_snippet_captions_as_titles(db):
    _day(
        TalkDoc(
            title="Demo",
            snippets=[
                SnippetDoc(lines=["docker node ls"], caption="Inspecting nodes"),
                SnippetDoc(lines=["docker node inspect self --pretty"]),
            ],
        )
    )
    hits = search("inspecting").hits
    assert [str(h.heading) for h in hits] == ["<mark>Inspecting</mark> nodes"]
    assert Talk.objects.count() == 1


@example(text="e", typed='"e e e e"')  # a phrase longer than the text
@settings(max_examples=500, deadline=None)
@given(
    text=st.text(alphabet="aäAÄeéÉ ﬁ½-:", max_size=40),
    typed=st.text(alphabet='aäAeéﬁ½ -"', max_size=12),
)
def test_it_marks_folded_words_wherever_a_term_matches(text, typed):
    """Text of other scripts is marked word by word: every run of words that a term matches
    (the term's words in order, the last a prefix when the term is one), found by trying
    each place in turn, slowly but surely."""
    query, text = parse_query(typed), text + " é"  # not ASCII, whatever hypothesis draws
    spans = list(_word_spans(text))
    words = [word for _, _, word in spans]
    expected = []
    for term in query.terms:
        size = len(term.words)
        expected += [
            (spans[start][0], spans[start + size - 1][1])
            for start in range(len(words) - size + 1)
            if term.matches_at(words, start)
        ]
    merged = []
    for start, end in sorted(expected):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    assert match_spans(text, query) == merged


@given(st.text(alphabet=string.printable, max_size=60))
def test_the_ascii_shortcut_indexes_the_words_the_full_path_finds(text):
    assert index_text(text) == " ".join(word for _, _, word in _word_spans(text))
