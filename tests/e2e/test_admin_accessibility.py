"""The admin's day and talk pages, where editors spend their time, pass axe: every form field
of the tabular inlines (a row per note, block and line) is named, and so is each Preview; and
so does the import preview, with what a re-import would replace and remove."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from playwright.sync_api import expect

from talks.demo import DOCKERCON_2016_DAY_1
from talks.documents import save_day
from talks.models import Highlight, Talk
from tests.e2e.conftest import check_axe, describe, editors_page
from tests.talks.test_import_seed import SEED

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


def test_the_import_preview_of_a_stored_day_passes_axe(pages, staff_user, settings):
    page = editors_page(pages, staff_user, settings, bypass_csp=True)
    day, _ = save_day(DOCKERCON_2016_DAY_1)
    note = Highlight.objects.get(talk__day=day, text__startswith="Docker for Mac Beta")
    note.text = note.text.replace("Beta", "beta")  # a fix made in the admin...
    note.save()
    LogEntry.objects.log_actions(
        user_id=staff_user.pk,
        queryset=[note],
        action_flag=CHANGE,
        change_message='[{"changed": {"fields": ["Text"]}}]',
        single_object=True,
    )
    Talk.objects.create(day=day, position=9, title="Added in the admin")  # ...and a talk
    page.goto("/admin/talks/day/import/")
    page.get_by_label("Or paste the notes").fill(SEED.read_text())
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(".import-overwrites")).to_contain_text("edited in the admin")
    expect(page.locator(".import-removal")).to_contain_text("Added in the admin")
    assert not (problems := check_axe(page)), describe(problems)
