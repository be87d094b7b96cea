"""The visitor's key (runner.visitors): a signed cookie of its own, not the session."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from runner.models import Run
from runner.visitors import (
    SESSION_KEY,
    VISITOR_COOKIE,
    cookie_value,
    read_cookie,
)
from talks.models import Snippet, SnippetLine
from tests.visitors import as_visitor, visitor_of

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def line(demo_day):
    """A refused line: the run is recorded and closed at once, with no engine anywhere."""
    snippet = Snippet.objects.get()
    return SnippetLine.objects.create(snippet=snippet, position=9, command="docker run -it alpine")


def press(client: Client, line: SnippetLine) -> Run:
    assert client.post(f"/run/line/{line.pk}/", **HX).status_code == 200
    return Run.objects.latest("id")


def test_the_first_run_gives_a_signed_cookie_and_no_session(client, line):
    run = press(client, line)
    cookie = client.cookies[VISITOR_COOKIE]
    assert read_cookie(cookie.value)[0] == run.visitor
    assert cookie.value.startswith(f"{run.visitor}:")  # then a timestamp and a signature
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert cookie["max-age"] > 0
    assert not Session.objects.exists()
    assert "sessionid" not in client.cookies


def test_the_same_visitor_keeps_their_key_and_costs_no_session_query(client, line):
    first = press(client, line)
    with CaptureQueriesContext(connection) as queries:
        second = press(client, line)
    assert second.visitor == first.visitor
    assert not [q for q in queries if "django_session" in q["sql"]]
    assert VISITOR_COOKIE not in client.post(f"/run/line/{line.pk}/", **HX).cookies  # set once


def test_two_browsers_are_two_visitors(line):
    assert press(Client(), line).visitor != press(Client(), line).visitor


@pytest.mark.parametrize(
    "value",
    [
        "0123456789abcdef01234567",  # a key without a signature
        "0123456789abcdef01234567:1vAbCd:forged-signature",
        cookie_value("0123456789abcdef01234567")[:-2] + "xx",  # a signature changed
        cookie_value("not-a-key"),  # signed by us, but not a key we give out
        "",
    ],
)
def test_a_cookie_we_did_not_sign_makes_a_new_visitor(client, line, value):
    client.cookies[VISITOR_COOKIE] = value
    run = press(client, line)
    assert len(run.visitor) == 24 and run.visitor != "0123456789abcdef01234567"
    assert visitor_of(client) == run.visitor  # and the cookie is replaced by a good one


def test_a_cookie_signed_with_another_secret_key_makes_a_new_visitor(client, line, settings):
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    as_visitor(client, "0123456789abcdef01234567")
    settings.SECRET_KEY = "the-site-secret-key-" + "y" * 40
    assert press(client, line).visitor != "0123456789abcdef01234567"


def test_logging_out_forgets_the_visitor(client, line):
    user = User.objects.create_user("ed", password="pw-for-tests-only", is_staff=True)
    client.force_login(user)
    before = press(client, line).visitor
    response = client.post("/admin/logout/")
    assert response.cookies[VISITOR_COOKIE]["max-age"] == 0  # removed
    assert press(client, line).visitor != before


def test_logging_in_keeps_the_visitor(client, line):
    before = press(client, line).visitor
    User.objects.create_user("ed", password="pw-for-tests-only", is_staff=True)
    client.post("/admin/login/", {"username": "ed", "password": "pw-for-tests-only"})
    assert press(client, line).visitor == before


def test_a_key_kept_in_the_session_before_is_moved_to_the_cookie(client, line):
    session = client.session
    session[SESSION_KEY] = "0123456789abcdef01234567"
    session.save()
    assert press(client, line).visitor == "0123456789abcdef01234567"
    assert visitor_of(client) == "0123456789abcdef01234567"
    assert SESSION_KEY not in client.session
    assert press(client, line).visitor == "0123456789abcdef01234567"  # from the cookie now


def test_logging_in_as_someone_else_gives_a_new_visitor(client, line):
    # Before the cookie, login() flushed the session (and the key in it) when the user changed.
    rev = User.objects.create_user("rev", password="pw-for-tests-only", is_staff=True)
    rev2 = User.objects.create_user("rev2", password="pw-for-tests-only", is_staff=True)
    client.force_login(rev)
    revs = press(client, line).visitor
    assert read_cookie(client.cookies[VISITOR_COOKIE].value) == (revs, str(rev.pk))
    client.post("/admin/login/", {"username": "rev2", "password": "pw-for-tests-only"})
    assert client.get("/admin/").context["user"] == rev2  # no logout in between
    assert press(client, line).visitor != revs
    assert read_cookie(client.cookies[VISITOR_COOKIE].value)[1] == str(rev2.pk)


def test_an_accounts_key_is_not_used_once_its_session_is_gone(client, line):
    client.force_login(User.objects.create_user("ed", password="pw-for-tests-only"))
    theirs = press(client, line).visitor
    del client.cookies["sessionid"]  # expired, or cleared: the browser is anonymous now
    assert press(client, line).visitor != theirs
