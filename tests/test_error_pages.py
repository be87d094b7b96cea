"""What readers see when an address is wrong: the site's own 404 even in development (make run
sets DEBUG), and a page, not a blank, for an action's address opened in the browser (405); in
production the site's own 400, 403 and 500 pages too."""

import re

import pytest
from django.test import Client
from django.urls import path

pytestmark = pytest.mark.django_db

SITE_404 = "Nothing here"
DJANGO_DEBUG_404 = "Using the URLconf defined in"


@pytest.fixture
def debug(settings):
    settings.DEBUG = True
    return settings


@pytest.mark.parametrize(
    "url",
    [
        "/c/nope/",
        "/c/dockercon-2016/day-9/",
        "/c/dockercon-2016/day-1/nope/",
        "/tags/nope/",
        "/snippets/999/history/",
        "/c/dockercon-2016/day-1/export.xml",
        "/nothing-matches-this/",
    ],
)
def test_it_shows_the_sites_404_with_debug_on(client, demo_day, debug, url):
    response = client.get(url)
    assert response.status_code == 404
    html = response.content.decode()
    assert SITE_404 in html and DJANGO_DEBUG_404 not in html
    assert "admin/" not in html  # no list of routes
    assert 'id="not-found-search"' in html
    # With the site's policy, as every page: django-csp leaves 404s without one in DEBUG
    # (Django's technical page needs inline styles); the site's own page does not.
    assert without_nonce(response["Content-Security-Policy"]) == without_nonce(
        client.get("/")["Content-Security-Policy"]
    )


def without_nonce(policy: str) -> str:
    return re.sub(r"'nonce-[^']*'", "'nonce'", policy)


def test_it_says_what_there_is_with_debug_on(client, demo_day, debug):
    html = client.get("/c/dockercon-2016/day-9/").content.decode()
    assert "DockerCon 2016 has no day called “day-9”; its days are:" in html


def test_it_still_adds_the_slash_to_an_address_without_one(client, demo_day, debug):
    response = client.get("/c/dockercon-2016")
    assert response.status_code == 301
    assert response["Location"] == "/c/dockercon-2016/"


def _server_error(request):
    raise ValueError("a bug")


urlpatterns = [path("boom/", _server_error)]


@pytest.mark.urls("tests.test_error_pages")
def test_it_keeps_the_traceback_of_a_server_error_with_debug_on(debug):
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    assert "Traceback" in response.content.decode() and "a bug" in response.content.decode()


@pytest.mark.parametrize(
    "url", ["/run/line/1/", "/run/snippet/1/", "/sandbox/reset/", "/sandbox/start/"]
)
def test_it_explains_an_action_address_opened_in_the_browser(client, demo_day, url):
    response = client.get(url)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    html = response.content.decode()
    assert "This address is for a button" in html
    assert f"<code>{url}</code>" in html
    assert '<a href="/">home page</a>' in html
    assert 'class="site-header' in html or "<header" in html  # the site's layout


def test_it_links_back_to_the_page_the_reader_came_from(client, demo_day):
    response = client.get(
        "/follow-ups/1/resolve/", headers={"Referer": "http://testserver/follow-ups/"}
    )
    assert response.status_code == 405
    assert '<a href="http://testserver/follow-ups/">back to the page you came from</a>' in (
        response.content.decode()
    )
    elsewhere = client.get("/sandbox/reset/", headers={"Referer": "https://evil.example/"})
    assert "evil.example" not in elsewhere.content.decode()
    assert "back to the page" not in elsewhere.content.decode()


def test_it_keeps_the_short_answer_for_htmx(client, demo_day):
    response = client.get("/sandbox/reset/", headers={"HX-Request": "true"})
    assert response.status_code == 405
    assert response.content == b""
    assert response["Allow"] == "POST"


@pytest.mark.urls("tests.test_error_pages")
def test_a_server_error_gets_the_sites_own_page_in_production():
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html and "a bug" not in html
    assert 'href="/static/css/site.css"' in html
    # Rendered without the site's URLconf here: the home link falls back, it does not raise.
    assert '<a href="/">home page</a>' in html
    assert "<script" not in html and "style=" not in html  # the CSP allows neither inline


def test_a_host_not_allowed_gets_the_sites_own_400_page(client):
    response = client.get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    html = response.content.decode()
    assert "This request could not be read" in html
    assert '<a href="/">home page</a>' in html


def test_a_permission_denied_gets_the_sites_own_403_page(client, django_user_model):
    editor = django_user_model.objects.create_user(username="new", password="x", is_staff=True)
    client.force_login(editor)
    response = client.get("/admin/talks/day/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "You may not do this" in html
    assert "An administrator can give it to you" in html
