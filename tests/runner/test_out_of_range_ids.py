"""Ids no column can hold: the hand-written statements (runner.rows) answer them as the ORM
does, with nothing found, and the views with their own 404 message, never a 500."""

from __future__ import annotations

import pytest

from runner import rows
from runner.models import Run, Sandbox
from talks.models import SnippetLine

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}
TOO_BIG = [2**63, 99999999999999999999999]


@pytest.mark.parametrize("pk", [*TOO_BIG, -(2**63) - 1])
def test_get_finds_nothing_for_a_key_outside_the_column(pk, django_assert_num_queries):
    with django_assert_num_queries(0):  # no row can have it: nothing to ask
        assert rows.get(SnippetLine, pk, using="default") is None
        assert rows.get(Sandbox, pk, using="default") is None


def test_get_still_finds_the_largest_key_a_column_holds(demo_day):
    line = SnippetLine.objects.first()
    SnippetLine.objects.filter(pk=line.pk).update(id=2**63 - 1)
    assert rows.get(SnippetLine, 2**63 - 1, using="default").command == line.command


@pytest.mark.parametrize("pk", TOO_BIG)
def test_run_line_answers_a_huge_id_with_its_404_message(client, demo_day, pk):
    for headers in (HX, {}):  # the cell's message with htmx, a page without
        response = client.post(f"/run/line/{pk}/", **headers)
        assert response.status_code == 404
        assert "There is no such command line" in response.content.decode()
    assert not Run.objects.exists()


def test_the_confirmation_answers_a_huge_id_with_404(client, demo_day):
    response = client.get("/run/confirm/", {"action": f"/run/line/{2**63}/"})
    assert response.status_code == 404


@pytest.mark.parametrize("pk", [999999, *TOO_BIG])
def test_run_all_on_a_block_gone_says_so_in_the_blocks_notice(client, demo_day, pk):
    """A block deleted since the page loaded: the 404 page replaced the whole day page."""
    response = client.post(f"/run/snippet/{pk}/", **HX)
    assert response.status_code == 404
    assert response["HX-Retarget"] == f"#snippet-{pk}-notice"
    html = response.content.decode()
    assert "There is no such block of commands" in html and "<html" not in html
    page = client.post(f"/run/snippet/{pk}/")  # without htmx: a page saying it
    assert page.status_code == 404 and "There is no such block of commands" in page.content.decode()
    assert not Run.objects.exists()
