"""Search over the demo notes: what it finds, how it reads queries, filters, odd input. Runs on
whichever engine the database has (SQLite FTS5 by default, PostgreSQL with DATABASE_URL)."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from talks.documents import HighlightDoc, TalkDoc
from talks.models import Conference, Highlight, SnippetLine, Tag
from talks.search import Kind, search
from tests.talks.search_helpers import day_of as _day
from tests.talks.search_helpers import demo_day_once_per_module  # noqa: F401 (the demo_day fixture)
from tests.talks.search_helpers import texts as _texts

pytestmark = pytest.mark.django_db

DAY_URL = "/c/dockercon-2016/day-1/"

NASTY_QUERIES = [
    '"',
    '"""',
    '"unbalanced quote',
    'closed "and open',
    "*",
    "swarm*",
    "**swarm",
    "-",
    "--",
    "-swarm",
    ":",
    "title:swarm",
    "body:",
    "NEAR",
    "NEAR(swarm mode)",
    "swarm NEAR/2 mode",
    "AND OR NOT",
    "swarm OR",
    "(",
    ")",
    "^swarm",
    "'; DROP TABLE talks_search; --",
    "' OR 1=1 --",
    "1' UNION SELECT * FROM auth_user --",
    "%",
    "_",
    "\\",
    "\x00",
    "& | ! <-> :*",
    "'swarm':*",
    "swarm & mode | !node",
    "<script>alert(1)</script>",
    "🐳 docker",
    "ß ﬁ ½",
    "x" * 5000,
    "swarm " * 500,
    " ".join(f"w{i}" for i in range(300)),
]


def test_it_finds_a_highlight_and_links_to_its_anchor(demo_day):
    results = search("seccomp whitelist")
    note = Highlight.objects.get(text="Seccomp whitelist")
    assert [hit.url for hit in results.hits] == [f"{DAY_URL}#h{note.pk}"]
    assert str(results.hits[0].heading) == "<mark>Seccomp</mark> <mark>whitelist</mark>"
    assert results.hits[0].kind == Kind.HIGHLIGHT
    assert "The Golden Ticket" in results.hits[0].context


def test_it_finds_talks_snippets_and_day_summaries(demo_day):
    talk = search("immutable infrastructure").hits[0]
    assert talk.url == f"{DAY_URL}#talk-immutable-infrastructure"
    scale = SnippetLine.objects.get(command="docker service scale vote=6")
    commands = search("docker service scale")
    assert commands.hits[0].url == f"{DAY_URL}#line-{scale.pk}"  # the line, not the block
    assert commands.hits[0].is_code
    # A block without a caption is named by its talk, which reads on its own in a list.
    assert str(commands.hits[0].heading) == "Commands in “Keynote highlights”"
    assert "<mark>docker</mark> <mark>service</mark> <mark>scale</mark> vote=6" in str(
        commands.hits[0].excerpt
    )
    summary = search("pipelines").hits
    assert [hit.kind for hit in summary] == [Kind.DAY]
    assert summary[0].url == f"{DAY_URL}#summary-heading"  # the summary, not the top
    assert "our <mark>pipelines</mark> as soon" in str(summary[0].excerpt)
    intro = search("continuing education").hits  # the intro opens the day page
    assert [(hit.kind, hit.url) for hit in intro] == [(Kind.DAY, DAY_URL)]
    assert "<mark>continuing</mark> <mark>education</mark>" in str(intro[0].excerpt)


def test_it_requires_every_word(demo_day):
    texts = _texts(search("docker mac beta"))
    assert texts == [
        "Docker for Mac Beta is now open to anyone at https://www.docker.com/products/docker#/mac"
    ]


def test_it_matches_the_start_of_a_word(demo_day):
    assert "Swarm mode" in _texts(search("swar"))[0]
    assert "<mark>Swarm</mark> mode" in str(search("swar").hits[0].heading)
    assert search('"swar"').hits == []  # a closed quote means exactly this word
    assert "Swarm mode" in _texts(search('"swarm mo'))[0]  # typing a phrase: still a prefix


def test_it_finds_command_ish_tokens(demo_day):
    for query, marked in [
        ("--update-parallelism", "--<mark>update-parallelism</mark> 2"),
        ("instavote/vote:movies", "--image <mark>instavote/vote:movies</mark>"),
        ("vote=6", "scale <mark>vote=6</mark>"),
        ("-p 8080:80", "--name vote -<mark>p</mark> <mark>8080:80</mark>"),
        ("instavote/vote:ind", "<mark>instavote/vote:indent</mark>"),
    ]:
        results = search(query)
        assert [hit.kind for hit in results.hits] == [Kind.SNIPPET], query
        assert marked in str(results.hits[0].excerpt), query


def test_it_finds_answers_to_follow_ups(demo_day):
    note = Highlight.objects.get(text__startswith="Docker Cloud demos")
    note.resolution = "The Docker Cloud **API** is documented at docs.docker.com"
    note.save()
    hit = search("documented").hits[0]
    assert hit.url.endswith(f"#h{note.pk}")
    assert "<mark>documented</mark>" in str(hit.excerpt)


def test_it_never_fails_on_odd_input(demo_day):
    for query in NASTY_QUERIES:
        results = search(query)
        assert isinstance(results.hits, list), query
    assert len(search("swarm*").hits) == len(search("-swarm").hits) == 1
    assert len(search("NEAR(swarm mode)").hits) == 0  # "near" is a word, and it is not there


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=80))
def test_it_never_fails_on_any_text(demo_day, text):
    search(text)
    search(text, tag_id=1, conference_id=1, day_id=1, page=3)


def test_it_answers_an_empty_or_wordless_query_without_touching_the_database(
    demo_day, django_assert_num_queries
):
    with django_assert_num_queries(0):
        for query in ["", "   ", '"', "*", "-- :: **", "\x00"]:
            results = search(query)
            assert not results.query and results.hits == []


def test_it_filters_by_conference_day_and_tag(demo_day):
    other = _day(
        TalkDoc(title="Swarm at scale", tags=["orchestration"], highlights=[HighlightDoc("x")]),
        number=2,
        slug="other",
    )
    both = search("swarm")
    assert len(both.hits) == 2
    dockercon = Conference.objects.get(slug="dockercon-2016")
    assert [h.url for h in search("swarm", conference_id=dockercon.pk).hits] == [both.hits[1].url]
    assert [h.kind for h in search("swarm", day_id=other.pk).hits] == [Kind.TALK]
    security = Tag.objects.get(slug="security")
    assert search("swarm", tag_id=security.pk).hits == []
    # A talk's tags apply to its notes and snippets; a note's tags to its snippets.
    orchestration = Tag.objects.get(slug="orchestration")
    assert len(search("swarm", tag_id=orchestration.pk).hits) == 2
    assert len(search("instavote", tag_id=orchestration.pk).hits) == 1
    mac = Tag.objects.get(slug="docker-for-mac")  # the keynote's tag, not the note's
    assert len(search("instavote", tag_id=mac.pk).hits) == 1
    tls = search("tls", tag_id=Tag.objects.get(slug="networking").pk)
    assert len(tls.hits) == 2


def test_it_skips_rows_of_notes_deleted_behind_its_back(demo_day):
    Highlight.objects.filter(text="Seccomp whitelist")._raw_delete("default")
    assert search("seccomp whitelist").hits == []
