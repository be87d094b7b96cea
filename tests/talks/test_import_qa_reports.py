"""Imports QA found wanting: the same day twice in one file, a day number out of range, fences
in plain text, front matter with an unknown key or no end, and a conference's name in another
case than the stored one's."""

from __future__ import annotations

import datetime as dt
import time
from io import StringIO

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import CommandError, call_command

from talks.documents import ConferenceDoc, DayDoc, TalkDoc, save_day
from talks.importing import NotesInputError, import_notes, parse_notes, read_notes, save_days
from talks.importing.result import ParseResult
from talks.models import Conference, Day, Highlight, Snippet, Talk
from tests.talks.admin_forms import seen_of, token_of

URL = "/admin/talks/day/import/"
CONFIRM = "/admin/talks/day/import/confirm/"

SAME_DAY_TWICE = """---
conference: Dup2 Conf
---
# Dup2 Conf Day 1 {day=1 date=2026-04-01}
## Talk A
- a1
# Dup2 Conf Day 1 again {day=1 date=2026-04-01}
## Talk B
- b1
"""
SAME_DAY_REFUSED = (
    "These notes hold Day 1 twice: “Dup2 Conf Day 1” (line 4) and “Dup2 Conf Day 1 again” "
    "(line 7). Nothing was imported: give each day its own number (in its title, such as “Day "
    "2”, or after it, such as {day=2}), or import them one at a time."
)
DAY_THOUSAND = """---
conference: DockerCon 2016
day: 1000
---

# DockerCon 2016 Day Thousand

## Keynote

- Swarm mode
"""
DAY_THOUSAND_REFUSED = (
    "Line 3: The front matter's “day:” (“1000”) is not a day number from 1 to 999. Nothing was "
    "imported: correct it, or leave it out to take the number from the day's title (such as "
    "“Day 2”)."
)


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_notes", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def write(tmp_path, text: str, name: str = "notes.md") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def nothing_saved() -> bool:
    return not (Conference.objects.exists() or Day.objects.exists() or Talk.objects.exists())


# --- 2. the same day twice ----------------------------------------------------------------------


def test_notes_holding_the_same_day_twice_are_refused_naming_both(db):
    with pytest.raises(NotesInputError) as refused:
        import_notes(SAME_DAY_TWICE)
    assert str(refused.value) == SAME_DAY_REFUSED
    assert parse_notes(SAME_DAY_TWICE).warnings == []  # the refusal alone says it
    assert nothing_saved()


def test_the_admin_refuses_the_same_day_twice_before_any_preview(staff_client):
    response = staff_client.post(URL, {"format": "auto", "text": SAME_DAY_TWICE})
    page = response.content.decode()
    assert response.status_code == 400
    assert "These notes hold Day 1 twice: “Dup2 Conf Day 1” (line 4) and" in page
    assert 'name="token"' not in page
    assert nothing_saved()
    assert not LogEntry.objects.exists()


def test_the_command_refuses_the_same_day_twice(db, tmp_path):
    with pytest.raises(CommandError, match="These notes hold Day 1 twice"):
        run(write(tmp_path, SAME_DAY_TWICE))
    assert nothing_saved()


def test_two_days_titled_with_the_same_number_are_refused_too(db):
    text = "---\nconference: Dup Conf\n---\n\n# Dup Conf Day 2\n\n## A\n\n- a\n\n# Dup Conf Day 2\n"
    with pytest.raises(NotesInputError, match=r"Day 2 twice: “Dup Conf Day 2” \(line 5\) and "):
        import_notes(text)


def test_saving_two_documents_of_one_day_is_refused_whoever_builds_them(db):
    conference = ConferenceDoc(name="Dup Conf")
    days = [
        DayDoc(conference=conference, number=1, title=title, talks=[TalkDoc(title=title)])
        for title in ("First", "Second")
    ]
    with pytest.raises(NotesInputError, match=r"hold Day 1 of “Dup Conf” more than once"):
        save_days(ParseResult(days=days, warnings=[], format="markdown"))
    assert nothing_saved()


# --- 3. a day number out of range ---------------------------------------------------------------


def test_a_front_matter_day_out_of_range_is_refused_with_one_error(db):
    save_day(DayDoc(conference=ConferenceDoc(name="DockerCon 2016"), number=1, title="Day 1"))
    with pytest.raises(NotesInputError) as refused:
        read_notes(DAY_THOUSAND)
    assert str(refused.value) == DAY_THOUSAND_REFUSED
    assert Day.objects.get().title == "Day 1"


@pytest.mark.parametrize("value", ["0", "1000", "one", "-2"])
def test_the_command_and_the_admin_refuse_a_day_out_of_range(staff_client, tmp_path, value):
    text = DAY_THOUSAND.replace("day: 1000", f"day: {value}")
    with pytest.raises(CommandError, match=rf"Line 3: The front matter's “day:” \(“{value}”\) "):
        run(write(tmp_path, text))
    response = staff_client.post(URL, {"format": "auto", "text": text})
    page = response.content.decode()
    assert response.status_code == 400
    assert f"Line 3: The front matter&#x27;s “day:” (“{value}”) is not a day number" in page
    assert "No day number found" not in page
    assert nothing_saved()


def test_a_day_out_of_range_after_a_title_is_refused(db):
    text = "---\nconference: Conf\n---\n\n# Opening {day=0}\n\n## A\n\n- a\n"
    with pytest.raises(NotesInputError, match=r"^Line 5: The “day=” after the title “Opening” "
                       r"\(“0”\) is not a day number from 1 to 999\."):  # fmt: skip
        import_notes(text)


# --- 7. fences in plain text ----------------------------------------------------------------


FENCED_TEXT = """DockerCon 2016 Highlights Day 1

Swarm mode

- Start a service:

```docker
docker service create --name web -p 80:80 nginx
docker service ls
```

- Then look at its tasks

```
docker service ps web
```
"""


def test_plain_text_reads_fenced_commands_as_commands():
    result = parse_notes(FENCED_TEXT, filename="notes.txt")
    talk = result.day.talks[0]
    assert result.warnings == []
    assert [h.text for h in talk.highlights] == ["Start a service:", "Then look at its tasks"]
    snippets = [(s.lines, s.language) for h in talk.highlights for s in h.snippets]
    assert snippets == [
        (["docker service create --name web -p 80:80 nginx", "docker service ls"], "docker"),
        (["docker service ps web"], "console"),
    ]
    assert result.unplaced_lines() == []


def test_plain_text_keeps_fenced_code_that_is_not_commands_as_a_note():
    text = "Conf 2020 Day 1\n\nA talk\n\nThe file:\n\n```yaml\nversion: 3\n- a: b\n```\n"
    talk = parse_notes(text, format="text").day.talks[0]
    assert [h.text for h in talk.highlights] == ["The file:", "```yaml\nversion: 3\n- a: b\n```"]
    assert not talk.highlights[1].snippets


def test_plain_text_warns_about_a_fence_never_closed_and_a_stray_one():
    text = "Conf 2020 Day 1\n\nA talk\n\n- Run it\n\n````\ndocker service ls\n\nMore text\n\n```\n"
    result = parse_notes(text, format="text")
    talk = result.day.talks[0]
    assert [h.text for h in talk.highlights] == ["Run it", "More text"]
    assert talk.highlights[0].snippets[0].lines == ["docker service ls"]
    assert [str(w) for w in result.warnings] == [
        "line 7: This code block is never closed (no closing ```); it was ended at its first "
        "blank line.",
        "line 12: This ``` line opens no code block (nothing follows it, and it is never "
        "closed); it was left out.",
    ]
    assert result.unplaced_lines() == []


def test_plain_text_reads_fences_outside_a_list_too():
    text = FENCED_TEXT.replace("- Start", "Start").replace("- Then", "Then")
    result = parse_notes(text, filename="notes.txt")
    talk = result.day.talks[0]
    assert result.warnings == []
    assert [h.text for h in talk.highlights] == ["Start a service:", "Then look at its tasks"]
    assert [len(s.lines) for h in talk.highlights for s in h.snippets] == [2, 1]


def test_a_plain_text_import_of_fenced_commands_makes_snippets(db):
    day = import_notes(FENCED_TEXT, filename="notes.txt").saved[0][0]
    assert not Highlight.objects.filter(text__contains="```").exists()
    assert [s.lines.count() for s in Snippet.objects.filter(talk__day=day)] == [2, 1]


# --- 8. front matter ------------------------------------------------------------------------


def test_an_unknown_front_matter_key_is_warned_about_at_its_line():
    text = "---\nconference: Conf 2020\nfoo: bar\nday: 2\n---\n\n# Opening\n\n## A\n\n- a\n"
    result = parse_notes(text)
    assert [str(w) for w in result.warnings] == [
        "line 3: The front matter's “foo:” is not one the import uses (“conference:”, "
        "“conference-slug:”, “location:”, “starts-on:”, “title:”, “day:”, “date:”); it was left "
        "out."
    ]
    assert (result.day.conference.name, result.day.number) == ("Conf 2020", 2)


def test_front_matter_never_closed_is_refused_saying_so(db, tmp_path):
    text = "---\nconference: Conf 2020\nday: 2\n\n# Opening\n\n## A\n\n- a\n"
    message = (
        "Line 1: The front matter (the “---” on line 1 and the “key: value” lines after it, up "
        "to line 3) is never closed. Nothing was imported: add a line with only “---” after "
        "line 3, before the notes."
    )
    with pytest.raises(NotesInputError) as refused:
        import_notes(text)
    assert str(refused.value) == message
    with pytest.raises(CommandError, match="is never closed"):
        run(write(tmp_path, text))
    assert nothing_saved()


def test_a_leading_rule_before_prose_is_not_taken_for_front_matter():
    text = "---\nNote: these are rough.\n\nConf 2020 Day 1\n\n## A\n\n- a\n"
    assert parse_notes(text).refusal == ""


# --- 9. a conference's name in another case --------------------------------------------------


def test_a_name_in_another_case_is_the_stored_conference_not_a_rename(demo_day):
    text = "dockercon 2016 Highlights Day 2\n\nKeynote highlights\n\n- Something new\n"
    outcome = import_notes(text, dry_run=True)
    assert outcome.conference_changes == []
    assert outcome.days[0].conference.name == "DockerCon 2016"
    day = import_notes(text).saved[0][0]
    assert (day.number, day.conference_id) == (2, demo_day.conference_id)
    assert Conference.objects.get().name == "DockerCon 2016"


def test_a_name_in_another_case_finds_a_conference_with_a_slug_of_its_own(db):
    conference = ConferenceDoc(name="DockerCon 2016", slug="dc16", starts_on=dt.date(2016, 6, 19))
    save_day(DayDoc(conference=conference, number=1, title="Day 1", talks=[TalkDoc("A")]))
    outcome = import_notes("---\nconference: DOCKERCON 2016\n---\n\n# Day 2\n\n## B\n\n- b\n")
    assert outcome.conference_changes == []
    assert list(Conference.objects.values_list("slug", "name")) == [("dc16", "DockerCon 2016")]
    assert Day.objects.filter(conference__slug="dc16").count() == 2


def test_the_admin_preview_proposes_no_case_only_rename(staff_client, demo_day):
    text = "dockercon 2016 Highlights Day 2\n\nKeynote highlights\n\n- Something new\n"
    response = staff_client.post(URL, {"format": "auto", "text": text})
    page = response.content.decode()
    assert response.status_code == 200
    assert "“dockercon 2016”" not in page
    staff_client.post(CONFIRM, {"token": token_of(response), "removals": seen_of(response)})
    assert Conference.objects.get().name == "DockerCon 2016"


def test_the_admin_says_so_if_the_days_confirmed_repeat_one(staff_client, monkeypatch):
    text = "---\nconference: Dup Conf\n---\n\n# Dup Conf Day 1\n\n## A\n\n- a\n\n# Dup Conf Day 2\n"
    response = staff_client.post(URL, {"format": "auto", "text": text})
    assert response.status_code == 200
    result = read_notes(text)
    result.days[1].number = 1  # as a reader that let it through would leave them

    monkeypatch.setattr("talks.admin_import.read_notes", lambda *args, **kwargs: result)
    confirmed = staff_client.post(
        CONFIRM, {"token": token_of(response), "removals": seen_of(response)}
    )

    assert confirmed.status_code == 400
    assert "Nothing was imported: these notes hold Day 1 of “Dup Conf” more than once." in (
        confirmed.content.decode()
    )
    assert nothing_saved()


def test_a_day_number_refused_is_the_only_error_among_several_days(db):
    text = "---\nconference: Conf\n---\n\n# Conf Day 2\n\n## A\n\n- a\n\n# Opening {day=0}\n\n- b\n"
    with pytest.raises(NotesInputError) as refused:
        import_notes(text)
    assert str(refused.value).startswith("Line 11: The “day=” after the title “Opening” (“0”)")
    assert "(And" not in str(refused.value)


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_many_fences_never_closed_take_no_quadratic_time(fmt):
    text = "Conf 2020 Day 1\n\nA talk\n\n- note\n\n" + "```bash\ndocker ps\n\n" * 20_000
    started = time.perf_counter()
    result = parse_notes(text, format=fmt)
    assert time.perf_counter() - started < 5  # generous: it took minutes when quadratic
    assert len(result.day.talks[0].highlights[0].snippets) == 20_000
    assert "never closed" in result.warnings[-1].message
