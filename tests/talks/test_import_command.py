"""manage.py import_notes: messages for people, counts, warnings with line numbers."""

from __future__ import annotations

import io
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from talks.models import Day, Highlight
from tests.talks.test_import_seed import SEED


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_notes", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_imports_the_seed_and_says_what_it_did(db):
    out, err = run(str(SEED), "--starts-on", "2016-06-19", "--date", "2016-06-20")
    assert err == ""
    assert out == (
        "DockerCon 2016, Day 1: “DockerCon 2016 Highlights Day 1” (plain text, UTF-8): 4 talks, "
        "49 highlights, 3 follow-ups, 1 snippet (6 commands), 3 links. "
        "Rows: 62 created, 0 updated, 0 unchanged, 0 removed.\n"
    )
    assert Day.objects.get().date.isoformat() == "2016-06-20"
    again, _ = run(str(SEED))
    assert again.endswith("Rows: 0 created, 0 updated, 62 unchanged, 0 removed.\n")


def test_it_saves_nothing_on_a_dry_run(db):
    out, _ = run(str(SEED), "--dry-run", "--conference", "DockerCon 2016", "--day", "1")
    assert out.endswith("Dry run: nothing was saved.\n")
    assert Highlight.objects.count() == 0


def test_a_dry_run_lists_the_stored_texts_it_would_replace(db):
    run(str(SEED), "--starts-on", "2016-06-19")
    note = Highlight.objects.get(text__startswith="Docker for Mac Beta is now open")
    Highlight.objects.filter(pk=note.pk).update(text=note.text.replace("Beta", "beta", 1))
    out, _ = run(str(SEED), "--dry-run")
    assert (
        "Importing would replace 1 stored text of “DockerCon 2016 Highlights Day 1” with the "
        "file's:\n"
    ) in out
    assert f"  Keynote highlights · Note #{note.pk}: “Docker for Mac [beta] is now open" in out
    assert "” → “Docker for Mac [Beta] is now open" in out
    assert Highlight.objects.get(pk=note.pk).text.startswith("Docker for Mac beta")  # not saved


def test_it_reads_standard_input_and_prints_warnings_with_line_numbers(db, monkeypatch):
    text = "Conf 2020 Day 1\n\n• a note before any talk\n"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    out, err = run("-")
    assert err == (
        "-:3: These notes come before any talk title; they were put in a talk called “Notes”.\n"
    )
    assert "Imported with 1 warning (above)." in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty.txt: The notes are empty: there is nothing to import."),
        (b"\x00\x01PK\x03\x04", "looks like a binary file"),
        (b"Just a title\n", "Found nothing to import: no talks, notes, intro or summary, only the "
                           "title “Just a title”."),
        (b"notes\n\n- a\n", "Could not tell which conference these notes are from"),
    ],
)  # fmt: skip
def test_it_explains_why_a_file_cannot_be_imported(db, tmp_path, content, message):
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(str(path))
    assert Day.objects.count() == 0


def test_it_refuses_files_over_five_megabytes_giving_their_real_size(db, tmp_path):
    path = tmp_path / "huge.txt"
    path.write_bytes(b"x" * 6_186_598)
    with pytest.raises(
        CommandError, match=r"huge.txt: The notes are 5.9 MB \(6,186,598 bytes\); the limit is 5 MB"
    ):
        run(str(path))


def test_it_refuses_too_much_standard_input(db, monkeypatch):
    data = io.BytesIO(b"x" * (5 * 1024 * 1024 + 10))
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(data))
    with pytest.raises(CommandError, match=r"-: The notes are more than 5 MB; the limit is 5 MB\."):
        run("-")


def test_it_refuses_a_json_export(db, tmp_path, demo_day):
    from talks.exporting import JsonExporter

    path = tmp_path / "day1.json"
    path.write_text(JsonExporter().export_day(demo_day))
    with pytest.raises(CommandError, match="This is a Confnotes JSON export; import the Markdown"):
        run(str(path))


def test_it_explains_a_missing_file_and_bad_options(db, tmp_path):
    with pytest.raises(CommandError, match=r"nope\.txt: no such file\."):
        run(str(tmp_path / "nope.txt"))
    with pytest.raises(CommandError, match="“2016-13-40” is not a date like 2016-06-20"):
        run(str(SEED), "--date", "2016-13-40")
    with pytest.raises(CommandError, match="“0” is not a day number from 1 to 999"):
        run(str(SEED), "--day", "0")
