"""The admin's day and talk pages, where editors spend their time, pass axe: every form field
of the tabular inlines (a row per note, block and line) is named, and so is each Preview."""

from __future__ import annotations

import pytest

from talks.demo import DOCKERCON_2016_DAY_1
from talks.documents import save_day
from tests.e2e.conftest import check_axe, describe, editors_page

pytestmark = pytest.mark.browser


def test_the_day_and_talk_pages_of_the_admin_pass_axe(pages, staff_user, settings):
    page = editors_page(pages, staff_user, settings, bypass_csp=True)  # axe is added as a script
    day, _ = save_day(DOCKERCON_2016_DAY_1)
    snippet = day.talks.get(slug="keynote").snippets.get()
    urls = [f"/admin/talks/day/{day.pk}/change/", f"/admin/talks/snippet/{snippet.pk}/change/"]
    urls += [f"/admin/talks/talk/{talk.pk}/change/" for talk in day.talks.all()]
    found = {}
    for url in urls:
        page.goto(url)
        page.wait_for_load_state("networkidle")  # admin-preview.js has added its buttons
        if problems := check_axe(page):
            found[url] = problems
    assert not found, describe(found)
    page.goto(f"/admin/talks/talk/{day.talks.get(slug='keynote').pk}/change/")
    names = page.locator(".markdown-preview-button").evaluate_all(
        "buttons => buttons.map(b => b.getAttribute('aria-label') || b.textContent)"
    )
    assert len(names) == len(set(names)) > 3  # each says which text it previews
