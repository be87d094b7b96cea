"""Deleting a note on a talk's page while editing what hangs from it: the editor gets an error
on the rows concerned and nothing is saved (no server error, no edit silently lost), and a
deleted note's command blocks stay, with their lines and run history."""

import pytest
from django.contrib.messages import get_messages

from runner.models import Run
from talks.admin import PARENT_DELETED, SNIPPET_NOTE_DELETED, ancestor_deleted
from talks.models import Conference, Day, Highlight, Snippet, SnippetLine, Talk
from tests.talks.admin_forms import inline_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def notes(db) -> dict[str, Highlight]:
    """The keynote: "Swarm mode" > "Self-healing" > "Rolling updates", and "Secrets" beside
    them; a block of commands after "Self-healing"."""
    conference = Conference.objects.create(name="DockerCon 2016", slug="dockercon-2016")
    day = Day.objects.create(conference=conference, number=1, title="Day 1")
    keynote = Talk.objects.create(day=day, title="Keynote", slug="keynote")
    swarm = Highlight.objects.create(talk=keynote, text="Swarm mode")
    healing = Highlight.objects.create(talk=keynote, parent=swarm, text="Self-healing")
    updates = Highlight.objects.create(talk=keynote, parent=healing, text="Rolling updates")
    secrets = Highlight.objects.create(talk=keynote, position=1, text="Secrets")
    block = Snippet.objects.create(talk=keynote, highlight=healing, caption="Scale it")
    line = SnippetLine.objects.create(snippet=block, command="docker service scale web=5")
    Run.objects.create(snippet_line=line, visitor="v", line=line.command, status="succeeded")
    return {"swarm": swarm, "healing": healing, "updates": updates, "secrets": secrets}


IN_ORDER = "swarm healing updates secrets"
CHILD_FIRST = "healing swarm updates secrets"  # rows come in position order, not tree order


def talk_page(
    notes: dict[str, Highlight],
    order: str = IN_ORDER,
    *,
    delete: tuple[str, ...] = (),
    changes: dict[str, dict] | None = None,
    new: tuple[tuple[str, str], ...] = (),
    snippet: dict | None = None,
    new_snippet: tuple[str, str] | None = None,
) -> dict:
    """What the keynote's change page posts: its notes in ``order``, those named in ``delete``
    ticked for deletion, ``changes`` laid over their rows, the ``new`` rows (parent, text)
    added; with ``snippet``, its block's row with those values, and ``new_snippet`` (note,
    caption) added."""
    rows = [notes[name] for name in order.split()]
    talk = rows[0].talk
    data = inline_form(talk, [(note, note.parent) for note in rows])
    for i, note in enumerate(rows):
        name = next(name for name, value in notes.items() if value == note)
        if name in delete:
            data[f"highlights-{i}-DELETE"] = "on"
        for field, value in (changes or {}).get(name, {}).items():
            data[f"highlights-{i}-{field}"] = value
    for i, (parent, text) in enumerate(new, start=len(rows)):
        data |= {
            f"highlights-{i}-id": "",
            f"highlights-{i}-talk": talk.pk,
            f"highlights-{i}-position": 5,
            f"highlights-{i}-parent": notes[parent].pk,
            f"highlights-{i}-style": "bullet",
            f"highlights-{i}-kind": "note",
            f"highlights-{i}-text": text,
        }
    data["highlights-TOTAL_FORMS"] = len(rows) + len(new)
    snippets = []
    if snippet is not None:
        block = Snippet.objects.get()
        stored = {"position": block.position, "highlight": block.highlight_id}
        snippets.append({"id": block.pk, "caption": block.caption} | stored | snippet)
    if new_snippet is not None:
        note, caption = new_snippet
        snippets.append({"id": "", "position": 1, "highlight": notes[note].pk, "caption": caption})
    for i, row in enumerate(snippets):
        data |= {f"snippets-{i}-{field}": value for field, value in row.items()}
        data[f"snippets-{i}-talk"] = talk.pk
    data["snippets-TOTAL_FORMS"] = len(snippets)
    data["snippets-INITIAL_FORMS"] = 1 if snippet is not None else 0
    return data


def post(client, data: dict):
    return client.post(f"/admin/talks/talk/{data['highlights-0-talk']}/change/", data)


def row_errors(response, inline: int, field: str) -> list[list[str]]:
    assert response.status_code == 200, "the admin accepted the change"
    formset = response.context["inline_admin_formsets"][inline].formset
    return [form.errors.get(field, []) for form in formset.forms]


def stored_tree() -> dict[str, str | None]:
    return dict(Highlight.objects.values_list("text", "parent__text"))


UNTOUCHED = {
    "Swarm mode": None,
    "Self-healing": "Swarm mode",
    "Rolling updates": "Self-healing",
    "Secrets": None,
}


# A real commit (transaction=True): the foreign key is checked there, where the editor got a 500.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("order", [IN_ORDER, CHILD_FIRST])
def test_it_refuses_an_edit_of_a_note_whose_parent_is_deleted(staff_client, notes, order):
    data = talk_page(
        notes, order, delete=("swarm",), changes={"healing": {"text": "Self-healing, fast"}}
    )
    response = post(staff_client, data)
    errors = row_errors(response, 0, "parent")
    healing_row = order.split().index("healing")
    assert errors[healing_row] == [
        "Its parent note is being deleted in this save; delete this note too, "
        "or pick another parent."
    ]
    assert sum(map(len, errors)) == 1
    assert stored_tree() == UNTOUCHED


def test_it_names_the_deleted_note_above_an_edited_note_further_down(staff_client, notes):
    data = talk_page(notes, delete=("swarm",), changes={"updates": {"text": "Rolling, slowly"}})
    errors = row_errors(post(staff_client, data), 0, "parent")
    assert errors == [[], [], [ancestor_deleted(notes["swarm"])], []]
    swarm = f"“Swarm mode” (note {notes['swarm'].pk})"
    assert f"{swarm} above it is being deleted in this save" in errors[2][0]
    assert stored_tree() == UNTOUCHED


@pytest.mark.django_db(transaction=True)
def test_it_refuses_a_new_note_under_a_deleted_one(staff_client, notes):
    data = talk_page(notes, delete=("healing",), new=(("healing", "Health checks"),))
    errors = row_errors(post(staff_client, data), 0, "parent")
    assert errors == [[], [], [], [], [PARENT_DELETED]]
    assert stored_tree() == UNTOUCHED


def test_it_lets_an_edited_note_be_deleted_with_its_parent(staff_client, notes):
    data = talk_page(
        notes, delete=("swarm", "healing"), changes={"healing": {"text": "Self-healing, fast"}}
    )
    assert post(staff_client, data).status_code == 302
    assert stored_tree() == {"Secrets": None}


@pytest.mark.parametrize("order", [IN_ORDER, CHILD_FIRST])
def test_it_keeps_a_note_moved_out_from_under_a_deleted_one(staff_client, notes, order):
    # Saved in row order, the delete would take "Self-healing" and "Rolling updates" with it
    # before the move; "Self-healing" came back alone, as a new row without its block.
    secrets = notes["secrets"]
    data = talk_page(notes, order, delete=("swarm",), changes={"healing": {"parent": secrets.pk}})
    assert post(staff_client, data).status_code == 302
    assert stored_tree() == {
        "Self-healing": "Secrets",
        "Rolling updates": "Self-healing",
        "Secrets": None,
    }
    assert Snippet.objects.get().highlight_id == notes["healing"].pk


def test_unchanged_notes_still_go_with_their_deleted_parent_and_the_editor_is_told(
    staff_client, notes
):
    response = post(staff_client, talk_page(notes, delete=("swarm",)))
    assert response.status_code == 302
    assert stored_tree() == {"Secrets": None}
    told = [str(message) for message in get_messages(response.wsgi_request)]
    nested = "the 2 notes nested under it: “Self-healing”, “Rolling updates”."
    assert f"Deleting “Swarm mode” also deleted {nested}" in told


def test_no_such_message_when_every_note_that_goes_was_ticked(staff_client, notes):
    data = talk_page(notes, delete=("swarm", "healing", "updates", "secrets"))
    response = post(staff_client, data)
    assert stored_tree() == {}
    assert not any("also deleted" in str(m) for m in get_messages(response.wsgi_request))


def test_a_note_moved_out_is_not_named_as_taken_along(staff_client, notes):
    secrets = notes["secrets"]
    data = talk_page(notes, delete=("swarm",), changes={"healing": {"parent": secrets.pk}})
    response = post(staff_client, data)
    assert not any("also deleted" in str(m) for m in get_messages(response.wsgi_request))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("deleted", ["healing", "swarm"])
def test_it_refuses_an_edit_of_a_block_whose_highlight_is_deleted(staff_client, notes, deleted):
    data = talk_page(notes, delete=(deleted,), snippet={"caption": "Scale it up"})
    errors = row_errors(post(staff_client, data), 1, "highlight")
    assert errors == [
        [
            "Its highlight is being deleted in this save; pick another, or leave Highlight "
            "empty to put the block at the end of the talk."
        ]
    ]
    assert stored_tree() == UNTOUCHED
    assert Snippet.objects.get().caption == "Scale it"


@pytest.mark.django_db(transaction=True)
def test_it_refuses_a_new_block_after_a_deleted_highlight(staff_client, notes):
    data = talk_page(notes, delete=("secrets",), new_snippet=("secrets", "Secrets"))
    errors = row_errors(post(staff_client, data), 1, "highlight")
    assert errors == [[SNIPPET_NOTE_DELETED]]
    assert stored_tree() == UNTOUCHED
    assert Snippet.objects.count() == 1


def test_it_saves_a_block_moved_off_a_deleted_highlight(staff_client, notes):
    data = talk_page(notes, delete=("healing",), snippet={"highlight": notes["secrets"].pk})
    assert post(staff_client, data).status_code == 302
    assert Snippet.objects.get().highlight_id == notes["secrets"].pk


@pytest.mark.parametrize("deleted", ["healing", "swarm"])
def test_a_deleted_notes_block_stays_at_the_end_of_the_talk(staff_client, notes, client, deleted):
    assert post(staff_client, talk_page(notes, delete=(deleted,))).status_code == 302
    block = Snippet.objects.get()
    assert block.highlight_id is None
    assert [line.command for line in block.lines.all()] == ["docker service scale web=5"]
    assert Run.objects.get().snippet_line == block.lines.get()
    page = client.get("/c/dockercon-2016/day-1/").content.decode()
    assert "service scale web=5" in page.split("Secrets", 1)[1]  # after the last note
    exported = client.get("/c/dockercon-2016/day-1/export.md").content.decode()
    block_md = "```console\n# Scale it\n$ docker service scale web=5\n```\n"
    assert exported.endswith("- Secrets\n\n<!-- -->\n\n" + block_md)
    talk = client.get("/c/dockercon-2016/day-1/export.json").json()["days"][0]["talks"][0]
    assert talk["snippets"][0]["lines"][0]["command"] == "docker service scale web=5"


def test_a_note_deleted_on_its_own_page_leaves_its_block(staff_client, notes):
    healing = notes["healing"]
    response = staff_client.post(f"/admin/talks/highlight/{healing.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert Snippet.objects.get().highlight_id is None
    assert SnippetLine.objects.count() == 1 and Run.objects.get().snippet_line is not None


def test_a_delete_posted_for_a_new_talk_is_no_server_error(staff_client, notes):
    data = talk_page(notes, delete=("swarm",)) | {"slug": "keynote-again"}
    response = staff_client.post("/admin/talks/talk/add/", data)
    assert response.status_code == 200
    assert stored_tree() == UNTOUCHED
