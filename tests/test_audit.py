"""The audit trail of edits: every change saved in the admin leaves a LogEntry naming who did
it and which fields changed, and nobody can alter that trail from the web."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.utils import timezone

from talks.admin_import import IMPORTS_PER_HOUR
from talks.models import Conference, Day, Highlight, Snippet, SnippetLine, Tag, Talk

pytestmark = pytest.mark.django_db


class _Form(HTMLParser):
    """What a browser would submit from the admin's change form (``<form id="..._form">``)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.data: dict[str, list[str]] = {}
        self._inside = False
        self._textarea: list[str] | None = None
        self._select: str | None = None

    def _add(self, name: str | None, value: str) -> None:
        if name:
            self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._inside = a.get("id", "").endswith("_form")
        elif not self._inside:
            return
        elif tag == "input":
            kind = a.get("type", "text")
            if kind in {"submit", "button", "image", "file", "reset"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in a:
                return
            self._add(a.get("name"), a.get("value", "on" if kind == "checkbox" else ""))
        elif tag == "textarea":
            self._textarea = [a.get("name", ""), ""]
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self._add(self._select, a.get("value", ""))

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False
        elif tag == "textarea" and self._textarea is not None:
            name, value = self._textarea
            self._add(name, value.removeprefix("\n"))  # as HTML drops the first newline
            self._textarea = None
        elif tag == "select":
            self._select = None


def form_data(html: str) -> dict[str, list[str]]:
    parser = _Form()
    parser.feed(html)
    return parser.data


@pytest.fixture
def notes(db):
    conference = Conference.objects.create(name="DockerCon 2016", slug="dockercon-2016")
    day = Day.objects.create(conference=conference, number=1, title="Day 1", slug="day-1")
    talk = Talk.objects.create(day=day, title="Keynote", slug="keynote")
    highlight = Highlight.objects.create(talk=talk, text="Swarm mode is built in")
    snippet = Snippet.objects.create(talk=talk, highlight=highlight, caption="Try it")
    SnippetLine.objects.create(snippet=snippet, command="docker service ls")
    tag = Tag.objects.create(name="orchestration", slug="orchestration")
    return {
        Conference: (conference, "description", "Description"),
        Day: (day, "summary", "Summary"),
        Talk: (talk, "title", "Title"),
        Highlight: (highlight, "text", "Text"),
        Snippet: (snippet, "caption", "Caption"),
        Tag: (tag, "name", "Name"),
    }


def _admin_url(obj, action: str) -> str:
    meta = obj._meta
    return f"/admin/{meta.app_label}/{meta.model_name}/{obj.pk}/{action}/"


@pytest.mark.parametrize("model", [Conference, Day, Talk, Highlight, Snippet, Tag])
def test_it_records_who_changed_which_fields(staff_client, staff_user, notes, model):
    obj, field, label = notes[model]
    page = staff_client.get(_admin_url(obj, "change"))
    assert page.status_code == 200
    data = form_data(page.content.decode())
    assert field in data, sorted(data)
    data[field] = ["Edited in the admin"]
    response = staff_client.post(_admin_url(obj, "change"), {**data, "_save": "Save"})
    assert response.status_code == 302, response.content.decode()[-3000:]
    obj.refresh_from_db()
    assert getattr(obj, field) == "Edited in the admin"

    entry = LogEntry.objects.get(
        content_type=ContentType.objects.get_for_model(model), object_id=str(obj.pk)
    )
    assert entry.user == staff_user
    assert entry.action_flag == CHANGE
    changed = json.loads(entry.change_message)
    assert changed == [{"changed": {"fields": [label]}}]
    assert entry.get_change_message() == f"Changed {label}."


def test_it_records_changes_to_inline_rows_too(staff_client, notes):
    snippet = notes[Snippet][0]
    line = snippet.lines.get()
    data = form_data(staff_client.get(_admin_url(snippet, "change")).content.decode())
    data["lines-0-command"] = ["docker node ls"]
    response = staff_client.post(_admin_url(snippet, "change"), {**data, "_save": "Save"})
    assert response.status_code == 302
    entry = LogEntry.objects.get(object_id=str(snippet.pk), action_flag=CHANGE)
    assert json.loads(entry.change_message) == [
        {"changed": {"name": "snippet line", "object": "docker node ls", "fields": ["Command"]}}
    ]
    line.refresh_from_db()
    assert line.command == "docker node ls"


def test_it_records_additions_and_deletions(staff_client, staff_user, notes):
    response = staff_client.post(
        "/admin/talks/tag/add/", {"name": "security", "slug": "security", "_save": "Save"}
    )
    assert response.status_code == 302
    tag = Tag.objects.get(slug="security")
    added = LogEntry.objects.get(object_id=str(tag.pk), action_flag=ADDITION)
    assert added.user == staff_user and added.object_repr == "security"

    response = staff_client.post(_admin_url(tag, "delete"), {"post": "yes"})
    assert response.status_code == 302
    assert not Tag.objects.filter(pk=tag.pk).exists()
    deleted = LogEntry.objects.get(object_id=str(tag.pk), action_flag=DELETION)
    assert deleted.user == staff_user and deleted.object_repr == "security"


def test_it_shows_the_trail_to_staff_and_lets_nobody_edit_it(staff_client, notes):
    obj, field, _ = notes[Day]
    data = form_data(staff_client.get(_admin_url(obj, "change")).content.decode())
    staff_client.post(_admin_url(obj, "change"), {**data, field: "New", "_save": "Save"})
    entry = LogEntry.objects.get()
    listing = staff_client.get("/admin/admin/logentry/")
    assert listing.status_code == 200
    assert "Changed Summary." in listing.content.decode()
    url = f"/admin/admin/logentry/{entry.pk}/"
    assert staff_client.post(url + "change/", {"change_message": "[]"}).status_code == 403
    assert staff_client.post(url + "delete/", {"post": "yes"}).status_code == 403
    assert staff_client.get("/admin/admin/logentry/add/").status_code == 403
    entry.refresh_from_db()
    assert entry.get_change_message() == "Changed Summary."


# -- imports ------------------------------------------------------------------------------------

IMPORT = "/admin/talks/day/import/"
NOTES = "DockerCon 2016 Highlights Day 1\n\nKeynote\n\n• Swarm mode is built in\n"


def _import(client) -> object:
    preview = client.post(IMPORT, {"format": "auto", "text": NOTES})
    assert preview.status_code == 200, preview.content.decode()[-2000:]
    token = re.search(r'name="token" value="([^"]+)"', preview.content.decode()).group(1)
    return client.post(IMPORT + "confirm/", {"token": token})


def test_it_records_each_imported_day_with_who_and_how_much(staff_client, staff_user):
    assert _import(staff_client).status_code == 302
    day = Day.objects.get()
    entry = LogEntry.objects.get(object_id=str(day.pk))
    assert entry.user == staff_user and entry.action_flag == CHANGE
    assert entry.get_change_message().startswith("Imported from pasted text: ")
    assert " created, 0 updated, 0 unchanged, 0 removed." in entry.get_change_message()


def test_it_limits_imports_per_editor_with_429(staff_client, staff_user, other_staff):
    day = Day.objects.create(
        conference=Conference.objects.create(name="C", slug="c"), number=1, title="D", slug="d"
    )
    LogEntry.objects.bulk_create(
        LogEntry(
            user=staff_user,
            content_type=ContentType.objects.get_for_model(Day),
            object_id=str(day.pk),
            object_repr="D",
            action_flag=CHANGE,
            change_message="Imported from notes.md: 1 created, 0 updated, 0 unchanged, 0 removed.",
        )
        for _ in range(IMPORTS_PER_HOUR)
    )
    refused = staff_client.post(IMPORT, {"format": "auto", "text": NOTES})
    assert refused.status_code == 429
    assert f"Too many imports: at most {IMPORTS_PER_HOUR} days an hour" in refused.content.decode()
    assert staff_client.post(IMPORT + "confirm/", {"token": "x"}).status_code == 429
    assert Day.objects.count() == 1
    # Another editor is counted apart, and an hour later the limit is lifted.
    assert _import(other_staff).status_code == 302
    LogEntry.objects.filter(user=staff_user).update(
        action_time=timezone.now() - timedelta(hours=1, seconds=1)
    )
    assert staff_client.post(IMPORT, {"format": "auto", "text": NOTES}).status_code == 200


@pytest.fixture
def other_staff(django_user_model):
    user = django_user_model.objects.create_user("other-editor", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    return client
