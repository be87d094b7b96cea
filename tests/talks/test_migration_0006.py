"""Migration 0006 renders stored command lines again, without Pygments' spans around spaces."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE = ("talks", "0005_tag_order_and_web_addresses")
AFTER = ("talks", "0006_commands_without_space_spans")


def test_it_renders_stored_command_lines_again():
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])
    apps = executor.loader.project_state([BEFORE]).apps
    names = ("Conference", "Day", "Talk", "Snippet", "SnippetLine")
    Conference, Day, Talk, Snippet, SnippetLine = (apps.get_model("talks", n) for n in names)
    day = Day.objects.create(
        conference=Conference.objects.create(name="C", slug="c"), number=1, title="D", slug="d"
    )
    snippet = Snippet.objects.create(talk=Talk.objects.create(day=day, title="T", slug="t"))
    old_html = 'docker<span class="w"> </span>service<span class="w"> </span>ls'
    line = SnippetLine.objects.create(
        snippet=snippet, position=0, command="docker service ls", command_html=old_html
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([AFTER])
    apps = executor.loader.project_state([AFTER]).apps
    stored = apps.get_model("talks", "SnippetLine").objects.get(pk=line.pk)
    assert stored.command_html == "docker service ls"
