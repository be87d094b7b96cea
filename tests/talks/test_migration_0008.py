"""Migration 0008 renders stored notes again where bare URLs now end differently."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from talks.markdown import render_markdown

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE = ("talks", "0007_day_number_range_and_snippets_outlive_notes")
AFTER = ("talks", "0008_links_in_parentheses")


def test_it_renders_stored_notes_again_and_moves_the_pages_version():
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])
    apps = executor.loader.project_state([BEFORE]).apps
    names = ("Conference", "Day", "Talk", "Highlight", "NotesVersion")
    Conference, Day, Talk, Highlight, NotesVersion = (apps.get_model("talks", n) for n in names)
    NotesVersion.objects.update_or_create(pk=1, defaults={"token": "before"})
    day = Day.objects.create(
        conference=Conference.objects.create(name="C", slug="c"),
        number=1,
        title="D",
        slug="d",
        intro="See (https://example.com/intro).",
        intro_html="<p>See (https://example.com/intro).</p>",  # as stored before: no link
    )
    talk = Talk.objects.create(day=day, title="T", slug="t")
    text = "Docs (https://example.com/wiki/Foo_(bar))"
    note = Highlight.objects.create(talk=talk, position=0, text=text, text_html="stale")
    plain = Highlight.objects.create(
        talk=talk, position=1, text="Nothing to link.", text_html="Nothing to link."
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([AFTER])
    apps = executor.loader.project_state([AFTER]).apps
    notes = apps.get_model("talks", "Highlight").objects
    assert notes.get(pk=note.pk).text_html == render_markdown(text, inline=True)
    assert 'href="https://example.com/wiki/Foo_(bar)"' in notes.get(pk=note.pk).text_html
    assert notes.get(pk=plain.pk).text_html == "Nothing to link."
    intro_html = apps.get_model("talks", "Day").objects.get(pk=day.pk).intro_html
    assert 'href="https://example.com/intro"' in intro_html
    assert apps.get_model("talks", "NotesVersion").objects.get(pk=1).token != "before"
