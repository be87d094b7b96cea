"""Follow-ups: the pages (overall, per conference), and resolving one (staff only)."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from talks.documents import ConferenceDoc, DayDoc, HighlightDoc, TalkDoc, save_day
from talks.followups import follow_ups, resolve
from talks.models import Conference, Day, Highlight, Talk
from talks.search import search

pytestmark = pytest.mark.django_db

DAY_URL = "/c/dockercon-2016/day-1/"


def _cloud(demo_day) -> Highlight:
    return Highlight.objects.get(text__startswith="Docker Cloud demos")


@pytest.fixture
def question(db) -> Highlight:
    """One open question in a small day of notes (cheaper than the demo day)."""
    conference = Conference.objects.create(name="DockerCon 2016", slug="dockercon-2016")
    day = Day.objects.create(conference=conference, number=1, title="Day 1", slug="day-1")
    talk = Talk.objects.create(day=day, title="Docker for Developers", slug="dev")
    Highlight.objects.create(talk=talk, text="Minimal kernel")
    return Highlight.objects.create(talk=talk, text="Which APIs exist?", kind="question")


def _post(client, note: Highlight, answer="Use the Docker Cloud API.", url="", **extra):
    data = {f"h{note.pk}-resolution": answer, f"h{note.pk}-resolution_url": url, **extra}
    return client.post(f"/follow-ups/{note.pk}/resolve/", data)


def _other_conference() -> None:
    save_day(
        DayDoc(
            conference=ConferenceDoc(name="KubeCon 2017", slug="kubecon-2017"),
            number=1,
            title="KubeCon Day 1",
            talks=[
                TalkDoc(
                    title="Operators",
                    highlights=[
                        HighlightDoc("Does the operator SDK support Helm?", kind="question"),
                        HighlightDoc("Try kubebuilder", kind="todo"),
                        HighlightDoc("Just a note"),
                    ],
                )
            ],
        )
    )


def test_it_collects_follow_ups_questions_and_todos_with_their_talks(client, demo_day):
    _other_conference()
    html = client.get("/follow-ups/").content.decode()
    for text in [
        "Docker for Mac allows you to debug code",
        "cloudformation templates",
        "Docker Cloud demos involved too much clicking",
        "Does the operator SDK support Helm?",
        "Try kubebuilder",
    ]:
        assert text in html
    assert "Just a note" not in html and "Minimal kernel" not in html
    cloud = _cloud(demo_day)
    assert (
        f'href="{DAY_URL}#h{cloud.pk}">see it in the notes<span class="visually-hidden">: ' in html
    )
    # A day whose title names its conference is not followed by the name again.
    assert "DockerCon 2016 Highlights Day 1</a></h2>" in html
    talk_link = f'From <a href="{DAY_URL}#talk-docker-for-developers">Docker for Developers 1'
    assert talk_link in html
    assert ">Question</span>" in html and ">To do</span>" in html
    assert "Open (5)" in html and "Resolved (0)" in html
    assert '/kubecon-2017/?state=open">KubeCon 2017 <span class="meta">(2 open)' in html
    assert "Mark resolved" not in html  # readers see no form


def test_it_lists_one_conferences_follow_ups(client, demo_day):
    _other_conference()
    html = client.get("/follow-ups/kubecon-2017/").content.decode()
    assert "<h1>Follow-ups from KubeCon 2017</h1>" in html
    assert "Try kubebuilder" in html and "Docker Cloud demos" not in html
    assert "Open (2)" in html
    assert client.get("/follow-ups/no-such-conference/").status_code == 404


def test_it_shows_helpful_empty_states(client, db):
    nothing = client.get("/follow-ups/").content.decode()
    assert "No follow-ups were noted. Notes of kind follow-up, question or to-do" in nothing
    assert "everything asked has been answered" not in nothing  # nothing was ever asked
    assert "No follow-ups were noted." in client.get("/follow-ups/?state=all").content.decode()
    assert "Open (0)" in client.get("/follow-ups/?state=bogus").content.decode()


def test_it_tells_a_conference_with_no_follow_ups_from_one_with_all_answered(client, question):
    Conference.objects.create(name="Quiet Conf", slug="quiet")
    quiet = client.get("/follow-ups/quiet/").content.decode()
    assert "No follow-ups were noted for Quiet Conf." in quiet
    assert "everything asked has been answered" not in quiet and "are answered" not in quiet
    resolve(highlight=question, answer="Two of them.")
    resolve(
        highlight=Highlight.objects.create(talk=question.talk, text="Try", kind="todo"),
        answer="Done.",
    )
    done = client.get("/follow-ups/dockercon-2016/").content.decode()
    assert "All 2 follow-ups from DockerCon 2016 are answered." in done
    assert 'href="/follow-ups/dockercon-2016/?state=resolved">Read the answers</a>' in done
    Highlight.objects.filter(kind="todo").delete()
    one = client.get("/follow-ups/").content.decode()
    assert "The one follow-up is answered." in one
    pending = client.get("/follow-ups/quiet/?state=resolved").content.decode()
    assert "No follow-ups were noted for Quiet Conf." in pending


def test_it_lets_staff_resolve_a_follow_up(staff_client, demo_day):
    cloud = _cloud(demo_day)
    page = staff_client.get("/follow-ups/").content.decode()
    assert f'action="/follow-ups/{cloud.pk}/resolve/"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    response = _post(
        staff_client,
        cloud,
        answer="It has a **REST API**.",
        url="https://docs.docker.com/docker-cloud/apis/",
        next="/follow-ups/?state=open",
    )
    assert response.status_code == 302
    assert response["Location"] == "/follow-ups/?state=open"
    cloud.refresh_from_db()
    assert cloud.resolved_at is not None
    assert cloud.resolution_html == "It has a <strong>REST API</strong>."
    assert cloud.resolution_url == "https://docs.docker.com/docker-cloud/apis/"
    listing = staff_client.get("/follow-ups/?state=open").content.decode()
    assert "Resolved: “Docker Cloud demos involved too much clicking" in listing
    assert "…”. The answer now shows with the note in" in listing  # cut short, and says so
    assert "Open (2)" in listing and "Resolved (1)" in listing
    resolved = staff_client.get("/follow-ups/?state=resolved").content.decode()
    assert "It has a <strong>REST API</strong>." in resolved and "Change the answer" in resolved
    notes = staff_client.get(DAY_URL).content.decode()  # in place, in the notes
    assert "Resolved follow-up" in notes
    assert "<strong>Answer:</strong> It has a <strong>REST API</strong>." in notes
    assert 'href="https://docs.docker.com/docker-cloud/apis/"' in notes
    assert search("rest api").hits[0].url == f"{DAY_URL}#h{cloud.pk}"


def test_it_keeps_the_first_resolution_time_when_the_answer_changes(staff_client, question):
    cloud = question
    _post(staff_client, cloud, answer="First")
    first = Highlight.objects.get(pk=cloud.pk).resolved_at
    response = _post(staff_client, cloud, answer="Second", next="/follow-ups/?state=resolved")
    cloud.refresh_from_db()
    assert (cloud.resolution, cloud.resolved_at) == ("Second", first)
    listing = staff_client.get(response["Location"]).content.decode()
    assert "Changed the answer to “Which APIs exist?”. It shows with the note in Day 1." in listing


def test_changing_an_answer_starts_from_the_one_given(staff_client, question):
    _post(staff_client, question, answer="Use the *API*.", url="https://docs.docker.com/api/")
    html = staff_client.get("/follow-ups/?state=resolved").content.decode()
    prefix = f"h{question.pk}"
    assert re.search(
        rf'<textarea name="{prefix}-resolution"[^>]*>\nUse the \*API\*.</textarea>', html
    )
    assert re.search(
        rf'<input type="url" name="{prefix}-resolution_url" value="https://docs.docker.com/api/"',
        html,
    )
    open_one = staff_client.get("/follow-ups/").content.decode()  # an open one: empty fields
    assert 'value="https://docs.docker.com/api/"' not in open_one


def test_line_breaks_count_as_the_browser_counts_them(staff_client, question):
    # A textarea's maxlength counts a line break as one character; the browser sends two (CRLF).
    answer = "\r\n".join(["x" * 99] * 20)  # 1,999 characters in the box, 2,018 sent
    assert _post(staff_client, question, answer=answer).status_code == 302
    question.refresh_from_db()
    assert question.resolution == answer.replace("\r\n", "\n") and len(question.resolution) == 1999


def test_it_sends_anonymous_visitors_to_log_in(client, question):
    cloud = question
    response = _post(client, cloud)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=/follow-ups/")
    cloud.refresh_from_db()
    assert cloud.resolved_at is None


def test_it_forbids_readers_who_are_not_staff(client, plain_user, question):
    client.force_login(plain_user)
    cloud = question
    assert _post(client, cloud).status_code == 403
    cloud.refresh_from_db()
    assert cloud.resolved_at is None


def test_it_needs_the_permission_to_change_notes(client, django_user_model, question):
    editor = django_user_model.objects.create_user(username="intern", is_staff=True)
    client.force_login(editor)
    page = client.get("/follow-ups/").content.decode()
    assert "Which APIs exist?" in page
    assert "Mark resolved" not in page and "<form" not in page.split("</header>", 1)[1]
    response = _post(client, question)
    assert response.status_code == 403
    html = response.content.decode()
    assert "resolving needs permission to change notes" in html
    assert 'href="/follow-ups/?state=open"' in html  # the tabs lead back to the list
    question.refresh_from_db()
    assert question.resolved_at is None

    editor.user_permissions.add(Permission.objects.get(codename="change_highlight"))
    editor = django_user_model.objects.get(pk=editor.pk)  # permissions are cached per object
    client.force_login(editor)
    assert "Mark resolved" in client.get("/follow-ups/").content.decode()
    assert _post(client, question, next="/follow-ups/").status_code == 302
    question.refresh_from_db()
    assert question.resolved_at is not None


BAD_ANSWERS = [
    ("", "", "Write a short answer before marking this resolved."),
    ("   ", "", "Write a short answer before marking this resolved."),
    ("x" * 2001, "", "Keep the answer to 2000 characters at most (it has 2001)"),
    ("Fine", "javascript:alert(1)", "Enter a web address starting with http:// or https://"),
    ("Fine", "ftp://example.com/file", "Enter a web address starting with http:// or https://"),
    ("Fine", "https://" + "a" * 500 + ".com", "That link is too long (500 characters"),
]


def test_it_explains_what_is_wrong_with_an_answer(staff_client, question):
    for answer, url, message in BAD_ANSWERS:
        response = _post(staff_client, question, answer=answer, url=url, next="/follow-ups/?x=1")
        assert response.status_code == 400
        html = response.content.decode()
        assert message in html, message
        assert html.count(message) == 1, message
        assert "The follow-up was not marked resolved" in html
        assert '<details class="resolve" open>' in html
        assert 'name="next" value="/follow-ups/?x=1"' in html
        assert 'aria-invalid="true"' in html
    question.refresh_from_db()
    assert question.resolved_at is None


def test_it_resolves_only_follow_ups(staff_client, question):
    note = Highlight.objects.get(text="Minimal kernel")
    assert _post(staff_client, note).status_code == 404
    assert staff_client.get(f"/follow-ups/{question.pk}/resolve/").status_code == 405


def test_it_ignores_a_next_address_on_another_site(staff_client, question):
    response = _post(staff_client, question, next="https://evil.example/")
    assert response["Location"] == "/follow-ups/"


def test_it_needs_the_csrf_token(staff_user, question):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    assert _post(client, question).status_code == 403


def test_it_pins_the_queries_of_the_follow_ups_page(
    staff_client, demo_day, django_assert_num_queries
):
    _other_conference()
    # session, user; the follow-ups, their counts, the conferences with open counts
    with django_assert_num_queries(2 + 3):
        response = staff_client.get("/follow-ups/?state=all")
    assert response.content.decode().count("<details") == 5


def test_it_offers_the_queryset_for_other_uses(demo_day):
    _other_conference()
    assert follow_ups().count() == 5
    assert follow_ups().open().count() == 5
    assert follow_ups().in_conference(demo_day.conference).count() == 3
    assert follow_ups().counts() == {"open": 5, "resolved": 0, "all": 5}


def test_it_filters_open_follow_ups_in_the_admin(staff_client, demo_day):
    html = staff_client.get("/admin/talks/highlight/?follow_up=open").content.decode()
    assert "3 highlights" in html
    assert "Open follow-ups" in html


def test_resolving_shows_in_the_notes_admin_history(staff_client, demo_day):
    from django.contrib.admin.models import CHANGE, LogEntry

    cloud = _cloud(demo_day)
    _post(staff_client, cloud, answer="A REST API.", url="", next="/follow-ups/")
    _post(staff_client, cloud, answer="A REST API, and a CLI.", url="", next="/follow-ups/")
    entries = LogEntry.objects.filter(object_id=str(cloud.pk)).order_by("action_time", "id")
    assert [(e.action_flag, e.change_message) for e in entries] == [
        (CHANGE, "Resolved: A REST API."),
        (CHANGE, "Changed the answer: A REST API, and a CLI."),
    ]
    assert {e.user.is_staff for e in entries} == {True}
    history = staff_client.get(f"/admin/talks/highlight/{cloud.pk}/history/").content.decode()
    assert "Resolved: A REST API." in history
