"""Re-importing part of a stored day: the day's texts the file lacks are kept, and what the
file would remove is shown first and removed only once the editor (or --replace) says so."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from runner.models import Run
from talks.exporting import MarkdownExporter
from talks.importing import RemovalNotConfirmed, import_notes, parse_notes
from talks.models import Day, Highlight, SnippetLine, Talk
from tests.factories import PARTIAL
from tests.talks.admin_forms import seen_of, token_of
from tests.talks.test_import_seed import SEED

URL = "/admin/talks/day/import/"
CONFIRM = "/admin/talks/day/import/confirm/"


def _stored(day: Day) -> tuple:
    day.refresh_from_db()
    return (
        day.title,
        day.intro,
        day.summary,
        day.author,
        day.author_title,
        day.next_day_title,
        Talk.objects.filter(day=day).count(),
        Highlight.objects.filter(talk__day=day).count(),
        SnippetLine.objects.filter(snippet__talk__day=day).count(),
    )


def _resolve_a_follow_up(day: Day) -> Highlight:
    note = Highlight.objects.filter(talk__day=day, kind="follow-up").exclude(talk__slug="keynote")[
        0
    ]
    note.resolution, note.resolved_at = "Found it.", timezone.now()
    note.save()
    return note


def _a_run_of_the_first_line(day: Day) -> None:
    line = SnippetLine.objects.filter(snippet__talk__day=day).order_by("pk")[0]
    Run.objects.create(snippet_line=line, visitor="v", line=line.command, status="succeeded")


def test_it_keeps_the_day_texts_a_file_does_not_hold(demo_day):
    before, date = _stored(demo_day), demo_day.date
    assert date is not None
    import_notes(PARTIAL, confirm_removal=True)
    after = _stored(demo_day)
    assert after[:6] == before[:6]  # title, intro, summary, sign-off, next day: as they were
    assert after[6:8] == (1, 2)
    assert demo_day.date == date  # the file gives no date either


def test_a_file_that_holds_the_day_texts_still_replaces_them(demo_day):
    markdown = MarkdownExporter().export_day(demo_day)
    edited = (
        markdown.replace("At 3DSIM we believe", "At ACME we believe")
        .replace("Good first day.", "A fine first day.")
        .replace("\nRyan Walls\n", "\nJane Doe\n")
    )
    import_notes(edited)
    demo_day.refresh_from_db()
    assert demo_day.intro.startswith("At ACME we believe")
    assert demo_day.summary.startswith("A fine first day.")
    assert (demo_day.author, demo_day.author_title) == (
        "Jane Doe",
        "Software Engineering Manager at 3DSIM",
    )
    assert MarkdownExporter().export_day(demo_day) == edited


def test_a_parse_says_which_day_texts_are_absent():
    assert parse_notes(PARTIAL).day.absent == {
        "title",
        "intro",
        "summary",
        "author",
        "author_title",
        "next_day_title",
    }


def test_the_import_refuses_to_remove_without_confirmation(demo_day):
    before = _stored(demo_day)
    with pytest.raises(RemovalNotConfirmed, match="Nothing was imported: this import would"):
        import_notes(PARTIAL)
    assert _stored(demo_day) == before


def test_the_preview_says_what_would_go_and_asks_before_removing(staff_client, demo_day):
    _resolve_a_follow_up(demo_day)
    _a_run_of_the_first_line(demo_day)
    before = _stored(demo_day)
    response = staff_client.post(URL, {"format": "auto", "text": PARTIAL})
    page = response.content.decode()
    assert response.status_code == 200
    assert "<title>Preview import: DockerCon 2016 Highlights Day 1 |" in page
    removes = (  # named, the first five of each
        "3 talks (“The Golden Ticket: Docker and High Security Microservices”, “Docker for "
        "Developers 1 and 2”, “Immutable Infrastructure”), 47 notes (“Docker for Mac allows you "
        "to debug code running in a contai…”, “Docker for Mac Beta is now open to anyone at "
        "https://www.do…”, “Docker 1.12 will have orchestration features built-in. http…”, "
        "“Swarm mode. Self forming, self-healing. No external data st…”, “Secure node to node "
        "communication.” and 42 more), 1 resolved follow-up with its answer among them and 1 "
        "snippet (6 command lines in all): `docker service create --name vote -p 8080:80 "
        "instavote/vote`, `docker service ls`, `docker service tasks vote`, `docker service "
        "scale vote=6`, `docker service update vote --image instavote/vote:movies` and 1 more; "
        "1 saved run output would lose its line"
    )
    assert f"<strong>Removes:</strong> {removes}." in page
    assert (
        "<strong>Keeps</strong> the day’s title, intro, summary, sign-off, next day’s title as"
        in page
    )
    assert "so nothing is duplicated</a>" not in page
    assert 'name="confirm_removal" value="yes"' in page
    assert "Yes, remove these talks, notes and snippets" in page

    refused = staff_client.post(CONFIRM, {"token": token_of(response)})
    text = refused.content.decode()
    assert refused.status_code == 400
    assert "Nothing was imported: this import would remove from “DockerCon 2016 Highlights" in (
        text
    )
    assert "Tick “Yes, remove these” below if they should go" in text
    assert _stored(demo_day) == before  # nothing written

    confirm = {"token": token_of(refused), "removals": seen_of(refused), "confirm_removal": "yes"}
    confirmed = staff_client.post(CONFIRM, confirm)
    assert confirmed.status_code == 302
    assert _stored(demo_day)[6:] == (1, 2, 0)
    assert _stored(demo_day)[:6] == before[:6]


def test_an_identical_file_imports_in_one_step_and_changes_nothing(staff_client, demo_day):
    markdown = MarkdownExporter().export_day(demo_day)
    response = staff_client.post(URL, {"format": "auto", "text": markdown})
    page = response.content.decode()
    assert "Removes nothing: every talk, note and snippet of the stored day is in these" in page
    assert "confirm_removal" not in page
    confirmed = staff_client.post(CONFIRM, {"token": token_of(response)}, follow=True)
    assert "0 created, 0 updated, 62 unchanged, 0 removed." in confirmed.content.decode()
    assert MarkdownExporter().export_day(demo_day) == markdown


def test_the_command_refuses_to_remove_unless_told_to(demo_day, tmp_path):
    path = tmp_path / "partial.md"
    path.write_text(PARTIAL)
    before = _stored(demo_day)
    err = StringIO()
    with pytest.raises(CommandError, match=r"nothing was saved: .* again with --replace"):
        call_command("import_notes", str(path), stdout=StringIO(), stderr=err)
    assert "“DockerCon 2016 Highlights Day 1”: would remove 3 talks (" in err.getvalue()
    assert _stored(demo_day) == before

    out = StringIO()
    call_command("import_notes", str(path), "--dry-run", stdout=out, stderr=StringIO())
    assert "Importing would remove from “DockerCon 2016 Highlights Day 1”: 3 talks" in (
        out.getvalue()
    )
    assert "(it needs --replace)." in out.getvalue()

    call_command("import_notes", str(path), "--replace", stdout=StringIO(), stderr=StringIO())
    assert _stored(demo_day)[6:] == (1, 2, 0)


def test_saving_a_new_day_uses_the_generated_title_of_an_untitled_file(db):
    day = import_notes(PARTIAL).saved[0][0]
    assert (day.title, day.intro) == ("DockerCon 2016 Day 1", "")


def test_answers_survive_a_reimport_of_notes_that_carry_none(demo_day):
    note = _resolve_a_follow_up(demo_day)
    report = import_notes(SEED.read_text()).saved[0][1]  # the blog's text: no answers in it
    assert (report.created, report.updated, report.deleted) == (0, 0, 0)
    note.refresh_from_db()
    assert note.resolution == "Found it." and note.resolved_at is not None


def test_it_refuses_removals_that_changed_since_the_preview(staff_client, demo_day):
    response = staff_client.post(URL, {"format": "auto", "text": PARTIAL})
    assert "3 talks (" in response.content.decode()
    late = Talk.objects.create(day=demo_day, position=99, title="Added meanwhile")
    Highlight.objects.create(talk=late, position=1, text="Written after the preview")
    before = _stored(demo_day)
    confirm = {"token": token_of(response), "removals": seen_of(response), "confirm_removal": "yes"}
    refused = staff_client.post(CONFIRM, confirm)
    page = refused.content.decode()
    assert refused.status_code == 400
    assert "the stored day changed after the preview, and this import would now remove" in page
    assert "4 talks (" in page and "“Added meanwhile”" in page
    assert _stored(demo_day) == before  # nothing written
    again = {"token": token_of(refused), "removals": seen_of(refused), "confirm_removal": "yes"}
    assert staff_client.post(CONFIRM, again).status_code == 302  # confirmed as now shown
    assert not Talk.objects.filter(pk=late.pk).exists()
