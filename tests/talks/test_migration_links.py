"""Migrations 0008, 0009 and 0010 render stored notes again where their links now differ:
bare URLs end differently (0008, 0009), a disarmed link is plain text (0010)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from talks.markdown import render_markdown

pytestmark = pytest.mark.django_db(transaction=True)

# (migration before, the migration, an intro, a note, the note's link once rendered again)
MIGRATIONS = [
    (
        ("talks", "0007_day_number_range_and_snippets_outlive_notes"),
        ("talks", "0008_links_in_parentheses"),
        "See (https://example.com/intro).",
        "Docs (https://example.com/wiki/Foo_(bar))",
        "https://example.com/wiki/Foo_(bar)",
    ),
    (
        ("talks", "0008_links_in_parentheses"),
        ("talks", "0009_links_in_emphasis"),
        "See *https://example.com/intro*.",
        "Slides: **https://example.com/bold**",
        "https://example.com/bold",
    ),
    (
        ("talks", "0009_links_in_emphasis"),
        ("talks", "0010_links_without_address"),
        "See [this](javascript:alert(1)) and https://example.com/intro",
        "[Run me](javascript:alert(1)) or [that](data:text/html,hi), then ![ok](https://example.com/ok)",
        "https://example.com/ok",
    ),
]


@pytest.mark.parametrize(("before", "after", "intro", "text", "href"), MIGRATIONS)
def test_it_renders_stored_notes_again_and_moves_the_pages_version(
    before, after, intro, text, href
):
    executor = MigrationExecutor(connection)
    executor.migrate([before])
    apps = executor.loader.project_state([before]).apps
    names = ("Conference", "Day", "Talk", "Highlight", "NotesVersion")
    Conference, Day, Talk, Highlight, NotesVersion = (apps.get_model("talks", n) for n in names)
    NotesVersion.objects.update_or_create(pk=1, defaults={"token": "before"})
    day = Day.objects.create(
        conference=Conference.objects.create(name="C", slug="c"),
        number=1,
        title="D",
        slug="d",
        intro=intro,
        intro_html=f"<p>{intro}</p>",  # as stored before: no link
    )
    talk = Talk.objects.create(day=day, title="T", slug="t")
    note = Highlight.objects.create(talk=talk, position=0, text=text, text_html="stale")
    plain = Highlight.objects.create(
        talk=talk, position=1, text="Nothing to link.", text_html="Nothing to link."
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([after])
    apps = executor.loader.project_state([after]).apps
    notes = apps.get_model("talks", "Highlight").objects
    assert notes.get(pk=note.pk).text_html == render_markdown(text, inline=True)
    assert f'href="{href}"' in notes.get(pk=note.pk).text_html
    assert "<a>" not in notes.get(pk=note.pk).text_html  # no link without an address
    assert notes.get(pk=plain.pk).text_html == "Nothing to link."
    intro_html = apps.get_model("talks", "Day").objects.get(pk=day.pk).intro_html
    assert 'href="https://example.com/intro"' in intro_html
    assert apps.get_model("talks", "NotesVersion").objects.get(pk=1).token != "before"
