"""The cached day page: a hit is one query, and no edit or run is ever missed (talks.cache)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.http import HttpResponse
from django.test import Client
from django.utils import timezone

from runner.models import Run, RunnerStatus
from talks.cache import CSRF_PLACEHOLDER, bump_notes_version
from talks.models import Day, Highlight, NotesVersion, SnippetLine, Tag, Talk
from tests.visitors import as_visitor

pytestmark = pytest.mark.django_db
DAY_URL = "/c/dockercon-2016/day-1/"


def page(client: Client) -> str:
    response = client.get(DAY_URL)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def runner_up(db):
    return RunnerStatus.objects.create(available=True, explanation="Sandboxes available.")


@pytest.fixture
def ls_line(demo_day) -> SnippetLine:
    return SnippetLine.objects.get(command="docker service ls")


def test_it_serves_a_cached_hit_in_one_query(client, demo_day, django_assert_num_queries):
    first = page(client)
    with django_assert_num_queries(1):
        second = page(client)
    assert first == second


def test_it_serves_a_visitor_with_a_session_in_two_queries(
    client, demo_day, django_assert_num_queries
):
    session = client.session
    session["anything"] = "abc123"
    session.save()
    page(client)
    with django_assert_num_queries(2):  # the session, then the day with its versions
        page(client)


def test_a_visitor_who_pressed_run_keeps_the_one_query_hit(
    client, demo_day, django_assert_num_queries
):
    as_visitor(client, "0123456789abcdef01234567")  # their key is a cookie, not a session
    page(client)
    with django_assert_num_queries(1):
        page(client)


def test_every_reader_gets_the_same_page_and_a_csrf_cookie_of_their_own(demo_day, runner_up):
    alice, bob = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    page(alice)  # fills the cache
    alice_page, bob_page = page(alice), page(bob)
    assert alice_page == bob_page  # no token in the page: the same bytes for everyone
    assert CSRF_PLACEHOLDER not in bob_page and "csrfmiddlewaretoken" not in bob_page
    assert 'data-csrf-cookie="csrftoken"' in bob_page  # where site.js finds the token
    alice_secret, bob_secret = alice.cookies["csrftoken"].value, bob.cookies["csrftoken"].value
    assert alice_secret != bob_secret
    # htmx sends the cookie's value as X-CSRFToken (static/js/site.js).
    ok = bob.post("/sandbox/reset/", HTTP_X_CSRFTOKEN=bob_secret, HTTP_HX_REQUEST="true")
    assert ok.status_code == 200
    mixed_up = bob.post("/sandbox/reset/", HTTP_X_CSRFTOKEN=alice_secret, HTTP_HX_REQUEST="true")
    assert mixed_up.status_code == 403


def test_a_cached_page_with_a_csrf_token_in_it_gets_each_readers_own(rf):
    from django.middleware.csrf import CsrfViewMiddleware, _unmask_cipher_token

    from talks.cache import serve_cached

    def render(context):
        return HttpResponse(f"<input value='{context['csrf_token']}'>")

    tokens = []
    for _ in range(2):
        request = rf.get("/somewhere/")
        CsrfViewMiddleware(lambda r: HttpResponse()).process_request(request)
        html = serve_cached(request, key="test:page-with-a-token", render=render).content
        token = re.search(rb"value='([^']+)'", html).group(1).decode()
        assert _unmask_cipher_token(token) == request.META["CSRF_COOKIE"]
        tokens.append(token)
    assert tokens[0] != tokens[1]


def test_it_shows_an_admin_edit_on_the_next_request(staff_client, demo_day):
    client = Client()
    note = Highlight.objects.get(text="Minimal kernel")
    assert "Minimal kernel" in page(client)
    response = staff_client.post(
        f"/admin/talks/highlight/{note.pk}/change/",
        {
            "talk": note.talk_id,
            "parent": "",
            "position": note.position,
            "style": note.style,
            "kind": note.kind,
            "text": "A **minimal** kernel, edited",
            "resolution": "",
            "resolution_url": "",
        },
    )
    assert response.status_code == 302, response.content
    html = page(client)
    assert "A <strong>minimal</strong> kernel, edited" in html
    assert "Minimal kernel" not in html


def _rename_conference(day: Day) -> str:
    conference = day.conference
    conference.name = "DockerCon Sixteen"
    conference.save()
    return "DockerCon Sixteen"


def _edit_day(day: Day) -> str:
    day.summary = "An *edited* summary."
    day.save()
    return "An <em>edited</em> summary."


def _rename_talk(day: Day) -> str:
    talk = day.talks.get(slug="immutable-infrastructure")
    talk.title = "Mutable Infrastructure"
    talk.save()
    return "Mutable Infrastructure"


def _add_highlight(day: Day) -> str:
    Highlight.objects.create(talk=day.talks.first(), position=99, text="A note added later")
    return "A note added later"


def _edit_line(day: Day) -> str:
    line = SnippetLine.objects.get(command="docker service ls")
    line.command = "docker node ls"
    line.save()
    return "Copy: docker node ls"


def _rename_tag(day: Day) -> str:
    tag = Tag.objects.get(slug="security")
    tag.name = "safety"
    tag.save()
    return "#safety"


def _tag_a_talk(day: Day) -> str:
    day.talks.get(slug="immutable-infrastructure").tags.add(Tag.objects.create(name="newtag"))
    return "#newtag"


def _delete_highlight(day: Day) -> str:
    Highlight.objects.get(text="Minimal kernel").delete()
    return "!Minimal kernel"


def _add_next_day(day: Day) -> str:
    Day.objects.create(conference=day.conference, number=2, title="Day two, now written")
    return 'href="/c/dockercon-2016/day-2/"'


def _move_a_talk_away(day: Day) -> str:
    other = Day.objects.create(conference=day.conference, number=3, title="Day three")
    talk = day.talks.get(slug="the-golden-ticket")
    talk.day = other
    talk.save()
    return "!The Golden Ticket"


def _bulk_update_then_bump(day: Day) -> str:
    Talk.objects.filter(slug="keynote").update(title="Keynote, bulk-edited")
    bump_notes_version()  # what writes without signals must do
    return "Keynote, bulk-edited"


@pytest.mark.parametrize(
    "edit",
    [
        _rename_conference,
        _edit_day,
        _rename_talk,
        _add_highlight,
        _edit_line,
        _rename_tag,
        _tag_a_talk,
        _delete_highlight,
        _add_next_day,
        _move_a_talk_away,
        _bulk_update_then_bump,
    ],
)
def test_it_shows_every_kind_of_edit_on_the_next_request(client, demo_day, edit):
    page(client)
    page(client)  # a hit, to be sure the cache is warm
    expected = edit(demo_day)
    html = page(client)
    if expected.startswith("!"):
        assert expected[1:] not in html
    else:
        assert expected in html


def test_it_bumps_the_version_in_the_edit_transaction(demo_day):
    before = NotesVersion.objects.get(pk=1).token
    demo_day.save()
    assert NotesVersion.objects.get(pk=1).token != before


def test_it_recreates_a_missing_version_row(demo_day):
    NotesVersion.objects.all().delete()
    bump_notes_version()
    assert NotesVersion.objects.get(pk=1).token


def test_it_shows_a_new_run_and_its_output_on_the_next_request(client, ls_line):
    assert "NEW OUTPUT" not in page(client)
    run = Run.objects.create(snippet_line=ls_line, visitor="v", line=ls_line.command)
    assert 'data-status="queued"' not in page(client)  # in flight: its visitor's cell alone
    run.status, run.started_at = Run.Status.RUNNING, timezone.now()
    run.save()
    assert 'data-status="running"' not in page(client)
    run.status, run.stdout, run.finished_at = Run.Status.SUCCEEDED, "NEW OUTPUT", timezone.now()
    run.save()
    assert "NEW OUTPUT" in page(client)
    run.delete()
    assert "NEW OUTPUT" not in page(client)


def test_it_offers_run_while_the_runner_is_up_and_fresh(client, demo_day, settings):
    assert "Run: docker service ls" not in page(client)
    status = RunnerStatus.objects.create(available=True, explanation="Sandboxes available.")
    assert 'aria-label="Run: docker service ls"' in page(client)
    status.checked_at = timezone.now() - timedelta(seconds=settings.RUNNER_HEARTBEAT_STALE + 1)
    status.save()
    html = page(client)
    assert "Run: docker service ls" not in html
    assert "No runner worker is running" in html


def test_it_keeps_staff_and_anonymous_pages_apart(staff_client, demo_day):
    assert 'href="/admin/"' in page(staff_client)
    assert 'href="/admin/"' not in page(Client())
    assert 'href="/admin/"' in page(staff_client)


def test_it_follows_the_runner_settings(client, demo_day, runner_up, settings):
    assert "Run: docker service ls" in page(client)
    settings.RUNNER_ANONYMOUS = False
    html = page(client)
    assert "Run: docker service ls" not in html
    assert "Log in with an account that may run commands" in html


def test_it_serves_the_usual_headers_and_cookie_from_the_fast_path(client, demo_day):
    first = client.get(DAY_URL)
    reader = Client()
    hit = reader.get(DAY_URL)
    for header in ("Content-Type", "Content-Security-Policy", "X-Frame-Options", "Link"):
        assert hit[header] == first[header], header
    assert "Cookie" in hit["Vary"]
    assert int(hit["Content-Length"]) == len(hit.content)
    assert reader.cookies["csrftoken"].value


def test_it_keeps_a_readers_csrf_cookie(demo_day):
    reader = Client()
    page(reader)
    secret = reader.cookies["csrftoken"].value
    page(reader)  # a hit, with the cookie sent back
    assert reader.cookies["csrftoken"].value == secret


@pytest.mark.django_db(transaction=True)
def test_it_notices_commits_by_other_processes_on_sqlite(demo_day, django_assert_num_queries):
    """Outside a transaction, a hit on SQLite costs one PRAGMA until anyone commits."""
    import sqlite3

    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("PRAGMA data_version is SQLite's")
    reader = Client()
    page(reader)
    with django_assert_num_queries(1) as captured:
        page(reader)
    assert "data_version" in captured.captured_queries[0]["sql"]
    other = sqlite3.connect(connection.settings_dict["NAME"])  # another process, in effect
    with other:
        other.execute(
            "UPDATE talks_day SET summary_html = '<p>Changed elsewhere.</p>' WHERE id = ?",
            [demo_day.pk],
        )
        other.execute("UPDATE talks_notesversion SET token = 'elsewhere' WHERE id = 1")
    other.close()
    assert "Changed elsewhere." in page(reader)


def test_it_keeps_the_middlewares_pages_within_their_memory_budget():
    from talks.cache import _RecentPages

    pages = _RecentPages(budget=100)
    pages.put("a", (0.0, b"a" * 60, []))
    pages.put("b", (0.0, b"b" * 60, []))
    assert list(pages.pages) == ["b"] and pages.used == 60
    pages.put("b", (0.0, b"c" * 10, []))
    assert pages.used == 10


def test_its_csrf_tokens_are_djangos_format_and_unmask_to_the_cookie_secret(rf):
    from django.middleware.csrf import _check_token_format, _unmask_cipher_token

    from talks.cache import csrf_token

    first_visit = rf.get(DAY_URL)
    token = csrf_token(first_visit)
    secret = first_visit.META["CSRF_COOKIE"]
    _check_token_format(token)  # raises if Django would not accept it
    assert len(secret) == 32 and _unmask_cipher_token(token) == secret
    assert first_visit.META["CSRF_COOKIE_NEEDS_UPDATE"] is True
    again = csrf_token(first_visit)
    assert again != token and _unmask_cipher_token(again) == secret  # a new mask each time


def test_its_random_strings_use_the_whole_alphabet_evenly():
    from collections import Counter

    from django.middleware.csrf import CSRF_ALLOWED_CHARS

    from talks.cache import _random_string

    counts = Counter("".join(_random_string(62) for _ in range(2000)))
    assert set(counts) == set(CSRF_ALLOWED_CHARS)
    # 2,000 of each expected; chance stays within +-200 (4.5 standard deviations). Evenness
    # itself comes from the construction: only bytes below 248 (4 x 62) are used.
    assert all(1800 < count < 2200 for count in counts.values())
