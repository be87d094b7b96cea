"""Editors move notes around the tree in the admin, but cannot make it stop being a tree."""

import pytest

from talks.models import Conference, Day, Highlight, Snippet, SnippetLine, Talk
from talks.search import search
from tests.talks.admin_forms import inline_form, note_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def notes(db) -> dict[str, Highlight]:
    """Two talks: "Swarm mode" > "Self-healing" > "Rolling updates", and "Secrets" beside them;
    "Secure by default" in the other talk."""
    conference = Conference.objects.create(name="DockerCon 2016", slug="dockercon-2016")
    day = Day.objects.create(conference=conference, number=1, title="Day 1")
    keynote = Talk.objects.create(day=day, title="Keynote", slug="keynote")
    security = Talk.objects.create(day=day, title="Security", slug="security", position=1)
    swarm = Highlight.objects.create(talk=keynote, text="Swarm mode")
    healing = Highlight.objects.create(talk=keynote, parent=swarm, text="Self-healing")
    updates = Highlight.objects.create(talk=keynote, parent=healing, text="Rolling updates")
    secrets = Highlight.objects.create(talk=keynote, position=1, text="Secrets")
    secure = Highlight.objects.create(talk=security, text="Secure by default")
    return {
        "swarm": swarm,
        "healing": healing,
        "updates": updates,
        "secrets": secrets,
        "secure": secure,
    }


def post_note(client, note: Highlight, **changes):
    return client.post(f"/admin/talks/highlight/{note.pk}/change/", note_form(note, **changes))


def parent_errors(response) -> list[str]:
    assert response.status_code == 200, "the admin accepted the change"
    return response.context["adminform"].form.errors["parent"]


def test_it_refuses_a_note_as_its_own_parent(staff_client, notes):
    swarm = notes["swarm"]
    response = post_note(staff_client, swarm, parent=swarm.pk)
    assert parent_errors(response) == [
        "A note can't be its own parent; leave Parent empty to put it at the top level."
    ]
    swarm.refresh_from_db()
    assert swarm.parent_id is None


@pytest.mark.parametrize("descendant", ["healing", "updates"])
def test_it_refuses_a_note_nested_under_it_as_its_parent(staff_client, notes, descendant):
    swarm, below = notes["swarm"], notes[descendant]
    response = post_note(staff_client, swarm, parent=below.pk)
    assert parent_errors(response) == [
        f"“{below.text}” (note {below.pk}) is nested under this note, so it can't also be its "
        "parent "
        "(that loop would hide both notes)."
    ]
    swarm.refresh_from_db()
    assert swarm.parent_id is None


def test_it_refuses_a_parent_from_another_talk(staff_client, notes):
    healing, secure = notes["healing"], notes["secure"]
    response = post_note(staff_client, healing, parent=secure.pk)
    assert parent_errors(response) == [
        f"“{secure.text}” (note {secure.pk}) is in another talk (“Security”); choose a note of "
        "this talk."
    ]
    healing.refresh_from_db()
    assert healing.parent_id == notes["swarm"].pk


def test_it_still_moves_a_note_anywhere_else_in_its_talk(staff_client, notes, client):
    updates, secrets = notes["updates"], notes["secrets"]
    response = post_note(staff_client, updates, parent=secrets.pk)
    assert response.status_code == 302
    updates.refresh_from_db()
    assert updates.parent_id == secrets.pk
    response = post_note(staff_client, notes["swarm"], parent=secrets.pk)
    assert response.status_code == 302
    page = client.get("/c/dockercon-2016/day-1/").content.decode()
    for note in notes.values():
        assert note.text in page


@pytest.mark.parametrize(
    ("moved", "under"), [("swarm", "swarm"), ("swarm", "updates"), ("healing", "secure")]
)
def test_a_refused_parent_leaves_every_note_on_the_day_page_and_in_the_exports(
    staff_client, notes, client, moved, under
):
    post_note(staff_client, notes[moved], parent=notes[under].pk)
    for url in ("/c/dockercon-2016/day-1/", "/c/dockercon-2016/day-1/export.json"):
        page = client.get(url).content.decode()
        for note in notes.values():
            assert note.text in page, (url, note.text)
    exported = client.get("/c/dockercon-2016/day-1/export.md").content.decode()
    assert (
        "\n## Keynote {.talk}\n\n- Swarm mode\n  - Self-healing\n    - Rolling updates\n"
        in exported
    )


def inline_parent_errors(response) -> list[list[str]]:
    assert response.status_code == 200, "the admin accepted the change"
    (highlights, _snippets) = response.context["inline_admin_formsets"]
    return [form.errors.get("parent", []) for form in highlights.formset.forms]


def test_it_refuses_a_note_as_its_own_parent_in_the_talks_inline(staff_client, notes):
    swarm = notes["swarm"]
    response = staff_client.post(
        f"/admin/talks/talk/{swarm.talk_id}/change/", inline_form(swarm.talk, [(swarm, swarm)])
    )
    assert inline_parent_errors(response) == [
        ["A note can't be its own parent; leave Parent empty to put it at the top level."]
    ]


def test_it_refuses_a_loop_made_of_two_rows_of_the_talks_inline(staff_client, notes):
    # Each row alone is fine against the stored tree; together they make a loop.
    swarm, secrets = notes["swarm"], notes["secrets"]
    response = staff_client.post(
        f"/admin/talks/talk/{swarm.talk_id}/change/",
        inline_form(swarm.talk, [(swarm, secrets), (secrets, swarm)]),
    )
    loop = "is nested under this note, so it can't also be its parent"
    errors = inline_parent_errors(response)
    assert errors[0][0].startswith(f"“Secrets” (note {secrets.pk}) {loop}")
    assert errors[1][0].startswith(f"“Swarm mode” (note {swarm.pk}) {loop}")
    assert Highlight.objects.get(pk=swarm.pk).parent_id is None
    assert Highlight.objects.get(pk=secrets.pk).parent_id is None


def test_it_saves_parents_changed_together_in_the_talks_inline(staff_client, notes):
    swarm, healing, updates, secrets = (
        notes[k] for k in ("swarm", "healing", "updates", "secrets")
    )
    # Turn the chain around: "Rolling updates" on top, "Self-healing" under "Secrets".
    response = staff_client.post(
        f"/admin/talks/talk/{swarm.talk_id}/change/",
        inline_form(swarm.talk, [(swarm, updates), (healing, secrets), (updates, None)]),
    )
    assert response.status_code == 302
    parents = dict(Highlight.objects.filter(talk=swarm.talk).values_list("text", "parent__text"))
    assert parents == {
        "Swarm mode": "Rolling updates",
        "Self-healing": "Secrets",
        "Rolling updates": None,
        "Secrets": None,
    }


def test_a_note_moved_to_another_talk_takes_the_notes_under_it_along(staff_client, notes, client):
    swarm, healing, updates = notes["swarm"], notes["healing"], notes["updates"]
    block = Snippet.objects.create(talk=swarm.talk, highlight=updates)
    SnippetLine.objects.create(snippet=block, command="docker service update web")
    day_2 = Day.objects.create(conference=swarm.talk.day.conference, number=2, title="Day 2")
    workshop = Talk.objects.create(day=day_2, title="Swarm workshop", slug="swarm-workshop")
    assert "Rolling updates" in client.get("/c/dockercon-2016/day-1/").content.decode()

    response = post_note(staff_client, swarm, talk=workshop.pk)
    assert response.status_code == 302
    moved = Highlight.objects.filter(pk__in=[swarm.pk, healing.pk, updates.pk])
    assert set(moved.values_list("talk_id", flat=True)) == {workshop.pk}
    block.refresh_from_db()
    assert block.talk_id == workshop.pk
    assert set(Highlight.objects.filter(talk=swarm.talk).values_list("text", flat=True)) == {
        "Secrets"
    }

    day_1 = client.get("/c/dockercon-2016/day-1/").content.decode()  # cached before the move
    assert "Self-healing" not in day_1 and "Rolling updates" not in day_1
    exported = client.get("/c/dockercon-2016/day-2/export.md").content.decode()
    assert (
        "## Swarm workshop\n\n- Swarm mode\n  - Self-healing\n    - Rolling updates\n\n"
        "      ```console\n      $ docker service update web\n      ```\n"
    ) in exported
    for words in ("rolling updates", "self healing", "service update"):
        assert len(search(words, day_id=day_2.pk).hits) == 1, words
        assert search(words, day_id=swarm.talk.day_id).hits == [], words


def test_a_nested_note_moved_to_another_talk_needs_a_parent_there(staff_client, notes):
    healing, secure = notes["healing"], notes["secure"]
    response = post_note(staff_client, healing, talk=secure.talk_id)
    assert parent_errors(response) == [
        f"“Swarm mode” (note {notes['swarm'].pk}) is in another talk (“Keynote”); choose a "
        "note of this talk."
    ]
    response = post_note(staff_client, healing, talk=secure.talk_id, parent=secure.pk)
    assert response.status_code == 302
    tree = Highlight.objects.filter(talk=secure.talk).values_list("text", "parent__text")
    assert dict(tree) == {
        "Secure by default": None,
        "Self-healing": "Secure by default",
        "Rolling updates": "Self-healing",
    }


def test_saving_a_loaded_note_in_place_does_not_read_it_again(demo_day):
    """Whether a note moved talk is known from the talk it was loaded with."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    note = Highlight.objects.filter(talk__day=demo_day, parent=None).first()
    note.text += " (edited)"
    with CaptureQueriesContext(connection) as queries:
        note.save()
    reads = [
        q["sql"]
        for q in queries
        if q["sql"].startswith("SELECT") and 'FROM "talks_highlight"' in q["sql"]
    ]
    assert reads == []
    assert Highlight.objects.get(pk=note.pk).text.endswith("(edited)")
