"""An editor logs in, edits the day's summary in the admin with the Markdown preview, and sees
it on the day page, as does every reader at once (the cached page follows the edit)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DAY_URL
from tests.factories import PARTIAL

pytestmark = pytest.mark.browser


def test_it_lets_an_editor_preview_and_publish_a_summary(pages, page, demo_day, django_user_model):
    django_user_model.objects.create_superuser(username="editor", password="editor-password")
    reader = pages.new()
    reader.goto(DAY_URL)  # the page is cached from now on
    expect(reader.locator(".summary")).to_contain_text("Good first day.")

    page.goto(f"/admin/talks/day/{demo_day.pk}/change/")
    expect(page).to_have_url(re.compile("/admin/login/"))
    page.get_by_label("Username").fill("editor")
    page.get_by_label("Password").fill("editor-password")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(f"/admin/talks/day/{demo_day.pk}/change/$"))

    summary = page.locator("textarea#id_summary")
    summary.fill("A **great** day: `docker service ls` *everywhere*.")
    page.locator("#id_summary + button.markdown-preview-button").click()
    preview = page.locator("#id_summary ~ .markdown-preview").first
    expect(preview).to_be_visible()
    expect(preview.locator("strong")).to_have_text("great")
    expect(preview.locator("code")).to_have_text("docker service ls")
    page.locator("input[name=_save]").click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    page.goto(DAY_URL)
    expect(page.locator(".summary strong")).to_have_text("great")
    expect(page.get_by_role("link", name="Admin")).to_be_visible()  # staff see their link

    reader.reload()
    expect(reader.locator(".summary")).to_contain_text("A great day: docker service ls everywhere.")
    expect(reader.locator(".summary em")).to_have_text("everywhere")
    expect(reader.get_by_role("link", name="Admin")).to_have_count(0)


def test_it_asks_an_editor_before_an_import_removes_notes(pages, page, demo_day, django_user_model):
    from talks.models import Talk

    django_user_model.objects.create_superuser(username="editor", password="editor-password")
    page.goto("/admin/talks/day/")
    page.get_by_label("Username").fill("editor")
    page.get_by_label("Password").fill("editor-password")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Import notes").click()
    expect(page).to_have_title(re.compile("^Import notes"))

    page.get_by_label("Or paste the notes").fill(PARTIAL)
    page.get_by_role("button", name="Preview").click()
    expect(page).to_have_title(re.compile("^Preview import: DockerCon 2016 Highlights Day 1"))
    expect(page.locator(".import-changes")).to_contain_text("Removes: 3 talks")
    expect(page.locator(".import-changes")).to_contain_text("Keeps the day’s title, intro")

    page.get_by_role("button", name="Import these notes").click()  # without ticking the box
    expect(page.locator("#import-error")).to_contain_text("Nothing was imported")
    assert Talk.objects.filter(day=demo_day).count() == 4
    # The refusal is an HTTP 400, as it should be; the browser logs that as an error.
    pages.errors[:] = [e for e in pages.errors if "/import/confirm/" not in e or "400" not in e]

    page.get_by_label("Yes, remove these talks, notes and snippets").check()
    page.get_by_role("button", name="Import these notes").click()
    expect(page).to_have_url(re.compile(f"/admin/talks/day/{demo_day.pk}/change/$"))
    expect(page.locator(".messagelist")).to_contain_text("Imported “DockerCon 2016 Highlights")
    assert Talk.objects.filter(day=demo_day).count() == 1
