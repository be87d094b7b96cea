"""Import fixes after review: slugs that would break web addresses, options that do not fit the
notes, dates before a conference starts, warnings counted in full, and a confirmation that
asks again when the stored day changed in any way since the preview."""

from __future__ import annotations

import datetime as dt
import re
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from talks.exporting import MarkdownExporter
from talks.importing import import_notes, read_notes
from talks.importing.removals import stored_fingerprint
from talks.models import Conference, Day, Highlight, Snippet, SnippetLine, Tag, Talk
from tests.factories import PARTIAL
from tests.talks.admin_forms import seen_of, token_of

URL = "/admin/talks/day/import/"
CONFIRM = "/admin/talks/day/import/confirm/"

DAY_ONE = """---
conference: DockerCon 2016
---

# DockerCon 2016 Day 1

## Keynote

- Swarm mode is built in
"""

TWO_DAYS = """---
conference: Conf 2020
---

# Conf 2020 Day 1

## Opening

- First note

# Conf 2020 Day 2

## Closing

- Last note
"""


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_notes", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def write(tmp_path, text: str, name: str = "day1.md"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def pages_answer(client) -> list[int]:
    return [client.get(url).status_code for url in ("/", "/follow-ups/", "/feeds/days.atom")]


def nothing_saved() -> bool:
    return not (Conference.objects.exists() or Day.objects.exists() or Talk.objects.exists())


# --- 1. slugs and lengths --------------------------------------------------------------------


def test_the_command_refuses_a_conference_slug_that_cannot_make_a_web_address(db, tmp_path, client):
    path = write(tmp_path, DAY_ONE)
    with pytest.raises(CommandError) as refused:
        run(path, "--conference", "DockerCon 2016", "--conference-slug", "!!!", "--day", "3")
    message = str(refused.value)
    assert "--conference-slug" in message
    assert "“!!!” is not a valid slug: a slug may hold only ASCII letters" in message
    assert nothing_saved()
    assert pages_answer(client) == [200, 200, 200]


def test_a_front_matter_slug_that_cannot_make_a_web_address_is_refused(db, tmp_path, client):
    text = DAY_ONE.replace("---\n\n#", 'conference-slug: "a b/c"\n---\n\n#', 1)
    with pytest.raises(CommandError, match=r"The front matter's “conference-slug:” \(“a b/c”\) "):
        run(write(tmp_path, text))
    assert nothing_saved()
    assert pages_answer(client) == [200, 200, 200]


def test_the_admin_refuses_a_front_matter_slug_with_a_400_naming_it(staff_client):
    text = DAY_ONE.replace("---\n\n#", 'conference-slug: "a b/c"\n---\n\n#', 1)
    upload = SimpleUploadedFile("day1.md", text.encode())
    response = staff_client.post(URL, {"format": "auto", "file": upload})
    page = response.content.decode()
    assert response.status_code == 400
    assert "The front matter&#x27;s “conference-slug:” (“a b/c”) is not a valid slug" in page
    assert "a slug may hold only ASCII letters" in page
    assert nothing_saved()
    assert pages_answer(staff_client) == [200, 200, 200]


def test_the_admin_form_refuses_an_invalid_conference_slug(staff_client):
    response = staff_client.post(URL, {"format": "auto", "text": DAY_ONE, "conference_slug": "é"})
    assert response.status_code == 400
    assert "“é” is not a valid slug" in response.content.decode()
    assert nothing_saved()


def test_the_admin_form_takes_a_valid_conference_slug(staff_client):
    data = {"format": "auto", "text": DAY_ONE, "conference_slug": "dc16"}
    response = staff_client.post(URL, data)
    assert response.status_code == 200
    staff_client.post(CONFIRM, {"token": token_of(response), "removals": seen_of(response)})
    assert Conference.objects.get().slug == "dc16"


def test_a_slug_too_long_for_the_column_is_refused_not_cut(db, tmp_path):
    with pytest.raises(CommandError, match=r"--conference-slug: .* is too long for a slug"):
        run(write(tmp_path, DAY_ONE), "--conference-slug", "a" * 201)
    text = DAY_ONE.replace("---\n\n#", f"conference-slug: {'b' * 201}\n---\n\n#", 1)
    with pytest.raises(CommandError, match=r"“conference-slug:” \(“b+…” \(201 characters\)\)"):
        run(write(tmp_path, text))
    assert nothing_saved()


def test_a_talk_slug_that_cannot_make_a_web_address_is_refused_with_its_line(db, tmp_path):
    text = DAY_ONE.replace("## Keynote", "## Keynote {#café}")
    with pytest.raises(CommandError) as refused:
        run(write(tmp_path, text))
    assert "Line 7: The slug of the talk “Keynote” (“café”) is not a valid slug" in str(
        refused.value
    )
    assert nothing_saved()
    assert read_notes(DAY_ONE.replace("## Keynote", "## Keynote {#key_note-2}")).day.talks[
        0
    ].slug == ("key_note-2")


def test_overlong_names_in_the_options_are_refused_and_in_the_file_shortened_with_a_warning(
    db, tmp_path
):
    path = write(tmp_path, DAY_ONE)
    with pytest.raises(CommandError, match=r"--conference: .* 201 characters long; at most 200"):
        run(path, "--conference", "x" * 201)
    with pytest.raises(CommandError, match=r"--location: .* 250 characters long; at most 200"):
        run(path, "--location", "y" * 250)
    assert nothing_saved()
    text = DAY_ONE.replace("---\n\n#", f"title: {'T' * 250}\n---\n\n#", 1).replace(
        "# DockerCon 2016 Day 1\n\n", ""
    )
    text = text.replace("conference: DockerCon 2016", f"conference: {'C' * 230}\nday: 1")
    _, err = run(write(tmp_path, text))
    assert "The title in the front matter is longer than 200 characters" in err
    assert "The conference name in the front matter is longer than 200 characters" in err
    day = Day.objects.get()
    assert (len(day.title), len(day.conference.name)) == (200, 200)


def test_a_conference_with_a_slug_of_its_own_is_found_by_its_name(db, tmp_path):
    """An editor gave “DockerCon 2016” the slug dc16: notes naming it update it, rather than
    starting a second “DockerCon 2016” at dockercon-2016."""
    Conference.objects.create(name="DockerCon 2016", slug="dc16", location="Seattle")
    out, _ = run(write(tmp_path, DAY_ONE))
    assert list(Conference.objects.values_list("slug", flat=True)) == ["dc16"]
    assert Day.objects.get().conference.location == "Seattle"
    assert "Changed the stored conference" not in out
    # A slug given says which, even when another conference has the name.
    run(write(tmp_path, DAY_ONE), "--conference-slug", "dockercon-2016")
    assert sorted(Conference.objects.values_list("slug", flat=True)) == ["dc16", "dockercon-2016"]


def test_two_conferences_of_one_name_make_the_import_ask_which(db, tmp_path, staff_client):
    Conference.objects.create(name="DockerCon 2016", slug="dc16")
    Conference.objects.create(name="DockerCon 2016", slug="dockercon16")
    with pytest.raises(CommandError) as refused:
        run(write(tmp_path, DAY_ONE))
    assert (
        "Several stored conferences are called “DockerCon 2016” (slugs “dc16” and "
        "“dockercon16”), so nothing was imported: say which one by giving --conference-slug"
    ) in str(refused.value)
    response = staff_client.post(URL, {"format": "auto", "text": DAY_ONE})
    assert response.status_code == 400
    assert "say which one by giving the “Conference slug”" in response.content.decode()
    assert not Day.objects.exists()
    run(write(tmp_path, DAY_ONE), "--conference-slug", "dockercon16")
    assert Day.objects.get().conference.slug == "dockercon16"


# --- 2. a directory ----------------------------------------------------------------------------


def test_a_directory_is_named_as_such(db, tmp_path):
    with pytest.raises(CommandError, match=r"is a directory, not a notes file"):
        run(str(tmp_path))
    with pytest.raises(CommandError, match=r"no such file"):
        run(str(tmp_path / "missing.md"))


# --- 3. options for one day, notes of several ------------------------------------------------


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--day", "5"], "--day was given for the import: that applies to a single day"),
        (["--date", "2016-06-21"], "--date was given for the import: that applies"),
        (["--day", "5", "--date", "2016-06-21"], "--day and --date were given for the import: "),
    ],
)
def test_the_command_refuses_one_days_options_for_notes_of_several_days(
    db, tmp_path, options, named
):
    with pytest.raises(CommandError) as refused:
        run(write(tmp_path, TWO_DAYS, "conf.md"), *options)
    assert "These notes hold 2 days (Days 1 and 2), but " + named in str(refused.value)
    assert "Nothing was imported." in str(refused.value)
    assert nothing_saved()
    out, _ = run(write(tmp_path, TWO_DAYS, "conf.md"))  # without them: every day
    assert list(Day.objects.values_list("number", flat=True)) == [1, 2]
    assert out.count("Rows:") == 2


def test_the_admin_refuses_a_day_number_or_date_for_notes_of_several_days(staff_client):
    response = staff_client.post(URL, {"format": "auto", "text": TWO_DAYS, "day": "5"})
    page = response.content.decode()
    assert response.status_code == 400
    assert "These notes hold 2 days (Days 1 and 2), but the “Day number” was given" in page
    assert re.search(r'<div class="form-row errors">\s*<ul class="errorlist"[^>]*><li>These', page)
    response = staff_client.post(URL, {"format": "auto", "text": TWO_DAYS, "date": "2020-01-02"})
    assert response.status_code == 400
    assert "but the “Date of the day” was given" in response.content.decode()
    assert nothing_saved()


def test_front_matter_day_and_date_in_notes_of_several_days_are_left_out_with_a_warning(db):
    text = TWO_DAYS.replace("conference: Conf 2020", "conference: Conf 2020\nday: 4")
    result = read_notes(text)
    assert [day.number for day in result.days] == [1, 2]
    warned = [w.message for w in result.warnings]
    assert any("front matter's “day:” applies to a single day" in w for w in warned)


# --- 4. dates --------------------------------------------------------------------------------


def test_the_command_says_what_it_changes_in_a_stored_conference(demo_day, tmp_path):
    text = DAY_ONE.replace("Day 1", "Day 4")
    out, _ = run(write(tmp_path, text), "--starts-on", "2016-06-18", "--dry-run")
    assert (
        "Importing would change the stored conference “DockerCon 2016” (dockercon-2016): "
        "start date from 2016-06-19 to 2016-06-18." in out
    )
    assert Conference.objects.get().starts_on == dt.date(2016, 6, 19)
    out, _ = run(write(tmp_path, text), "--starts-on", "2016-06-18", "--location", "Austin")
    assert (
        "Changed the stored conference “DockerCon 2016” (dockercon-2016): place from "
        "“Seattle” to “Austin”; start date from 2016-06-19 to 2016-06-18." in out
    )


def test_the_preview_says_what_changes_in_the_conference_from_what_to_what(staff_client, demo_day):
    data = {"format": "auto", "text": DAY_ONE.replace("Day 1", "Day 4"), "starts_on": "2016-06-18"}
    response = staff_client.post(URL, data)
    page = response.content.decode()
    assert "changes</strong> the stored conference’s start date from 2016-06-19 to 2016-06-18" in (
        page
    )
    confirmed = _confirm(staff_client, response, follow=True)
    assert (
        "Changed the stored conference “DockerCon 2016”: start date from 2016-06-19 to "
        "2016-06-18." in confirmed.content.decode()
    )


def test_a_day_dated_before_its_conference_starts_is_refused(demo_day, tmp_path):
    path = write(tmp_path, DAY_ONE.replace("Day 1", "Day 4"))
    with pytest.raises(CommandError) as refused:
        run(path, "--day", "4", "--starts-on", "2020-01-01", "--date", "2010-01-01")
    assert (
        "Day 4 (“DockerCon 2016 Day 4”) is dated 2010-01-01, before its conference "
        "“DockerCon 2016” starts (2020-01-01). Nothing was imported"
    ) in str(refused.value)
    assert Conference.objects.get().starts_on == dt.date(2016, 6, 19)  # not rewritten
    assert Day.objects.count() == 1
    with pytest.raises(CommandError, match=r"is dated 2016-06-01, before its conference"):
        run(path, "--date", "2016-06-01")  # the stored start, 2016-06-19


def test_a_start_moved_after_a_stored_day_is_refused(demo_day, tmp_path):
    path = write(tmp_path, DAY_ONE.replace("Day 1", "Day 4"))
    with pytest.raises(CommandError) as refused:
        run(path, "--starts-on", "2020-01-01", "--date", "2020-01-04")
    assert (
        "The conference “DockerCon 2016” would start on 2020-01-01, after its stored Day 1 "
        "(“DockerCon 2016 Highlights Day 1”, dated 2016-06-20). Nothing was imported"
    ) in str(refused.value)
    assert (Conference.objects.get().starts_on, Day.objects.count()) == (dt.date(2016, 6, 19), 1)


def test_the_admin_refuses_a_day_before_its_conference_at_the_date_field(staff_client, demo_day):
    data = {"format": "auto", "text": DAY_ONE.replace("Day 1", "Day 4"), "date": "2016-06-01"}
    response = staff_client.post(URL, data)
    page = response.content.decode()
    assert response.status_code == 400
    assert "is dated 2016-06-01, before its conference “DockerCon 2016” starts" in page
    assert re.search(r'<div class="form-row errors">\s*<ul class="errorlist"[^>]*><li>Day 4', page)
    assert Day.objects.count() == 1


def test_a_stored_day_already_before_its_start_still_round_trips_with_a_warning(demo_day):
    Day.objects.filter(pk=demo_day.pk).update(date=dt.date(2016, 6, 1))  # as the admin allows
    demo_day.refresh_from_db()
    markdown = MarkdownExporter().export_day(demo_day)
    result = read_notes(markdown)
    assert any("is dated 2016-06-01, before its conference" in w.message for w in result.warnings)
    [(_, report)] = import_notes(markdown).saved
    assert report.created == report.updated == report.deleted == 0


# --- 5. every warning counted ----------------------------------------------------------------


def test_the_closing_line_counts_the_decoding_warnings_too(db, tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("Conf 2020 Day 1\n\nCafé talk\n\n- a note\n".encode("latin-1"))
    out, err = run(str(path))
    assert "it was read as Windows-1252" in err
    assert out.endswith("Imported with 1 warning (above).\n")
    path.write_bytes("Conf 2021 Day 1\n\n- stray\n\nCafé talk\n\n- a note\n".encode("latin-1"))
    out, err = run(str(path))
    assert len(err.splitlines()) == 2
    assert out.endswith("Imported with 2 warnings (above).\n")


def test_the_admin_message_after_an_import_names_the_decoding_warning(staff_client):
    upload = SimpleUploadedFile("latin1.txt", "Conf 2020 Day 1\n\nCafé\n\n- a\n".encode("latin-1"))
    response = staff_client.post(URL, {"format": "auto", "file": upload})
    confirmed = staff_client.post(CONFIRM, {"token": token_of(response)}, follow=True)
    page = confirmed.content.decode()
    assert "1 line needed a guess or could not be placed: line 3: The file is not valid UTF-8" in (
        page
    )


# --- 6. the stored day changed since the preview ---------------------------------------------


def _preview(client, text: str):
    response = client.post(URL, {"format": "auto", "text": text})
    assert response.status_code == 200
    return response


def _confirm(client, response, *, follow: bool = False, **extra):
    data = {"token": token_of(response), "removals": seen_of(response), **extra}
    return client.post(CONFIRM, data, follow=follow)


def _kept_note(day: Day) -> Highlight:
    """A note of the keynote, which PARTIAL keeps (it would update it)."""
    return Highlight.objects.filter(talk__day=day, talk__slug="keynote").order_by("pk")[0]


def _gone_note(day: Day) -> Highlight:
    """A note of a talk that PARTIAL leaves out (it would remove it)."""
    return Highlight.objects.filter(talk__day=day).exclude(talk__slug="keynote").order_by("pk")[0]


def _edit_text(day):
    note = _gone_note(day)
    note.text = "Edited after the preview."
    note.save()


def _edit_kept(day):
    note = _kept_note(day)
    note.text = "Edited after the preview, too."
    note.save()


def _move(day):
    note = _gone_note(day)
    Highlight.objects.filter(pk=note.pk).update(position=note.position + 50)


def _retag(day):
    _gone_note(day).tags.add(Tag.objects.create(name="later", slug="later"))


def _recaption(day):
    Snippet.objects.filter(talk__day=day).update(caption="Changed meanwhile")


def _reline(day):
    line = SnippetLine.objects.filter(snippet__talk__day=day).order_by("pk")[0]
    SnippetLine.objects.filter(pk=line.pk).update(command="docker ps -a")


def _retitle_day(day):
    Day.objects.filter(pk=day.pk).update(summary="Rewritten meanwhile.")


def _rekind(day):
    Highlight.objects.filter(pk=_gone_note(day).pk).update(kind="todo")


@pytest.mark.parametrize(
    "edit", [_edit_text, _edit_kept, _move, _retag, _recaption, _reline, _retitle_day, _rekind]
)
def test_a_confirmation_after_the_stored_day_changed_asks_again(staff_client, demo_day, edit):
    response = _preview(staff_client, PARTIAL)
    assert "3 talks (" in response.content.decode()  # it would remove them
    edit(demo_day)
    before = MarkdownExporter().export_day(demo_day)
    refused = _confirm(staff_client, response, confirm_removal="yes")
    page = refused.content.decode()
    assert refused.status_code == 400
    assert "Nothing was imported: the stored day changed after the preview" in page
    assert MarkdownExporter().export_day(demo_day) == before  # nothing written
    assert seen_of(refused) != seen_of(response)  # the preview as it is now
    assert _confirm(staff_client, refused, confirm_removal="yes").status_code == 302


def test_an_unchanged_day_confirms(staff_client, demo_day):
    response = _preview(staff_client, PARTIAL)
    confirmed = _confirm(staff_client, response, confirm_removal="yes")
    assert confirmed.status_code == 302
    assert Talk.objects.filter(day=demo_day).count() == 1


def test_an_update_without_removals_asks_again_if_the_day_changed(staff_client, demo_day):
    markdown = (
        MarkdownExporter()
        .export_day(demo_day)
        .replace("Swarm mode is optional", "Swarm mode is optional, and off by default")
    )
    response = _preview(staff_client, markdown)
    assert "confirm_removal" not in response.content.decode()
    _edit_text(demo_day)
    refused = _confirm(staff_client, response)
    page = refused.content.decode()
    assert refused.status_code == 400
    assert "the stored day changed after the preview (someone edited it meanwhile)" in page
    assert Highlight.objects.filter(text="Edited after the preview.").exists()
    confirmed = _confirm(staff_client, refused)
    assert confirmed.status_code == 302
    assert not Highlight.objects.filter(text="Edited after the preview.").exists()


def test_a_preview_then_confirm_without_removals_still_imports(staff_client, demo_day):
    response = _preview(staff_client, MarkdownExporter().export_day(demo_day))
    assert _confirm(staff_client, response).status_code == 302
    response = _preview(staff_client, DAY_ONE.replace("Day 1", "Day 2"))  # a new day
    assert _confirm(staff_client, response).status_code == 302
    assert Day.objects.count() == 2


def test_a_day_created_meanwhile_makes_the_confirmation_ask_again(staff_client, demo_day):
    text = DAY_ONE.replace("Day 1", "Day 2")
    response = _preview(staff_client, text)
    import_notes(text.replace("Swarm mode is built in", "Someone else's note"))
    assert _confirm(staff_client, response).status_code == 400
    assert Highlight.objects.filter(text="Someone else's note").exists()


def test_the_fingerprint_takes_the_same_few_queries_whatever_the_size(demo_day, big_day):
    small = read_notes(PARTIAL).days
    big = read_notes(MarkdownExporter().export_day(big_day)).days
    with CaptureQueriesContext(connection) as few:
        stored_fingerprint(small)
    with CaptureQueriesContext(connection) as many:
        stored_fingerprint(big + small)
    assert len(few) == len(many) <= 8


def test_a_new_day_whose_address_another_day_has_is_refused_before_the_database(
    demo_day, tmp_path, staff_client
):
    Day.objects.filter(pk=demo_day.pk).update(slug="day-2")  # an editor's choice
    text = DAY_ONE.replace("Day 1", "Day 2")
    with pytest.raises(CommandError) as refused:
        run(write(tmp_path, text))
    assert (
        "Day 2 would be a new day at the address “day-2”, which the conference's Day 1 "
        "(“DockerCon 2016 Highlights Day 1”) already has. Nothing was imported"
    ) in str(refused.value)
    assert "database" not in str(refused.value)
    response = staff_client.post(URL, {"format": "auto", "text": text})
    assert response.status_code == 400
    assert "at the address “day-2”" in response.content.decode()
    assert Day.objects.count() == 1
