"""A reader finds the demo day, follows a highlight's anchor, searches, and pages between days."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from talks.models import Day, Highlight
from tests.e2e.conftest import DAY_URL

pytestmark = pytest.mark.browser


def test_it_takes_a_reader_from_home_to_a_note_search_and_the_next_day(page, demo_day):
    Day.objects.create(
        conference=demo_day.conference,
        number=2,
        title="DockerCon 2016 Highlights Day 2",
        summary="The second day, *briefly*.",
    )
    swarm_note = Highlight.objects.get(text__startswith="Swarm mode. Self forming")

    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Conference notes")
    page.get_by_role("link", name="DockerCon 2016 Highlights Day 1").click()
    expect(page).to_have_url(re.compile(re.escape(DAY_URL) + "$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("DockerCon 2016 Highlights Day 1")

    # A highlight's own anchor: the address names it and the note is in view, marked.
    note = page.locator(f"#{swarm_note.anchor}")
    note.get_by_role("link", name="Link to this note").first.click()
    expect(page).to_have_url(re.compile(f"#{swarm_note.anchor}$"))
    expect(note).to_be_in_viewport()
    assert note.evaluate("el => el.matches(':target')")

    # Search from the box in the header: results appear under it as you type, and the page
    # keeps its address; Esc closes them, and so does a click elsewhere.
    box = page.locator("header input[type=search][name=q]")
    popover = page.locator("#search-popover")
    box.press_sequentially("swarm mo", delay=20)
    expect(popover.locator(".search-hits a", has_text="Swarm mode. Self forming")).to_be_visible()
    expect(page).to_have_url(re.compile(f"#{swarm_note.anchor}$"))
    popover.locator(".search-hits a").first.focus()
    page.keyboard.press("Escape")
    expect(popover).to_be_hidden()
    expect(box).to_be_focused()
    box.press_sequentially("d", delay=20)
    expect(popover).to_be_visible()
    page.locator("h1").click()
    expect(popover).to_be_hidden()
    expect(page).to_have_url(re.compile(f"#{swarm_note.anchor}$"))
    # Enter goes to the search page, whose results name the note.
    box.fill("swarm mode")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=swarm(\+|%20)mode"))
    hit = page.locator(".search-hits a", has_text="Swarm mode. Self forming")
    expect(hit.first).to_be_visible()
    hit.first.click()
    expect(page).to_have_url(re.compile(re.escape(DAY_URL)))
    expect(page.locator(f"#{swarm_note.anchor}")).to_be_in_viewport()

    # Previous and next day.
    page.get_by_role("navigation", name="Other days").get_by_role(
        "link", name=re.compile("Day 2")
    ).click()
    expect(page).to_have_url(re.compile("/c/dockercon-2016/day-2/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("DockerCon 2016 Highlights Day 2")
    expect(page.locator(".summary")).to_contain_text("The second day, briefly.")
    page.locator("a[rel=prev]").click()
    expect(page).to_have_url(re.compile(re.escape(DAY_URL) + "$"))
    # The sign-off now links the day that was written meanwhile.
    expect(page.locator(".next-day-link a")).to_have_attribute("href", "/c/dockercon-2016/day-2/")
