"""Two editors on one admin page: the second save is refused instead of undoing the first."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from talks.admin_conflicts import CONFLICT
from talks.models import Highlight, Talk
from tests.talks.admin_forms import inline_form, note_form

pytestmark = pytest.mark.django_db


def seen_on(response) -> str:
    return re.search(r'name="seen" value="([0-9a-f]{64})"', response.content.decode()).group(1)


@pytest.fixture
def other_client(staff_user) -> Client:
    other = Client()
    other.force_login(staff_user)
    return other


def talk_rows(talk: Talk) -> list[tuple[Highlight, Highlight | None]]:
    notes = list(talk.highlights.order_by("pk"))
    return [(note, note.parent) for note in notes]


def test_a_talk_saved_from_a_page_opened_before_another_save_is_refused(
    staff_client, other_client, demo_day
):
    talk = Talk.objects.filter(day=demo_day).first()
    url = f"/admin/talks/talk/{talk.pk}/change/"
    seen_by_a = seen_on(staff_client.get(url))

    # B fixes a note's text and saves.
    rows = talk_rows(talk)
    fixed = rows[0][0]
    b_form = inline_form(talk, rows) | {"seen": seen_on(other_client.get(url))}
    b_form["highlights-0-text"] = "Fixed by B."
    assert other_client.post(url, b_form).status_code == 302
    assert Highlight.objects.get(pk=fixed.pk).text == "Fixed by B."

    # A, on the page opened before, changes only the title: their page still holds the old
    # text of B's note, so saving it would put that text back.
    a_form = inline_form(talk, rows) | {"seen": seen_by_a, "title": "Retitled by A"}
    refused = staff_client.post(url, a_form)
    assert refused.status_code == 200
    page = refused.content.decode()
    assert CONFLICT.format(what="talk").split(",")[0] in page
    assert 'value="Retitled by A"' in page  # what A typed is still there
    assert Talk.objects.get(pk=talk.pk).title == talk.title  # nothing saved
    assert Highlight.objects.get(pk=fixed.pk).text == "Fixed by B."

    # Saving that form again is deliberate: A's version replaces B's.
    again = staff_client.post(url, a_form | {"seen": seen_on(refused)})
    assert again.status_code == 302
    assert Talk.objects.get(pk=talk.pk).title == "Retitled by A"
    assert Highlight.objects.get(pk=fixed.pk).text == fixed.text


def test_saving_twice_from_fresh_pages_is_no_conflict(staff_client, demo_day):
    talk = Talk.objects.filter(day=demo_day).first()
    url = f"/admin/talks/talk/{talk.pk}/change/"
    for title in ("First title", "Second title"):
        form = inline_form(talk, talk_rows(talk)) | {"seen": seen_on(staff_client.get(url))}
        assert staff_client.post(url, form | {"title": title}).status_code == 302
        assert Talk.objects.get(pk=talk.pk).title == title


def test_a_note_page_with_fieldsets_is_checked_too(staff_client, other_client, demo_day):
    note = Highlight.objects.filter(talk__day=demo_day).first()
    url = f"/admin/talks/highlight/{note.pk}/change/"
    seen_by_a = seen_on(staff_client.get(url))
    b_form = note_form(note, text="B's words.", seen=seen_on(other_client.get(url)))
    assert other_client.post(url, b_form).status_code == 302

    refused = staff_client.post(url, note_form(note, text="A's words.", seen=seen_by_a))
    assert refused.status_code == 200
    assert "Someone saved changes to this highlight after you opened this page" in (
        refused.content.decode()
    )
    assert Highlight.objects.get(pk=note.pk).text == "B's words."
