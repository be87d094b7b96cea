"""A block's run history page: its breadcrumb goes through the conference, as every other
page's does, and its heading names the block (its caption, or its first command)."""

import re

import pytest

from talks.models import Snippet, SnippetLine

pytestmark = pytest.mark.django_db


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)).strip()


def _page(client, snippet: Snippet) -> str:
    response = client.get(f"/snippets/{snippet.pk}/history/")
    assert response.status_code == 200
    return response.content.decode()


def test_it_leads_back_through_the_conference_day_and_talk(client, demo_day):
    snippet = Snippet.objects.get()
    html = _page(client, snippet)
    crumbs = re.search(r'<nav aria-label="Breadcrumb" class="breadcrumb">(.*?)</nav>', html)
    talk = snippet.talk
    assert re.findall(r'<a href="([^"]+)">', crumbs.group(1)) == [
        "/",
        "/c/dockercon-2016/",
        "/c/dockercon-2016/day-1/",
        f"{talk.get_absolute_url()}#{snippet.anchor}",  # the block, on its talk's page
    ]
    assert _text(crumbs.group(1)) == (
        f"Home › DockerCon 2016 › DockerCon 2016 Highlights Day 1 › {talk.title} › Run history"
    )
    assert '<span aria-current="page">Run history</span>' in crumbs.group(1)


def test_it_names_the_block_by_its_first_command(client, demo_day):
    html = _page(client, Snippet.objects.get())
    first = "docker service create --name vote -p 8080:80 instavote/vote"
    assert f"<h1>Run history: <code>{first}</code></h1>" in html
    assert f"<title>Run history: {first} · Keynote highlights · Confnotes</title>" in html


def test_it_names_a_captioned_block_by_its_caption(client, demo_day):
    snippet = Snippet.objects.get()
    snippet.caption = "Scale the vote app"
    snippet.save()
    html = _page(client, snippet)
    assert "<h1>Run history: Scale the vote app</h1>" in html
    assert "<title>Run history: Scale the vote app · Keynote highlights" in html


def test_it_names_a_block_without_lines(client, demo_day):
    empty = Snippet.objects.create(talk=Snippet.objects.get().talk, position=99)
    assert "<h1>Run history: Commands</h1>" in _page(client, empty)


def test_it_reads_the_page_in_a_fixed_number_of_queries(
    client, demo_day, django_assert_num_queries
):
    snippet = Snippet.objects.get()
    for position in range(10, 40):
        SnippetLine.objects.create(snippet=snippet, position=position, command="docker node ls")
    with django_assert_num_queries(3):  # the block, talk, day and conference; lines; runs
        _page(client, snippet)
