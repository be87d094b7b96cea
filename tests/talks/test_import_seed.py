"""The seed file imports to exactly the demo day (talks/demo.py), item by item."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from talks import documents
from talks.demo import DOCKERCON_2016_DAY_1
from talks.documents import DayDoc, HighlightDoc
from talks.exporting import day_document
from talks.importing import ImportOptions, import_notes, parse_notes
from talks.models import Conference, Day, Highlight, SnippetLine, Talk

# A copy of ../shared/seeds/dockercon-2016-day1.txt, so the repository tests itself.
SEED = Path(__file__).resolve().parents[2] / "talks" / "seeds" / "dockercon-2016-day1.txt"
DATES = ImportOptions(starts_on=dt.date(2016, 6, 19), date=dt.date(2016, 6, 20))


def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


def comparable(value, *, tags: bool = True):
    """A document as plain data, without source lines (and without tags if asked)."""
    if isinstance(value, list):
        return [comparable(item, tags=tags) for item in value]
    if dataclasses.is_dataclass(value):
        skip = {"source_line", "id", "line_ids", "resolved_at", "resolution", "resolution_url"}
        skip.add("absent")  # what a parse did not find, not what the day holds
        if not tags:
            skip.add("tags")
        return {
            f.name: comparable(getattr(value, f.name), tags=tags)
            for f in dataclasses.fields(value)
            if f.name not in skip
        }
    return value


def items(doc: DayDoc, *, tags: bool = False) -> list[tuple[str, object]]:
    """Every fact of a day as (where, what): a failure names the exact item that differs."""
    out: list[tuple[str, object]] = [
        ("conference", comparable(doc.conference)),
        *[(f"day.{name}", getattr(doc, name)) for name in ("number", "title", "date")],
        *[(f"day.{name}", getattr(doc, name)) for name in ("intro", "summary", "author")],
        *[(f"day.{name}", getattr(doc, name)) for name in ("author_title", "next_day_title")],
    ]

    def walk(highlights: list[HighlightDoc], where: str) -> None:
        for index, h in enumerate(highlights):
            here = f"{where}/{index}"
            out.append((here, (h.text, h.style, h.kind, h.tags if tags else None)))
            out.extend((f"{here}/snippet{k}", comparable(s)) for k, s in enumerate(h.snippets))
            walk(h.children, here)
        out.append((f"{where}/count", len(highlights)))

    for index, talk in enumerate(doc.talks):
        where = f"talk{index}"
        out.append((where, (talk.title, talk.slug, talk.kind, talk.session_url)))
        out.append((f"{where}/snippets", comparable(talk.snippets)))
        walk(talk.highlights, where)
    out.append(("talks", len(doc.talks)))
    return out


def assert_same_day(found: DayDoc, expected: DayDoc, *, tags: bool = False) -> None:
    for (where, got), (where_expected, want) in zip(
        items(found, tags=tags), items(expected, tags=tags), strict=True
    ):
        assert where == where_expected, f"structure differs at {where_expected}"
        assert got == want, f"{where}: {got!r} != {want!r}"


def test_it_reads_the_seed_as_the_demo_day():
    result = parse_notes(seed_text(), options=DATES)
    assert result.format == "text"
    assert result.warnings == []
    assert_same_day(result.day, DOCKERCON_2016_DAY_1)
    assert comparable(result.day, tags=False) == comparable(DOCKERCON_2016_DAY_1, tags=False)


def test_it_infers_conference_day_and_place_from_the_text():
    day = parse_notes(seed_text()).day
    assert (day.conference.name, day.conference.slug) == ("DockerCon 2016", "dockercon-2016")
    assert day.conference.location == "Seattle"
    assert (day.number, day.title) == (1, "DockerCon 2016 Highlights Day 1")


def test_it_takes_conference_and_day_from_options_over_the_text():
    options = ImportOptions(conference="DockerCon US 2016", day=3, location="Seattle, WA")
    day = parse_notes(seed_text(), options=options).day
    assert (day.conference.name, day.conference.slug) == ("DockerCon US 2016", "dockercon-us-2016")
    assert (day.number, day.conference.location) == (3, "Seattle, WA")


def test_it_accounts_for_every_line_of_the_seed():
    result = parse_notes(seed_text())
    assert result.unplaced_lines() == []
    assert result.roles[0] == "title"
    assert result.roles[20] == "snippet"  # docker service create ...
    assert result.roles[-1] == "sign-off"


def test_it_saves_the_seed_as_the_demo_rows(db):
    outcome = import_notes(seed_text(), options=DATES)
    day = outcome.saved[0][0]
    assert_same_day(day_document(Day.objects.get(pk=day.pk)), DOCKERCON_2016_DAY_1)
    assert Talk.objects.count() == 4
    assert Highlight.objects.count() == 49
    assert list(SnippetLine.objects.values_list("command", flat=True)) == [
        "docker service create --name vote -p 8080:80 instavote/vote",
        "docker service ls",
        "docker service tasks vote",
        "docker service scale vote=6",
        "docker service update vote --image instavote/vote:movies",
        "docker service update vote --image instavote/vote:indent --update-parallelism 2 "
        "--update-delay 10s",
    ]
    assert Highlight.objects.filter(kind="follow-up").count() == 3


def test_it_updates_instead_of_duplicating_on_reimport(db):
    import_notes(seed_text(), options=DATES)
    ids = set(Highlight.objects.values_list("pk", flat=True))
    outcome = import_notes(seed_text(), options=DATES)
    report = outcome.saved[0][1]
    assert (report.created, report.updated, report.deleted) == (0, 0, 0)
    assert set(Highlight.objects.values_list("pk", flat=True)) == ids
    assert Day.objects.count() == 1


def test_it_keeps_the_demo_days_rows_and_tags_when_the_seed_is_imported_over_it(demo_day):
    before = day_document(demo_day)
    line_ids = list(SnippetLine.objects.values_list("pk", flat=True))
    report = import_notes(seed_text()).saved[0][1]
    assert (report.created, report.deleted) == (0, 0)
    after = day_document(Day.objects.get(pk=demo_day.pk))
    assert comparable(after) == comparable(before)  # tags and dates kept too
    assert list(SnippetLine.objects.values_list("pk", flat=True)) == line_ids


def test_it_writes_nothing_when_saving_fails_half_way(db, monkeypatch):
    # Snippet lines are written last, after the talks and highlights.
    original = documents._render_line
    calls = {"n": 0}

    def failing_render(line):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full")
        original(line)

    monkeypatch.setattr(documents, "_render_line", failing_render)
    with pytest.raises(RuntimeError):
        import_notes(seed_text(), options=DATES)
    assert Conference.objects.count() == 0
    assert Highlight.objects.count() == 0


def test_it_leaves_an_existing_day_untouched_when_a_reimport_fails(demo_day, monkeypatch):
    before = comparable(day_document(demo_day))
    edited = seed_text().replace("Minimal kernel", "Minimal kernel, really")

    def failing_save(self, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Highlight, "render", failing_save)  # every written highlight is rendered
    with pytest.raises(RuntimeError):
        import_notes(edited)
    assert comparable(day_document(Day.objects.get(pk=demo_day.pk))) == before
