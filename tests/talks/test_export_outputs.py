"""Exports with the commands' last recorded outputs: `?outputs=1`, `export_notes --with-outputs`.

The output under a command is what the day page shows as "Last run by a reader". It never
imports back as a note or a command: an export with outputs imports as the plain one does.
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

from django.core.management import call_command
from django.test import modify_settings

import talks.exporting
from runner.models import Run
from talks.exporting import MarkdownExporter, last_outputs
from talks.importing import import_notes, parse_notes
from talks.models import Conference, Day, SnippetLine
from tests.talks.test_import_seed import comparable

DAY_URL = "/c/dockercon-2016/day-1/export"


def lines() -> dict[str, SnippetLine]:
    """The demo day's command lines by command."""
    return {line.command: line for line in SnippetLine.objects.all()}


def run(line: SnippetLine, *, status: str = "succeeded", stdout: str = "", stderr: str = ""):
    return Run.objects.create(
        snippet_line=line, visitor="v", line=line.command, status=status, stdout=stdout,
        stderr=stderr,
    )  # fmt: skip


def json_outputs(content: bytes | str) -> dict[int, str | None]:
    """``last_output`` of every line of a JSON export, by line id."""
    out: dict[int, str | None] = {}
    stack = [talk for day in json.loads(content)["days"] for talk in day["talks"]]
    while stack:
        node = stack.pop()  # a talk or a highlight: both have snippets
        stack += node.get("highlights", []) + node.get("children", [])
        out |= {e["id"]: e["last_output"] for s in node["snippets"] for e in s["lines"]}
    return out


def record_outputs() -> dict[str, str]:
    """Runs of three lines: their last outputs as the day page shows them, by command."""
    by_command = lines()
    ls, create, scale = (
        by_command["docker service ls"],
        by_command["docker service create --name vote -p 8080:80 instavote/vote"],
        by_command["docker service scale vote=6"],
    )
    run(ls, stdout="old output\n")
    run(ls, stdout="ID  NAME\nx1  vote\n", stderr="WARNING: a message\n")
    run(create, status="failed", stderr="Error: no such image\n")
    run(scale, stdout="vote scaled to 6\n")
    run(scale, status="queued")  # in flight: the page keeps showing the last output
    return {
        ls.command: "ID  NAME\nx1  vote\nWARNING: a message",
        create.command: "Error: no such image",
        scale.command: "vote scaled to 6",
    }


def test_it_gives_each_lines_last_run_if_it_finished_with_output(demo_day):
    expected = record_outputs()
    run(lines()["docker service tasks vote"], stdout="")  # finished, but said nothing
    outputs = last_outputs([demo_day])
    assert {SnippetLine.objects.get(pk=pk).command: text for pk, text in outputs.items()} == (
        expected
    )


def test_it_gives_no_outputs_without_the_runner_app(demo_day):
    record_outputs()
    with modify_settings(INSTALLED_APPS={"remove": ["runner"]}):
        assert last_outputs([demo_day]) == {}


def test_talks_reads_the_runs_without_importing_the_runner():
    source = Path(talks.exporting.__file__).read_text()
    assert "import runner" not in source and "from runner" not in source


def test_it_serves_markdown_with_outputs_that_import_back_as_the_plain_export(client, demo_day):
    record_outputs()
    plain = client.get(f"{DAY_URL}.md").content.decode()
    with_outputs = client.get(f"{DAY_URL}.md?outputs=1").content.decode()
    assert "x1  vote" not in plain
    assert (
        "$ docker service ls\nID  NAME\nx1  vote\nWARNING: a message\n$ docker service tasks vote\n"
    ) in with_outputs
    assert "instavote/vote\nError: no such image\n" in with_outputs
    assert "vote scaled to 6" in with_outputs  # its last run is queued: the one before it

    messages = [str(w) for w in parse_notes(with_outputs).warnings]
    assert messages == [
        "line 27: 5 lines of output in this block were left out: only commands are imported."
    ]
    Conference.objects.all().delete()
    day = import_notes(with_outputs).saved[0][0]
    assert MarkdownExporter().export_day(Day.objects.get(pk=day.pk)) == plain


def test_it_fences_outputs_that_hold_fences_html_prompts_or_backslashes(client, demo_day):
    line = lines()["docker service ls"]
    tricky = (
        "````\n```console\n$ docker rm -f everything\n# not a caption\n</pre><script>x</script>"
        "\nends with a backslash \\"
    )
    run(line, stdout=tricky)
    plain = client.get(f"{DAY_URL}.md").content.decode()
    markdown = client.get(f"{DAY_URL}.md?outputs=1").content.decode()
    assert "\n`````console\n" in markdown  # longer than any run of backticks in it
    assert "\n $ docker rm -f everything\n # not a caption\n" in markdown  # not commands
    assert comparable(parse_notes(markdown).day) == comparable(parse_notes(plain).day)

    assert json_outputs(client.get(f"{DAY_URL}.json?outputs=1").content)[line.pk] == tricky


def test_it_serves_json_with_outputs_only_when_asked(client, demo_day):
    expected = {lines()[command].pk: text for command, text in record_outputs().items()}
    assert set(json_outputs(client.get(f"{DAY_URL}.json").content).values()) == {None}
    outputs = json_outputs(client.get(f"{DAY_URL}.json?outputs=1").content)
    assert {pk: text for pk, text in outputs.items() if text is not None} == expected
    conference = client.get("/c/dockercon-2016/export.json?outputs=1").content
    assert json_outputs(conference) == outputs
    assert "x1  vote" in client.get("/c/dockercon-2016/export.md?outputs=1").content.decode()


def test_it_exports_outputs_from_the_command_line(demo_day):
    record_outputs()
    out = StringIO()
    call_command("export_notes", "dockercon-2016", "--day", "1", "--with-outputs", stdout=out)
    assert out.getvalue() == MarkdownExporter(outputs=last_outputs([demo_day])).export_day(demo_day)
    assert "\nx1  vote\n" in out.getvalue()
    plain = StringIO()
    call_command("export_notes", "dockercon-2016", stdout=plain)
    assert "x1  vote" not in plain.getvalue()
    data = StringIO()
    call_command("export_notes", "dockercon-2016", "--format", "json", "--with-outputs",
                 stdout=data)  # fmt: skip
    assert "Error: no such image" in json_outputs(data.getvalue()).values()


def test_it_offers_markdown_with_last_outputs_beside_the_plain_export(client, demo_day):
    day = client.get("/c/dockercon-2016/day-1/").content.decode()
    assert (
        '<a href="/c/dockercon-2016/day-1/export.md?outputs=1" type="text/markdown">'
        "Markdown with last outputs</a>"
    ) in day
    conference = client.get("/c/dockercon-2016/").content.decode()
    assert (
        '<a href="/c/dockercon-2016/export.md?outputs=1" type="text/markdown">'
        "Markdown with last outputs</a>"
    ) in conference
