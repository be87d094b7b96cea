"""A reader finds the demo day, follows a highlight's anchor, searches, and pages between days."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from talks.documents import ConferenceDoc, DayDoc, HighlightDoc, TalkDoc, save_day
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


TITLE = "{} · Search · Confnotes"


def test_it_keeps_the_search_form_in_step_with_the_address_on_back(page, demo_day):
    box = page.locator("#search-q")
    status = page.locator("#search-status")
    page.goto("/tags/")
    page.goto("/search/")
    expect(page).to_have_title("Search · Confnotes")
    # Typed slowly, a pause after every letter: each pause searches, and the address follows
    # without an entry in the history for each.
    box.press_sequentially("swarm", delay=450)
    for words in ["swarm", "docker", "tls"]:
        if words != "swarm":
            box.fill("")
            box.press_sequentially(words, delay=20)
        # No empty filters in the address (&conference=&day=&tag=), and the title follows.
        expect(page).to_have_url(re.compile(rf"/search/\?q={words}$"))
        expect(status).to_contain_text(f"for {words}")
        expect(page).to_have_title(TITLE.format(words))

    page.go_back()
    expect(page).to_have_url(re.compile(r"/search/\?q=docker$"))
    expect(status).to_contain_text("for docker")
    expect(box).to_have_value("docker")
    expect(page).to_have_title(TITLE.format("docker"))
    page.go_back()
    expect(page).to_have_url(re.compile(r"/search/\?q=swarm$"))
    expect(box).to_have_value("swarm")
    page.go_back()  # not "swa", "sw" nor the empty search page: the page before the search
    expect(page).to_have_url(re.compile(r"/tags/$"))
    page.go_forward()
    expect(box).to_have_value("swarm")
    expect(page).to_have_title(TITLE.format("swarm"))

    # The filters too: after Back they show what the results were filtered by, and changing
    # one then searches the words of the address, not those typed last.
    tag = page.locator("#id_tag")
    tag.select_option("networking")
    expect(page).to_have_url(re.compile(r"/search/\?q=swarm&tag=networking$"))
    box.fill("")
    box.press_sequentially("tls", delay=20)
    expect(page).to_have_url(re.compile(r"/search/\?q=tls&tag=networking$"))
    tag.select_option("security")
    expect(page).to_have_url(re.compile(r"/search/\?q=tls&tag=security$"))
    page.go_back()
    expect(page).to_have_url(re.compile(r"/search/\?q=tls&tag=networking$"))
    expect(tag).to_have_value("networking")
    page.go_back()
    expect(page).to_have_url(re.compile(r"/search/\?q=swarm&tag=networking$"))
    expect(box).to_have_value("swarm")
    expect(tag).to_have_value("networking")
    page.locator("#id_conference").select_option("dockercon-2016")
    expect(page).to_have_url(
        re.compile(r"/search/\?q=swarm&conference=dockercon-2016&tag=networking$")
    )
    expect(status).to_contain_text("Nothing matches swarm with these filters")


def test_it_pages_through_results_with_the_focus_on_the_new_ones(page, demo_day):
    notes = [HighlightDoc(f"Kubernetes note number {i}") for i in range(25)]
    save_day(DayDoc(ConferenceDoc("KubeCon"), 1, "Day", talks=[TalkDoc("K", highlights=notes)]))
    page.set_viewport_size({"width": 1280, "height": 600})
    page.goto("/search/?q=kubernetes")
    status = page.locator("#search-status")
    hits = page.locator("#search-results .search-hit-heading")
    expect(status).to_contain_text("Results 1–20 for kubernetes")
    expect(page.get_by_role("link", name="Previous results")).to_have_count(0)
    page.get_by_role("link", name="Next results").focus()
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/search/\?q=kubernetes&page=2$"))
    expect(status).to_contain_text("Results 21–25 for kubernetes")
    expect(hits.first).to_be_focused()  # not <body>
    expect(status).to_be_in_viewport()  # not left at the bottom of the page
    expect(page.get_by_role("link", name="Next results")).to_have_count(0)

    page.get_by_role("link", name="Previous results").click()
    expect(page).to_have_url(re.compile(r"/search/\?q=kubernetes$"))
    expect(status).to_contain_text("Results 1–20")
    expect(hits.first).to_be_focused()
    page.go_back()
    expect(page).to_have_url(re.compile(r"/search/\?q=kubernetes&page=2$"))
    expect(status).to_contain_text("Results 21–25")
    expect(page.locator("#search-q")).to_have_value("kubernetes")
