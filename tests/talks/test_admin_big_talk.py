"""A talk with many notes can be saved from its change page (one form field per note field)."""

from __future__ import annotations

import pytest

from talks.models import Highlight, Talk
from tests.talks.admin_forms import inline_form

pytestmark = pytest.mark.django_db


def test_a_talk_of_300_notes_saves_from_its_change_page(staff_client, demo_day):
    talk = Talk.objects.filter(day=demo_day).first()
    Highlight.objects.bulk_create(
        Highlight(talk=talk, position=1000 + i, text=f"Note {i}.") for i in range(300)
    )
    rows = list(talk.highlights.order_by("position", "pk"))
    data = inline_form(talk, [(note, note.parent) for note in rows])
    assert len(data) > 2000  # over Django's default limit of 1,000 fields
    data["highlights-5-text"] = "Edited among many."
    response = staff_client.post(f"/admin/talks/talk/{talk.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:500]
    assert Highlight.objects.filter(talk=talk, text="Edited among many.").count() == 1
