"""A request the CSRF check refuses (the browser sent no cookie): a short alert where htmx
swaps the answer, or a page in the site's layout, in plain words; never Django's own page,
which htmx would swap in over the whole notes page (notes_site.csrf)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone

from runner.models import Run
from runner.visitors import VISITOR_COOKIE, cookie_value

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}
COOKIE_WORDS = "Your browser did not send this site&#x27;s cookie"
RELOAD = "Reload the page (cookies must be allowed for this site) and press Run again."


def strict() -> Client:
    return Client(enforce_csrf_checks=True)


def test_with_htmx_a_run_gets_an_alert_in_its_cell(line):
    response = strict().post(f"/run/line/{line.pk}/", **HX)
    assert response.status_code == 403
    html = response.content.decode()
    assert html.startswith('<p class="notice" role="alert">')
    assert COOKIE_WORDS in html and RELOAD in html
    assert "<html" not in html and "CSRF" not in html
    assert not Run.objects.exists()


def test_without_htmx_it_is_a_page_of_the_site_with_a_way_back(line):
    response = strict().post(f"/run/line/{line.pk}/", HTTP_REFERER="http://testserver/c/x/")
    assert response.status_code == 403
    html = response.content.decode()
    assert '<main id="main"' in html  # the site's layout (base.html)
    assert re.search(r"<h1>Cookie not sent</h1>", html)
    assert COOKIE_WORDS in html and RELOAD in html
    assert '<a href="http://testserver/c/x/">Back</a>' in html
    assert "CSRF_FAILURE_VIEW" not in html


def test_the_alert_keeps_the_cell_of_the_visitors_run_in_flight(line):
    visitor = "0123456789abcdef01234567"
    run = Run.objects.create(snippet_line=line, visitor=visitor, line=line.command)
    client = strict()
    client.cookies[VISITOR_COOKIE] = cookie_value(visitor)
    html = client.post(f"/run/line/{line.pk}/", **HX).content.decode()
    assert html.startswith('<p class="notice" role="alert">')
    assert f'hx-get="/runs/{run.pk}/?origin=yours"' in html  # it goes on polling


def test_run_all_puts_it_in_the_blocks_notice(line):
    response = strict().post(f"/run/snippet/{line.snippet_id}/", **HX)
    assert response.status_code == 403
    assert response["HX-Retarget"] == f"#snippet-{line.snippet_id}-notice"
    assert RELOAD in response.content.decode()


def test_other_actions_say_try_again(line):
    response = strict().post("/sandbox/reset/", **HX)
    assert response.status_code == 403
    html = response.content.decode()
    assert "so this was not done" in html and "and try again." in html


def test_a_swarm_control_keeps_the_picture(demo_day):
    response = strict().post("/sandbox/start/", {"block": "3", "nodes": "2"}, **HX)
    assert response.status_code == 403
    assert response["HX-Retarget"] == "#swarm-3-notice"
    assert response["HX-Reswap"] == "innerHTML"


def test_a_huge_line_id_gets_the_alert_too(demo_day):
    response = strict().post(f"/run/line/{2**63}/", **HX)
    assert response.status_code == 403
    assert RELOAD in response.content.decode()


def test_with_the_cookie_and_token_it_still_runs(line):
    client = strict()
    client.get(line.snippet.talk.day.get_absolute_url())
    token = client.cookies["csrftoken"].value
    response = client.post(f"/run/line/{line.pk}/", HTTP_X_CSRFTOKEN=token, **HX)
    assert response.status_code == 200
    assert Run.objects.get().created_at <= timezone.now()
