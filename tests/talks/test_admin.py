"""Editors edit notes in the admin; nobody else can."""

import re

import pytest
from django.test import Client

from runner.runs import refusals
from talks import models
from talks.importing import parse
from talks.models import Conference, Day, Highlight, Snippet, Talk
from tests.talks.admin_forms import snippet_form

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/admin/talks/day/",
        "/admin/talks/talk/",
        "/admin/talks/highlight/",
        "/admin/talks/snippet/",
        "/admin/talks/tag/",
        "/admin/talks/conference/",
    ],
)
def test_it_lists_for_staff(staff_client, demo_day, url):
    response = staff_client.get(url)
    assert response.status_code == 200
    response = staff_client.get(url + "?q=docker")
    assert response.status_code == 200


def test_it_shows_the_day_with_talk_inlines(staff_client, demo_day):
    response = staff_client.get(f"/admin/talks/day/{demo_day.pk}/change/")
    assert response.status_code == 200
    assert b"Keynote highlights" in response.content
    assert b"admin-preview.js" in response.content


def test_it_shows_a_talk_with_highlight_and_snippet_inlines(staff_client, demo_day):
    talk = demo_day.talks.get(slug="keynote")
    response = staff_client.get(f"/admin/talks/talk/{talk.pk}/change/")
    assert response.status_code == 200
    assert b"Swarm mode. Self forming" in response.content


def test_it_lets_staff_edit_the_summary_and_renders_it(staff_client, demo_day, client):
    url = f"/admin/talks/day/{demo_day.pk}/change/"
    response = staff_client.get(url)
    form = response.context["adminform"].form
    data = {
        name: (value.pk if hasattr(value, "pk") else value)
        for name, value in form.initial.items()
        if value is not None and name in form.fields
    }
    data.update({"summary": "A **great** day.", "date": "2016-06-20"})
    talks = list(demo_day.talks.order_by("position"))
    data.update(
        {
            "talks-TOTAL_FORMS": len(talks),
            "talks-INITIAL_FORMS": len(talks),
            "talks-MIN_NUM_FORMS": 0,
            "talks-MAX_NUM_FORMS": 1000,
        }
    )
    for i, talk in enumerate(talks):
        data.update(
            {
                f"talks-{i}-id": talk.pk,
                f"talks-{i}-day": demo_day.pk,
                f"talks-{i}-position": talk.position,
                f"talks-{i}-title": talk.title,
                f"talks-{i}-kind": talk.kind,
                f"talks-{i}-session_url": talk.session_url,
                f"talks-{i}-slug": talk.slug,
            }
        )
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    demo_day.refresh_from_db()
    assert demo_day.summary_html == "<p>A <strong>great</strong> day.</p>"
    page = client.get(demo_day.get_absolute_url()).content.decode()
    assert "A <strong>great</strong> day." in page


def test_it_previews_markdown_for_staff(staff_client):
    response = staff_client.post(
        "/admin/talks/day/markdown-preview/", {"text": "**hi** <script>x</script>"}
    )
    assert response.status_code == 200
    assert response.json() == {"html": "<p><strong>hi</strong> </p>"}


def test_it_refuses_oversized_previews(staff_client):
    response = staff_client.post("/admin/talks/day/markdown-preview/", {"text": "x" * 100_001})
    assert response.status_code == 413
    assert "too long to preview" in response.json()["error"]


def test_it_sends_anonymous_editors_to_login(client, demo_day):
    for url in (f"/admin/talks/day/{demo_day.pk}/change/", "/admin/talks/day/markdown-preview/"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]


def test_it_refuses_non_staff(client, plain_user, demo_day):
    client.force_login(plain_user)
    response = client.get(f"/admin/talks/day/{demo_day.pk}/change/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    response = client.post("/admin/talks/day/markdown-preview/", {"text": "x"})
    assert response.status_code == 302
    assert Day.objects.get().summary == demo_day.summary


def test_it_names_the_site_in_the_admin(staff_client, settings):
    html = staff_client.get("/admin/").content.decode()
    assert f'<a href="/admin/">{settings.SITE_NAME} admin</a>' in html
    assert (
        f"<title>{settings.SITE_NAME} administration | {settings.SITE_NAME} admin</title>" in html
    )
    assert "Django administration" not in html and "Django site admin" not in html
    login = Client().get("/admin/login/").content.decode()
    assert f"{settings.SITE_NAME} admin" in login and "Django" not in login


def test_it_fits_the_day_and_talk_inlines_to_the_window(staff_client, demo_day):
    # The widths themselves are checked in a browser: tests/talks/test_admin_layout.py.
    talk = demo_day.talks.get(slug="keynote")
    for url in (f"/admin/talks/day/{demo_day.pk}/change/", f"/admin/talks/talk/{talk.pk}/change/"):
        assert b"css/admin-inlines.css" in staff_client.get(url).content


def day_form(day: Day, **changes) -> dict:
    """What the day's change page posts (without talks), with ``changes``."""
    data = {
        "conference": day.conference_id,
        "number": day.number,
        "title": day.title,
        "slug": day.slug,
        "talks-TOTAL_FORMS": 0,
        "talks-INITIAL_FORMS": 0,
        "talks-MIN_NUM_FORMS": 0,
        "talks-MAX_NUM_FORMS": 1000,
    }
    return data | changes


@pytest.mark.parametrize("number", [0, 1000, 40000])
def test_it_refuses_a_day_number_the_importer_would_not_read_back(staff_client, number):
    conference = Conference.objects.create(name="DockerCon 2016", slug="dockercon-2016")
    day = Day.objects.create(conference=conference, number=2, title="Day 2")
    response = staff_client.post(f"/admin/talks/day/{day.pk}/change/", day_form(day, number=number))
    assert response.status_code == 200, "the admin accepted the number"
    assert response.context["adminform"].form.errors["number"] == [
        "Day numbers go from 1 to 999: 1 for the first day, and so on."
    ]
    assert Day.objects.get().number == 2
    response = staff_client.post(f"/admin/talks/day/{day.pk}/change/", day_form(day, number=999))
    assert response.status_code == 302
    assert Day.objects.get().number == 999


def test_the_day_numbers_allowed_are_those_the_importer_reads():
    assert models.MAX_DAY_NUMBER == parse.MAX_DAY_NUMBER


def test_a_block_cannot_follow_a_note_of_another_talk(demo_day):
    from django.core.exceptions import ValidationError

    from talks.models import NOTE_OF_ANOTHER_TALK, Snippet

    block = Snippet.objects.exclude(highlight=None).get()
    other = Talk.objects.filter(day=demo_day).exclude(pk=block.talk_id).first()
    block.talk = other  # moved, but still following its note in the old talk
    with pytest.raises(ValidationError) as raised:
        block.full_clean()
    assert raised.value.message_dict == {"highlight": [NOTE_OF_ANOTHER_TALK]}
    block.highlight = None
    block.full_clean()  # at the end of its new talk: fine


def test_each_field_of_an_inline_row_is_named_by_its_column_and_row(staff_client, demo_day):
    talk = Talk.objects.get(day=demo_day, slug="keynote")
    page = staff_client.get(f"/admin/talks/talk/{talk.pk}/change/").content.decode()
    for row in (1, 2):
        assert f'aria-label="Text of highlight {row}"' in page
        assert f'aria-label="Parent of highlight {row}"' in page  # the select in its wrapper
    assert 'aria-label="Highlight of snippet 1"' in page
    assert 'aria-label="Text of the new highlight"' in page  # the row "Add another" copies
    assert 'type="checkbox" name="tags"' in page  # tags as checkboxes, each with its label


def test_a_talks_notes_come_in_the_order_of_the_day_page_children_indented(
    staff_client, demo_day, django_assert_max_num_queries
):
    import re

    talk = Talk.objects.get(day=demo_day, slug="keynote")
    success = talk.highlights.get(text="Success")
    first_child = success.children.order_by("position").first()
    Highlight.objects.create(talk=talk, position=99, text="Last at the top level.")
    with django_assert_max_num_queries(40):
        page = staff_client.get(f"/admin/talks/talk/{talk.pk}/change/").content.decode()
    ids = [int(pk) for pk in re.findall(r'name="highlights-\d+-id" value="(\d+)"', page)]
    expected, stack = [], list(reversed(talk.highlights.filter(parent=None).order_by("position")))
    while stack:
        note = stack.pop()
        expected.append(note.pk)
        stack += list(reversed(note.children.order_by("position")))
    assert ids == expected  # each note followed by the notes under it
    assert ids.index(first_child.pk) == ids.index(success.pk) + 1
    row = ids.index(first_child.pk)
    assert re.search(rf'name="highlights-{row}-text"[^>]*class="[^"]*depth-1', page) or re.search(
        rf'class="[^"]*depth-1[^"]*"[^>]*name="highlights-{row}-text"', page
    )


def test_the_snippet_admin_says_which_saved_lines_the_runner_would_refuse(staff_client, demo_day):
    snippet = Snippet.objects.get()
    commands = ["docker service ls", "docker run --privileged alpine", "docker service ls | wc"]
    url = f"/admin/talks/snippet/{snippet.pk}/change/"
    response = staff_client.post(url, snippet_form(snippet, commands), follow=True)
    assert response.status_code == 200
    told = [str(message) for message in response.context["messages"]]
    assert [m for m in told if m.startswith("The runner would refuse")] == [
        f"The runner would refuse “{commands[1]}”: {refusals([commands[1]])[0][1]}",
        f"The runner would refuse “{commands[2]}”: {refusals([commands[2]])[0][1]}",
    ]
    assert list(snippet.lines.values_list("command", flat=True)) == commands  # saved as written
    again = staff_client.post(url, snippet_form(snippet, commands[:1]), follow=True)
    assert not any("would refuse" in str(m) for m in again.context["messages"])


def test_the_snippet_admin_refuses_a_block_without_lines(staff_client, demo_day):
    snippet = Snippet.objects.get()
    stored = list(snippet.lines.values_list("command", flat=True))
    url = f"/admin/talks/snippet/{snippet.pk}/change/"
    every_line_deleted = snippet_form(snippet, [])
    response = staff_client.post(url, every_line_deleted)
    assert response.status_code == 200  # the form again, with the reason
    assert "A block needs at least one command line" in response.content.decode()
    assert list(snippet.lines.values_list("command", flat=True)) == stored  # nothing lost

    added = staff_client.post(
        "/admin/talks/snippet/add/",
        {
            "talk": snippet.talk_id,
            "position": 9,
            "caption": "Empty block",
            "language": "console",
            "lines-TOTAL_FORMS": 1,  # the one empty row the add page shows
            "lines-INITIAL_FORMS": 0,
            "lines-MIN_NUM_FORMS": 1,
            "lines-MAX_NUM_FORMS": 1000,
            "lines-0-position": 0,
            "lines-0-command": "",
        },
    )
    assert added.status_code == 200
    assert "A block needs at least one command line" in added.content.decode()
    assert not Snippet.objects.filter(caption="Empty block").exists()


def test_a_block_without_lines_still_shows_on_its_pages(client, demo_day):
    """Blocks saved before the admin asked for a line (or emptied another way) must not
    break the day page: the block's name falls back to "Commands"."""
    talk = Talk.objects.filter(day=demo_day).first()
    empty = Snippet.objects.create(talk=talk, position=99)
    assert empty.name == "Commands"
    for url in (demo_day.get_absolute_url(), talk.get_absolute_url()):
        response = client.get(url)
        assert response.status_code == 200
        assert f'id="{empty.anchor}"' in response.content.decode()


def test_a_row_added_to_a_talk_starts_after_the_last_one(staff_client, demo_day):
    talk = Talk.objects.filter(day=demo_day).first()
    last = max(talk.highlights.values_list("position", flat=True))
    page = staff_client.get(f"/admin/talks/talk/{talk.pk}/change/").content.decode()
    # The row "Add another Highlight" copies, and the block rows too.
    assert re.search(rf'name="highlights-__prefix__-position" value="{last + 1}"', page), (
        "a new note would start at position 0, near the top"
    )
    new_day = staff_client.get("/admin/talks/day/add/").content.decode()
    assert 'name="talks-__prefix__-position" value="0"' in new_day  # nothing there yet
