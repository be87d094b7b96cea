"""The admin's "Import notes": upload or paste → preview → confirm; staff only; clear errors."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError
from django.test import Client

from talks.admin_import import MAX_PASTE_CHARACTERS, SESSION_KEY, ImportNotesForm
from talks.models import Conference, Day, Highlight, Tag, Talk
from tests.talks.admin_forms import token_of
from tests.talks.test_import_seed import SEED

URL = "/admin/talks/day/import/"
CONFIRM = "/admin/talks/day/import/confirm/"


def preview(client, **data):
    return client.post(URL, {"format": "auto", **data})


def test_it_is_for_staff_only(client, plain_user):
    assert client.get(URL).status_code == 302
    client.force_login(plain_user)
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert client.post(CONFIRM, {"token": "x"}).status_code == 302


def test_it_is_linked_from_the_days_list(staff_client):
    page = staff_client.get("/admin/talks/day/").content.decode()
    assert f'href="{URL}"' in page


def test_it_previews_an_uploaded_file_as_a_tree_before_saving(staff_client):
    upload = SimpleUploadedFile("day1.txt", SEED.read_bytes(), content_type="text/plain")
    response = preview(staff_client, file=upload, date="2016-06-20")
    page = response.content.decode()
    assert response.status_code == 200
    assert Day.objects.count() == 0  # nothing saved yet
    assert "Read from day1.txt as plain text (UTF-8)." in page
    assert "4 talks, 49 highlights, 3 follow-ups, 1 snippet (6 commands), 3 links" in page
    assert "<h4>The Golden Ticket: Docker and High Security Microservices" in page
    assert 'href="http://dockercon2016.sched.org/event/70Ni"' in page
    # Nesting: Pitfalls of seccomp holds Fragile and Libseccomp in a list of its own.
    assert re.search(r"Pitfalls of seccomp:.*?<ul>\s*<li[^>]*>\s*Fragile", page, re.S)
    assert "import-badge--follow-up" in page
    assert "$ docker service update vote --image instavote/vote:movies" in page
    assert "<strong>Next day:</strong> DockerCon 2016 Highlights Day 2" in page
    assert "a new day." in page


def test_the_preview_names_the_commands_the_runner_would_refuse_and_why(staff_client):
    text = (
        "# Conf 2020\n\n## Day 1\n\n### A talk\n\n- Try it\n\n"
        "```\ndocker service ls\ndocker run --privileged -v /:/host alpine\n"
        "docker service ls | grep api\n```\n"
    )
    page = preview(staff_client, text=text).content.decode()
    assert "3 command lines with Run; the runner would refuse 2:" in page
    refused = re.search(r'<ul class="import-refused">(.*?)</ul>', page, re.S)[1]
    assert "<code>docker run --privileged -v /:/host alpine</code>: <code>docker run</code> is" in (
        refused
    )
    assert "<code>docker service ls | grep api</code>: Pipes (<code>|</code>) are not" in refused
    assert refused.count("<li>") == 2  # docker service ls runs
    seed = preview(staff_client, text=SEED.read_text()).content.decode()
    assert "6 command lines with Run</span>" in seed and "import-refused" not in seed


def test_it_imports_on_confirm_and_says_what_it_did(staff_client):
    response = preview(staff_client, text=SEED.read_text(), date="2016-06-20")
    confirmed = staff_client.post(CONFIRM, {"token": token_of(response)}, follow=True)
    day = Day.objects.get()
    assert confirmed.redirect_chain[-1][0] == f"/admin/talks/day/{day.pk}/change/"
    assert "Imported “DockerCon 2016 Highlights Day 1”: 62 created, 0 updated" in (
        confirmed.content.decode()
    )
    assert (day.date.isoformat(), Talk.objects.count()) == ("2016-06-20", 4)
    again = staff_client.post(CONFIRM, {"token": token_of(response)})
    assert again.status_code == 400
    assert "This preview has expired or was already imported." in again.content.decode()


def test_it_rereads_the_text_on_confirm_and_trusts_only_the_token(staff_client):
    response = preview(staff_client, text=SEED.read_text())
    staff_client.post(
        CONFIRM, {"token": token_of(response), "text": "Evil 2020 Day 1\n\nTalk\n\n• injected\n"}
    )
    assert not Highlight.objects.filter(text="injected").exists()
    assert Day.objects.get().conference.name == "DockerCon 2016"


def test_it_shows_an_existing_day_will_be_updated(staff_client, demo_day):
    page = preview(staff_client, text=SEED.read_text()).content.decode()
    assert "updates the existing day" in page
    assert f'href="/admin/talks/day/{demo_day.pk}/change/"' in page


def test_it_shows_warnings_with_line_numbers(staff_client):
    page = preview(staff_client, text="Conf 2020 Day 1\n\n• stray note\n").content.decode()
    assert "Line 3: These notes come before any talk title" in page


def test_after_confirming_the_message_names_the_warnings_itself(staff_client):
    """The preview that listed them is gone once the import is done."""
    response = preview(staff_client, text="Conf 2020 Day 1\n\n• stray note\n\nA talk\n\n• a\n")
    confirmed = staff_client.post(CONFIRM, {"token": token_of(response)}, follow=True)
    page = confirmed.content.decode()
    assert "1 line needed a guess or could not be placed: line 3: These notes come before" in page
    assert "see the preview" not in page
    assert ".." not in page.split("needed a guess")[1].split("</li>")[0]  # one full stop


def test_a_long_front_matter_value_is_quoted_short_in_its_warning(staff_client):
    date = "2016-" + "x" * 3000
    text = f"---\ndate: {date}\n---\n# Conf 2020\n\n## Day 1\n\n### A talk\n\n- a\n"
    page = preview(staff_client, text=text).content.decode()
    warning = re.search(r"The date “([^”]*)” is not a date like 2016-06-20", page)
    assert warning and len(warning[1]) <= 60 and warning[1].endswith("…")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Upload a file or paste the notes."),
        ({"text": "   \n "}, "The notes are empty: there is nothing to import."),
        ({"text": "Just a title"}, "Found nothing to import"),
        ({"text": "notes\n\n- a\n"}, "Could not tell which conference these notes are from"),
        ({"text": "x", "file": "FILE"}, "Upload a file or paste the notes, not both."),
        ({"text": "a\x00b"}, "This looks like a binary file"),
        ({"file": "BINARY"}, "This looks like a binary file"),
        ({"file": "HUGE"}, "The notes are 5.0 MB (5,242,890 bytes); the limit is 5 MB."),
        ({"text": "x" * 2_000_001}, "The pasted notes are too long (2,000,001 characters)"),
        ({"text": "a", "day": "0"}, "Ensure this value is greater than or equal to 1."),
        ({"text": "a", "date": "2016-13-01"}, "Enter a valid date."),
    ],
)
def test_it_explains_what_is_wrong_with_the_input(staff_client, data, message):
    files = {
        "FILE": SimpleUploadedFile("a.txt", b"Conf 2020 Day 1\n"),
        "BINARY": SimpleUploadedFile("a.png", b"\x89PNG\x00\x00\x00IHDR"),
        "HUGE": SimpleUploadedFile("big.txt", b"x" * (5 * 1024 * 1024 + 10)),
    }
    if "file" in data:
        data = {**data, "file": files[data["file"]]}
    response = preview(staff_client, **data)
    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    assert Day.objects.count() == 0


def test_it_reads_latin1_and_utf16_uploads(staff_client):
    text = "Café Conf 2020 Day 1\n\nKeynote\n\n- déjà vu\n"
    latin = preview(staff_client, file=SimpleUploadedFile("a.txt", text.encode("latin-1")))
    assert "read as Windows-1252" in latin.content.decode()
    utf16 = preview(staff_client, file=SimpleUploadedFile("a.txt", text.encode("utf-16")))
    assert "(UTF-16)" in utf16.content.decode()
    assert "déjà vu" in utf16.content.decode()


def test_it_saves_nothing_and_says_so_when_the_database_fails(staff_client, monkeypatch):
    response = preview(staff_client, text=SEED.read_text())

    def broken(*args, **kwargs):
        raise DatabaseError("disk I/O error")

    monkeypatch.setattr(Highlight, "render", broken)  # every written highlight is rendered
    confirmed = staff_client.post(CONFIRM, {"token": token_of(response)})
    assert confirmed.status_code == 400
    assert "Nothing was saved: the database refused the import (disk I/O error)." in (
        confirmed.content.decode()
    )
    assert Day.objects.count() == 0


def test_it_needs_post_and_a_csrf_token_to_confirm(staff_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    assert client.get(CONFIRM).status_code == 405
    assert client.post(CONFIRM, {"token": "x"}).status_code == 403
    assert client.post(URL, {"text": SEED.read_text()}).status_code == 403


def test_it_keeps_only_a_few_previews_in_the_session(staff_client):
    for _ in range(5):
        preview(staff_client, text=SEED.read_text())
    assert len(staff_client.session[SESSION_KEY]) == 3


# --- what is not notes at all ------------------------------------------------------------------


def test_it_refuses_a_json_export_and_says_what_to_import_instead(staff_client, demo_day):
    exported = staff_client.get("/c/dockercon-2016/day-1/export.json").content
    Conference.objects.all().delete()
    for name in ("day-1.json", "notes.txt"):
        response = preview(staff_client, file=SimpleUploadedFile(name, exported))
        assert response.status_code == 400
        page = response.content.decode()
        assert "This is a Confnotes JSON export; import the Markdown export (.md) instead" in page
        assert 'id="id_file_error"' in page
    assert not Conference.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("page.html", b"<!DOCTYPE html><html><body>x</body></html>", "This is a web page (HTML)"),
        ("notes.txt", b"  <html lang=en><p>Hi</p></html>", "This is a web page (HTML)"),
        ("data.json", b'{"talks": []}', "This is a JSON file, not notes"),
        ("talks.csv", b"title,speaker,room\nA,B,C\n", "This looks like a spreadsheet (CSV)"),
        ("talks.txt", b"a,b,c\n1,2,3\n4,5,6\n7,8,9\n1,1,1\n2,2,2\n", "looks like a spreadsheet"),
    ],
)
def test_it_refuses_other_formats(staff_client, name, content, message):
    response = preview(staff_client, file=SimpleUploadedFile(name, content))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Conference.objects.exists()


# --- large documents ---------------------------------------------------------------------------


def test_it_previews_a_large_document_in_part_and_imports_all_of_it(staff_client):
    bullets = "\n".join(f"- Note number {n} about swarm" for n in range(2_000))
    text = f"---\nconference: Big Conf 2020\nday: 1\n---\n\n## One long talk\n\n{bullets}\n"
    response = preview(staff_client, file=SimpleUploadedFile("big.md", text.encode()))
    page = response.content.decode()
    assert response.status_code == 200
    assert "1 talk, 2000 highlights" in page
    assert "Note number 49 about swarm" in page
    assert "Note number 50 about swarm" not in page
    assert "… and 1,950 more notes in this talk, not shown here." in page
    assert "In all, 1,950 notes of this day are not shown; all of them are imported." in page
    assert len(response.content) < 100_000
    staff_client.post(CONFIRM, {"token": token_of(response)})
    assert Highlight.objects.count() == 2_000


# --- pasting a lot -----------------------------------------------------------------------------


def test_the_paste_limit_fits_in_what_django_accepts_from_a_browser(settings):
    # Up to 3 bytes of UTF-8 per character (CRLF is 2 for one), plus the form's other fields.
    assert MAX_PASTE_CHARACTERS * 3 + 16_384 <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    # The box does not cut a longer paste (silently, mid-line): the form refuses it, saying why.
    assert "maxlength" not in str(ImportNotesForm()["text"])
    assert f"Up to {MAX_PASTE_CHARACTERS:,} characters" in str(ImportNotesForm()["text"].help_text)


def test_a_long_accented_paste_gets_the_forms_own_message(staff_client):
    text = "Conf 2020 Day 1\r\n\r\n" + "é\r\n" * (MAX_PASTE_CHARACTERS // 2)
    response = preview(staff_client, text=text)
    assert response.status_code == 400
    shown = len(text.replace("\r\n", "\n"))  # as the box counts: a line break is one character
    assert f"The pasted notes are too long ({shown:,} characters); paste at most" in (
        response.content.decode()
    )


def test_a_paste_at_the_limit_with_crlf_line_breaks_is_accepted(staff_client):
    # Browsers send CRLF: a paste that fits the box is not refused for the characters it adds.
    header = "Conf 2020 Day 1\n\nA talk\n\n"
    note = "- A note about " + "swarm " * 160 + "mode.\n"
    text = header + note * ((MAX_PASTE_CHARACTERS - len(header)) // len(note))
    text = text.replace("\n", "\r\n")
    assert len(text.replace("\r\n", "\n")) <= MAX_PASTE_CHARACTERS < len(text)
    response = preview(staff_client, text=text)
    assert response.status_code == 200, response.content.decode()[-2000:]


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_a_request_too_large_for_django_gets_a_clear_page(staff_client, settings, debug):
    # The CSRF middleware reads (and refuses) an oversized body before any view runs: the
    # site's handler400 answers it, and with DEBUG on (make run) too, not Django's debug page.
    settings.DEBUG = debug
    text = "Conférence 2020 Day 1\r\n\r\n" + "déjà vu\r\n" * 300_000  # 3.6 MB of form data
    response = preview(staff_client, text=text)
    page = response.content.decode()
    assert response.status_code == 400
    assert "<title>Import failed |" in page
    assert "The notes sent are too large for one request (over 2.5 MB). Paste at most" in page
    assert "or upload the notes as a file (up to 5 MB)." in page
    assert 'name="csrfmiddlewaretoken"' in page  # the form works again at once
    assert Day.objects.count() == 0
    other = staff_client.post("/admin/talks/day/markdown-preview/", {"text": text})
    assert other.status_code == 400
    assert "The notes sent are too large" not in other.content.decode()
    # Elsewhere, DEBUG keeps Django's own page, which names the exception.
    assert ("RequestDataTooBig" in other.content.decode()) is debug


# --- errors at their field, and page titles ----------------------------------------------------


def test_errors_about_the_input_are_shown_at_its_field(staff_client):
    page = preview(
        staff_client, file=SimpleUploadedFile("a.png", b"\x89PNG\x00\x00\x00IHDR")
    ).content.decode()
    field = re.search(r"<input type=\"file\"[^>]*>", page).group(0)
    assert 'aria-invalid="true"' in field
    assert 'aria-describedby="id_file_helptext id_file_error"' in field
    assert re.search(r'<ul class="errorlist" id="id_file_error"><li>This looks like a binary', page)
    page = preview(staff_client, text="   \n ").content.decode()
    assert re.search(r'<ul class="errorlist" id="id_text_error"><li>The notes are empty', page)
    page = preview(staff_client, text="notes\n\n- a\n").content.decode()
    assert re.search(r'id="id_conference_error"><li>Could not tell which conference', page)


def test_each_step_has_a_title_of_its_own(staff_client):
    form = staff_client.get(URL).content.decode()
    assert "<title>Import notes | Confnotes admin</title>" in form  # branded like the admin
    assert '<a href="/admin/">Confnotes admin</a>' in form and "Log out" in form
    assert "<title>Import failed | Confnotes admin</title>" in (
        preview(staff_client, text="").content.decode()
    )
    page = preview(staff_client, text=SEED.read_text()).content.decode()
    assert "<title>Preview import: DockerCon 2016 Highlights Day 1 |" in page
    assert "<h1>Preview import: DockerCon 2016 Highlights Day 1</h1>" in page


def test_a_renamed_tag_is_reused_on_confirm(staff_client):
    Tag.objects.create(name="Container security", slug="security")
    text = (
        "---\nconference: Tag Conf 2020\nday: 1\n---\n\n"
        '## A talk {tags="Networking, Container security"}\n\n'
        '- a note {tags="container SECURITY"}\n'
    )
    response = preview(staff_client, text=text)
    confirmed = staff_client.post(CONFIRM, {"token": token_of(response)})
    assert confirmed.status_code == 302
    talk = Talk.objects.get()
    assert (talk.title, sorted(t.slug for t in talk.tags.all())) == (
        "A talk",
        ["networking", "security"],
    )
    assert Tag.objects.count() == 2
