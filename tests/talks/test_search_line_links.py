"""Search hits on a block of commands link to the line that matches, not the block's top."""

import pytest

from talks.documents import SnippetDoc, TalkDoc
from talks.models import Snippet, SnippetLine
from talks.search import search
from tests.talks.search_helpers import day_of as _day
from tests.talks.search_helpers import demo_day_once_per_module  # noqa: F401 (the demo_day fixture)

pytestmark = pytest.mark.django_db

DAY_URL = "/c/dockercon-2016/day-1/"


def _line(command_start: str) -> SnippetLine:
    return SnippetLine.objects.get(command__startswith=command_start)


def test_it_links_a_command_hit_to_its_matching_line(demo_day):
    sixth = _line("docker service update vote --image instavote/vote:indent")
    [hit] = search("--update-parallelism").hits
    assert hit.url == f"{DAY_URL}#line-{sixth.pk}"
    fifth = _line("docker service update vote --image instavote/vote:movies")
    [hit] = search("instavote/vote:movies").hits
    assert hit.url == f"{DAY_URL}#line-{fifth.pk}"


def _command_hit(text: str):
    return next(hit for hit in search(text).hits if hit.is_code)


def test_it_links_the_line_matching_most_words_the_first_of_ties(demo_day):
    scale = _line("docker service scale")
    assert _command_hit("docker service scale").url == f"{DAY_URL}#line-{scale.pk}"
    first = _line("docker service create")
    assert _command_hit("docker service").url == f"{DAY_URL}#line-{first.pk}"  # all: the first


def test_it_links_the_block_when_only_its_caption_matches(db):
    day = _day(
        TalkDoc(
            title="Demo",
            snippets=[SnippetDoc(lines=["docker node ls", "docker node ps"], caption="Inspecting")],
        )
    )
    snippet = Snippet.objects.get(talk__day=day)
    [hit] = search("inspecting").hits
    assert hit.url == f"{day.get_absolute_url()}#snippet-{snippet.pk}"


def test_it_finds_the_lines_in_one_query(demo_day, django_assert_num_queries):
    search("docker")  # warm the URL pattern
    with django_assert_num_queries(3):  # the index, the hits, the blocks' lines
        search("--update-parallelism")
