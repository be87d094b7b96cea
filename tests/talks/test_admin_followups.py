"""Editors resolve follow-ups in the admin too; what they save there shows on the pages."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from talks.models import Highlight, Talk
from tests.talks.admin_forms import note_form

pytestmark = pytest.mark.django_db

DAY_URL = "/c/dockercon-2016/day-1/"
WEB_ADDRESS = (
    "Enter a web address starting with http:// or https://, such as https://docs.docker.com/."
)


@pytest.fixture
def question(demo_day) -> Highlight:
    note = Highlight.objects.filter(talk__day=demo_day, kind=Highlight.Kind.FOLLOW_UP).first()
    assert note.resolved_at is None
    return note


def post_note(client, note: Highlight, **changes):
    return client.post(f"/admin/talks/highlight/{note.pk}/change/", note_form(note, **changes))


def field_errors(response, name: str) -> list[str]:
    assert response.status_code == 200, "the admin accepted the change"
    return response.context["adminform"].form.errors[name]


def test_it_resolves_a_follow_up_given_an_answer_without_a_time(staff_client, question, client):
    before = timezone.now()
    response = post_note(
        staff_client, question, resolution="Use the **remote API**.", resolution_url=""
    )
    assert response.status_code == 302
    question.refresh_from_db()
    assert before <= question.resolved_at <= timezone.now()
    page = client.get(DAY_URL).content.decode()
    assert "<strong>Answer:</strong> Use the <strong>remote API</strong>." in page
    assert (
        "Use the <strong>remote API</strong>."
        in client.get("/follow-ups/?state=resolved").content.decode()
    )


def test_it_keeps_the_time_an_editor_gives(staff_client, question):
    response = post_note(
        staff_client,
        question,
        resolved_at_0="2016-06-21",
        resolved_at_1="10:30:00",
        resolution="Found it.",
    )
    assert response.status_code == 302
    question.refresh_from_db()
    assert question.resolved_at == dt.datetime(2016, 6, 21, 10, 30, tzinfo=dt.UTC)


def test_it_asks_for_an_answer_with_a_link_alone(staff_client, question):
    response = post_note(staff_client, question, resolution_url="https://docs.docker.com/")
    assert field_errors(response, "resolution") == [
        "Write a short answer before marking this resolved "
        "(or clear “Resolved at” and the link to leave it open)."
    ]
    question.refresh_from_db()
    assert question.resolved_at is None and question.resolution_url == ""


def test_it_asks_for_an_answer_with_a_resolution_time_alone(staff_client, question):
    # An answerless resolution would show an empty "Answer:" in the notes; the follow-ups
    # page never makes one either (its form requires the answer).
    response = post_note(
        staff_client, question, resolved_at_0="2016-06-21", resolved_at_1="10:30:00"
    )
    assert (
        "Write a short answer before marking this resolved"
        in (field_errors(response, "resolution")[0])
    )
    question.refresh_from_db()
    assert question.resolved_at is None


def test_it_reopens_a_follow_up_only_when_the_answer_is_cleared_too(staff_client, question):
    post_note(staff_client, question, resolution="Found it.")
    question.refresh_from_db()
    resolved_at = question.resolved_at
    response = post_note(staff_client, question, resolved_at_0="", resolved_at_1="")
    assert field_errors(response, "resolved_at") == [
        "To reopen this follow-up, clear the answer and the link too; "
        "to keep it resolved, leave “Resolved at” set."
    ]
    question.refresh_from_db()
    assert question.resolved_at == resolved_at
    response = post_note(staff_client, question, resolution="", resolution_url="")
    assert response.status_code == 302
    question.refresh_from_db()
    assert question.resolved_at is None and question.resolution == ""


@pytest.mark.parametrize(
    "url", ["ftp://ftp.docker.com/notes.txt", "javascript:alert(1)", "file:///etc/passwd"]
)
def test_it_refuses_links_the_pages_would_leave_off(staff_client, question, url):
    response = post_note(staff_client, question, resolution="Found it.", resolution_url=url)
    assert field_errors(response, "resolution_url") == [WEB_ADDRESS]
    question.refresh_from_db()
    assert question.resolution_url == "" and question.resolved_at is None


def test_it_shows_an_http_link_with_the_answer(staff_client, question, client):
    response = post_note(
        staff_client,
        question,
        resolution="Found it.",
        resolution_url="http://docs.docker.com/engine/api/",
    )
    assert response.status_code == 302
    page = client.get(DAY_URL).content.decode()
    assert (
        '<a href="http://docs.docker.com/engine/api/" rel="noopener noreferrer nofollow">' in page
    )


def test_it_refuses_a_session_link_the_pages_would_leave_off(demo_day):
    talk = Talk.objects.get(slug="keynote")
    talk.session_url = "ftp://dockercon2016.sched.org/event/70Ni"
    with pytest.raises(ValidationError) as raised:
        talk.full_clean()
    assert raised.value.message_dict == {"session_url": [WEB_ADDRESS]}


def test_it_takes_an_answer_only_on_a_follow_up(staff_client, demo_day):
    # Follow-ups, questions and to-dos are collected on /follow-ups/; an answer on a plain
    # note would show under it and nowhere else.
    note = Highlight.objects.filter(talk__day=demo_day, kind=Highlight.Kind.NOTE).first()
    response = post_note(staff_client, note, resolution="Not a question.")
    assert field_errors(response, "resolution") == [
        "Only a follow-up, question or to-do takes an answer: set Kind to one of them, "
        "or clear the answer, its link and “Resolved at”."
    ]
    note.refresh_from_db()
    assert note.resolution == "" and note.resolved_at is None
    question = post_note(staff_client, note, kind=Highlight.Kind.QUESTION, resolution="Yes.")
    assert question.status_code == 302
