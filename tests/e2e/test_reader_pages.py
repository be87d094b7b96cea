"""What a reader meets on a phone, with a screen reader and on paper: a header search popover
that never scrolls sideways, blocks of commands named briefly and no landmark per command line,
printed notes without the ways around the site, and a talk's page that leads on."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from talks.models import Highlight, Talk
from tests.e2e.conftest import DAY_URL

pytestmark = pytest.mark.browser

LONG_URL = "https://example.org/" + "averylongpathsegment" * 8
LONG_WORD = "Supercalifragilistic" * 5
# What in the popover reaches past its right edge; code excerpts scroll inside their own box.
PAST_THE_POPOVER = """() => {
    const popover = document.querySelector("#search-popover");
    const right = popover.getBoundingClientRect().right;
    return {
        client: popover.clientWidth,
        scroll: popover.scrollWidth,
        past: [...popover.querySelectorAll("*")]
            .filter((el) => !el.closest("pre") && el.getBoundingClientRect().right > right + 1)
            .map((el) => el.outerHTML.slice(0, 100)),
    };
}"""


@pytest.mark.parametrize("query", ["docker", "averylongpathsegment", "Supercalifragilistic"])
def test_it_keeps_the_header_search_popover_within_a_phone(pages, demo_day, query):
    talk = Talk.objects.filter(day=demo_day).first()
    Highlight.objects.create(talk=talk, text=f"The docker notes are at {LONG_URL}")
    Highlight.objects.create(talk=talk, text=f"docker {LONG_WORD}")
    phone = pages.new(width=375, height=667)
    phone.goto(DAY_URL)
    phone.locator("#site-search").press_sequentially(query, delay=20)
    expect(phone.locator("#search-popover .search-hit").first).to_be_visible()
    phone.wait_for_load_state("networkidle")
    found = phone.evaluate(PAST_THE_POPOVER)
    assert found["client"] <= 375
    assert found["scroll"] <= found["client"], found
    assert not found["past"], found
    assert not pages.errors, pages.errors


def test_it_names_a_block_briefly_and_copy_all_for_every_line(page, demo_day):
    page.goto(DAY_URL)
    first = "docker service create --name vote -p 8080:80 instavote/vote"
    # The figure's name is its caption's text, not the names of the buttons beside it.
    expect(page.get_by_role("figure", name="Commands (6 lines)", exact=True)).to_have_count(1)
    expect(page.get_by_role("figure", name=re.compile("Copy|History"))).to_have_count(0)
    copy_all = page.get_by_role("button", name=f"Copy all 6 lines: {first}", exact=True)
    expect(copy_all).to_have_text("Copy all")


def test_it_makes_no_command_line_a_landmark(page, demo_day):
    page.goto(DAY_URL)
    expect(page.get_by_role("region", name=re.compile("^Command"))).to_have_count(0)
    commands = page.get_by_role("group", name=re.compile("^Command: "))
    expect(commands).to_have_count(6)
    # Still one Tab stop each, so the keyboard scrolls a long one.
    assert all(pre.get_attribute("tabindex") == "0" for pre in commands.all())
    # The landmarks left: the site's own, and the sections of the day (the talks, its summary).
    talks = Talk.objects.filter(day=demo_day).count()
    assert page.get_by_role("region").count() == talks + 1


HIDDEN_ON_PAPER = (
    ".snippet-notice",  # "Running commands is switched off on this site."
    ".site-header nav",
    ".breadcrumb",
    ".export-links",
    ".day-nav",
    ".site-footer",
)
SHOWN = """(selector) => [...document.querySelectorAll(selector)]
    .filter((el) => el.getClientRects().length > 0)
    .map((el) => el.outerHTML.slice(0, 80))"""
AFTER = "(el) => getComputedStyle(el, '::after').content"


def test_it_prints_the_notes_alone_with_the_addresses_of_links_out(pages, demo_day, settings):
    settings.RUNNER_MODE = "off"
    page = pages.new(width=718)  # about A4's printable width
    page.goto(DAY_URL)
    expect(page.locator(".snippet-notice")).to_contain_text("switched off on this site")
    for selector in HIDDEN_ON_PAPER:
        assert page.evaluate(SHOWN, selector), f"{selector} is not on the screen"
    session = page.get_by_role("link", name="Session page")
    assert session.evaluate(AFTER) == "none"

    page.emulate_media(media="print")
    for selector in HIDDEN_ON_PAPER:
        assert not page.evaluate(SHOWN, selector), selector
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator(".note").first).to_be_visible()
    expect(page.locator("pre.highlight").first).to_be_visible()
    assert session.evaluate(AFTER) == '" (http://dockercon2016.sched.org/event/70Ni)"'
    # A bare URL in the notes is its own address: it is not printed twice.
    bare = page.locator("a[href='https://www.docker.com/products/docker#/mac']")
    assert bare.evaluate(AFTER) == "none"

    # The talk's own page: its ways to the talks around it stay off the paper too.
    page.goto(f"{DAY_URL}keynote/")
    assert not page.evaluate(SHOWN, ".day-nav")
    page.emulate_media(media="screen")
    expect(page.get_by_role("navigation", name="Other talks")).to_be_visible()
    assert not pages.errors, pages.errors


def test_a_talks_page_leads_to_the_talks_around_it(page, demo_day):
    talks = list(Talk.objects.filter(day=demo_day).order_by("position", "id"))
    page.goto(talks[0].get_absolute_url())
    other_talks = page.get_by_role("navigation", name="Other talks")
    expect(other_talks).to_contain_text("This is the day's first talk.")
    other_talks.get_by_role("link", name=f"{talks[1].title} →").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(talks[1].title)
    other_talks.get_by_role("link", name=f"← {talks[0].title}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(talks[0].title)
    other_talks.get_by_role("link", name="All talks of DockerCon 2016 Highlights Day 1").click()
    expect(page).to_have_url(re.compile(rf"{DAY_URL}#{talks[0].anchor}$"))
