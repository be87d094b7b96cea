"""Export links and URLs for a day and a conference, and the export_notes command."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from talks.exporting import MarkdownExporter


def test_it_serves_a_day_as_markdown(client, demo_day):
    response = client.get("/c/dockercon-2016/day-1/export.md")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == 'inline; filename="dockercon-2016-day-1.md"'
    body = response.content.decode()
    assert body.startswith("---\nconference: DockerCon 2016\n")
    assert "```console\n$ docker service create --name vote -p 8080:80 instavote/vote\n" in body


def test_it_serves_a_day_and_a_conference_as_json(client, demo_day):
    day = client.get("/c/dockercon-2016/day-1/export.json")
    assert day["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(day.content)["days"][0]["url"] == "http://testserver/c/dockercon-2016/day-1/"
    conference = client.get("/c/dockercon-2016/export.json")
    assert json.loads(conference.content)["conference"]["slug"] == "dockercon-2016"
    assert client.get("/c/dockercon-2016/export.md").content.decode().count("\n# ") == 1


def test_it_answers_404_for_unknown_days_and_formats(client, demo_day):
    for url in (
        "/c/dockercon-2016/day-1/export.pdf",
        "/c/nope/export.md",
        "/c/dockercon-2016/day-9/export.md",
    ):
        assert client.get(url).status_code == 404, url


@pytest.mark.parametrize("base", ["/c/dockercon-2016/day-1/export", "/c/dockercon-2016/export"])
def test_an_unknown_format_gets_a_404_naming_the_formats_there_are(client, demo_day, base):
    response = client.get(f"{base}.txt")
    assert response.status_code == 404
    assert (
        "There is no “.txt” export of these notes; they export as: "
        f'<a href="{base}.md">Markdown (.md)</a>, <a href="{base}.json">JSON (.json)</a>.'
    ) in response.content.decode()


def test_it_links_to_the_exports_from_the_day_and_conference_pages(client, demo_day):
    day = client.get("/c/dockercon-2016/day-1/").content.decode()
    assert 'href="/c/dockercon-2016/day-1/export.md"' in day
    assert 'href="/c/dockercon-2016/day-1/export.json"' in day
    conference = client.get("/c/dockercon-2016/").content.decode()
    assert 'href="/c/dockercon-2016/export.md"' in conference


def test_it_exports_from_the_command_line(demo_day, tmp_path):
    out = StringIO()
    call_command("export_notes", "dockercon-2016", "--day", "1", stdout=out)
    assert out.getvalue() == MarkdownExporter().export_day(demo_day)
    target = tmp_path / "dc.json"
    call_command("export_notes", "dockercon-2016", "--format", "json", "-o", str(target),
                 stderr=StringIO())  # fmt: skip
    assert json.loads(target.read_text())["days"][0]["number"] == 1


def test_it_names_the_known_conferences_and_days_when_asked_for_a_missing_one(demo_day):
    with pytest.raises(
        CommandError, match=r"No conference with the slug “nope”\. Known: dockercon-2016\."
    ):
        call_command("export_notes", "nope")
    with pytest.raises(CommandError, match=r"DockerCon 2016 has no day 4 \(days: 1\)\."):
        call_command("export_notes", "dockercon-2016", "--day", "4")


def test_it_writes_exported_markdown_that_reads_cleanly(demo_day):
    markdown = MarkdownExporter().export_day(demo_day)
    assert "{" not in markdown.split("## The Golden Ticket")[1].split("## Docker for Dev")[
        0
    ].replace("{tags=security}", "").replace("{tags=networking}", "")
    assert "<!--" not in markdown  # the demo needs no list breaks
    assert markdown.endswith("---\n\nRyan Walls\n\nSoftware Engineering Manager at 3DSIM\n")
