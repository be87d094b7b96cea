"""Importing needs the permissions that editing by hand would: add or change days, add
conferences, delete what the import removes. Staff without them get a clear 403."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from talks.models import Conference, Day, Talk
from tests.factories import PARTIAL
from tests.talks.admin_forms import seen_of, token_of
from tests.talks.test_import_seed import SEED

URL = "/admin/talks/day/import/"
CONFIRM = "/admin/talks/day/import/confirm/"


@pytest.fixture
def editor(db, django_user_model):
    return django_user_model.objects.create_user(username="ed", password="pw", is_staff=True)


def allow(user, *codenames: str) -> None:
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="talks", codename__in=codenames)
    )


def login(client, user):
    client.force_login(user)
    return client


def test_it_refuses_staff_without_permissions(client, editor):
    login(client, editor)
    response = client.get(URL)
    assert response.status_code == 403
    page = response.content.decode()
    assert "<title>Import not allowed |" in page
    assert "You may not import notes: that needs permission to add or change days" in page
    assert client.post(URL, {"format": "auto", "text": SEED.read_text()}).status_code == 403
    assert client.post(CONFIRM, {"token": "x"}).status_code == 403
    assert not Conference.objects.exists()


def test_it_hides_the_import_button_from_those_who_may_not_import(client, editor):
    allow(editor, "view_day")
    page = login(client, editor).get("/admin/talks/day/").content.decode()
    assert f'href="{URL}"' not in page
    allow(editor, "add_day")
    editor = type(editor).objects.get(pk=editor.pk)  # fresh permission cache
    page = login(client, editor).get("/admin/talks/day/").content.decode()
    assert f'href="{URL}"' in page


def test_a_new_conference_needs_its_permission(client, editor):
    allow(editor, "add_day")
    login(client, editor)
    response = client.post(URL, {"format": "auto", "text": SEED.read_text()})
    assert response.status_code == 403
    page = response.content.decode()
    assert "You may not import these notes: that needs permission to add conferences" in page
    assert 'name="token"' not in page  # no import button
    allow(editor, "add_conference")
    response = client.post(URL, {"format": "auto", "text": SEED.read_text()})
    assert response.status_code == 200
    assert client.post(CONFIRM, {"token": token_of(response)}).status_code == 302
    assert Day.objects.count() == 1


def test_updating_a_day_needs_change_day_and_removing_needs_delete(client, editor, demo_day):
    allow(editor, "add_day")
    login(client, editor)
    response = client.post(URL, {"format": "auto", "text": SEED.read_text()})
    assert response.status_code == 403
    assert "needs permission to change days" in response.content.decode()

    allow(editor, "change_day")
    response = client.post(URL, {"format": "auto", "text": PARTIAL})
    assert response.status_code == 403
    needed = "needs permission to delete talks, delete highlights and delete snippets, which"
    assert needed in response.content.decode()
    allow(editor, "delete_talk", "delete_highlight")
    response = client.post(URL, {"format": "auto", "text": PARTIAL})
    assert response.status_code == 403
    assert "needs permission to delete snippets" in response.content.decode()
    allow(editor, "delete_snippet")
    response = client.post(URL, {"format": "auto", "text": PARTIAL})
    assert response.status_code == 200
    confirm = {"token": token_of(response), "removals": seen_of(response), "confirm_removal": "yes"}
    confirmed = client.post(CONFIRM, confirm)
    assert confirmed.status_code == 302
    assert Talk.objects.filter(day=demo_day).count() == 1


def test_permissions_are_checked_again_on_confirm(client, editor, demo_day):
    allow(editor, "change_day", "delete_talk", "delete_highlight", "delete_snippet")
    login(client, editor)
    response = client.post(URL, {"format": "auto", "text": PARTIAL})
    editor.user_permissions.remove(Permission.objects.get(codename="delete_talk"))
    refused = client.post(CONFIRM, {"token": token_of(response), "confirm_removal": "yes"})
    assert refused.status_code == 403
    assert "needs permission to delete talks" in refused.content.decode()
    assert Talk.objects.filter(day=demo_day).count() == 4


def test_changing_a_stored_conference_needs_change_conference(client, editor, demo_day):
    moved = PARTIAL.replace("day: 1\n", "day: 1\nlocation: Copenhagen\n")
    allow(editor, "change_day", "delete_talk", "delete_highlight", "delete_snippet")
    login(client, editor)
    response = client.post(URL, {"format": "auto", "text": moved})
    assert response.status_code == 403
    assert "needs permission to change conferences" in response.content.decode()
    assert Conference.objects.get().location == "Seattle"

    allow(editor, "change_conference")
    response = client.post(URL, {"format": "auto", "text": moved})
    assert response.status_code == 200
    assert "<strong>changes</strong> the stored conference’s place" in response.content.decode()
    confirm = {"token": token_of(response), "removals": seen_of(response), "confirm_removal": "yes"}
    assert client.post(CONFIRM, confirm).status_code == 302
    assert Conference.objects.get().location == "Copenhagen"


def test_notes_that_leave_the_conference_as_it_is_need_no_change_conference(
    client, editor, demo_day
):
    allow(editor, "change_day")
    response = login(client, editor).post(URL, {"format": "auto", "text": SEED.read_text()})
    assert response.status_code == 200
    assert "changes</strong> the stored conference" not in response.content.decode()
