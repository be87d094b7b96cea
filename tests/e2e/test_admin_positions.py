"""Rows added with "Add another" keep the order they were added in: each starts one past the
largest position of its table (static/js/admin-positions.js). Django copies one template row,
so every added row started with the same position, ordered after that only by id."""

from __future__ import annotations

import pytest

from talks.models import Snippet, Talk
from tests.e2e.conftest import editors_page

pytestmark = pytest.mark.browser


def positions(page, prefix: str) -> list[int]:
    inputs = page.locator(f"input[name^='{prefix}-'][name$='-position']:not([name*='__prefix__'])")
    return [int(value) for value in inputs.evaluate_all("els => els.map(e => e.value)")]


def test_rows_added_one_after_another_number_on(pages, staff_user, settings, demo_day):
    page = editors_page(pages, staff_user, settings)
    talk = Talk.objects.filter(day=demo_day).first()
    page.goto(f"/admin/talks/talk/{talk.pk}/change/")
    before = positions(page, "highlights")
    add = page.locator("#highlights-group .add-row a")
    add.click()
    add.click()
    after = positions(page, "highlights")
    assert len(after) == len(before) + 2
    assert after[-2:] == [max(before) + 1, max(before) + 2]

    snippet = Snippet.objects.get()
    page.goto(f"/admin/talks/snippet/{snippet.pk}/change/")
    lines = positions(page, "lines")
    add = page.locator("#lines-group .add-row a")
    for _ in range(3):
        add.click()
    last = max(lines)
    assert positions(page, "lines")[-3:] == [last + 1, last + 2, last + 3]
