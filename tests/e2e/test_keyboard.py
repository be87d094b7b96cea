"""Keyboard only: every control on the day page is reached with Tab, shows where focus is, and
does its job with Enter; a reader can skip to the content, search and follow links."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from runner.models import RunnerStatus
from talks.models import Snippet, SnippetLine
from tests.e2e.conftest import DAY_URL, settle

pytestmark = pytest.mark.browser

FOCUSABLE = (
    "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), "
    "select:not([disabled]), textarea:not([disabled]), summary, "
    "[tabindex]:not([tabindex='-1'])"
)
# Chromium also stops at scrollable boxes (a long command line), so they can be scrolled.
NUMBER_FOCUSABLES = """(selector) => {
    const scrolls = (el) => ["auto", "scroll"].includes(getComputedStyle(el).overflowX)
        && el.scrollWidth > el.clientWidth && !el.querySelector(selector);
    const candidates = [...document.querySelectorAll(selector)]
        .concat([...document.querySelectorAll("main *")].filter(scrolls));
    const shown = [...new Set(candidates)].filter((el) => {
        const style = getComputedStyle(el);
        const box = el.getBoundingClientRect();
        return style.visibility !== "hidden" && style.display !== "none"
            && box.width > 0 && box.height > 0;
    });
    shown.forEach((el, index) => { el.dataset.kbd = String(index); });
    return shown.length;
}"""
FOCUSED = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    return {
        kbd: el.dataset.kbd ?? null,
        href: el.getAttribute("href"),
        name: (el.getAttribute("aria-label") || el.labels?.[0]?.innerText || el.innerText
            || el.value || el.tagName).trim()
            .slice(0, 60),
        focusVisible: el.matches(":focus-visible"),
        ring: (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2)
            || style.boxShadow !== "none",
        onScreen: box.bottom > 0 && box.top < innerHeight && box.right > 0 && box.left < innerWidth,
    };
}"""


def tab_to(page, name: str | re.Pattern, *, href: str = "", limit: int = 300) -> dict:
    """Press Tab until the focused control's name (and link) match; returns what is focused."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if not focused or not (focused["href"] or "").endswith(href):
            continue
        if isinstance(name, re.Pattern) and name.search(focused["name"]):
            return focused
        if focused["name"] == name:
            return focused
    raise AssertionError(f"Tab never reached {name!r}")


def test_it_reaches_every_control_of_the_day_page_with_tab_and_shows_focus(page, demo_day):
    RunnerStatus.objects.create(available=True, explanation="Private sandboxes are available.")
    page.goto(DAY_URL)
    settle(page)
    total = page.evaluate(NUMBER_FOCUSABLES, FOCUSABLE)
    assert total > 100  # links, tags, anchors, copy and run buttons, the search box

    reached: set[str] = set()
    unseen_focus: list[str] = []
    for _ in range(total + 20):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None:
            continue  # past the last control, Chromium leaves the page before starting over
        if focused["kbd"] in reached:
            break  # back at the start: the whole page went by
        assert focused["kbd"] is not None, f"focus went to an unexpected element: {focused}"
        reached.add(focused["kbd"])
        if not (focused["focusVisible"] and focused["ring"] and focused["onScreen"]):
            unseen_focus.append(focused)
    missing = page.evaluate(
        """(reached) => [...document.querySelectorAll("[data-kbd]")]
            .filter((el) => !reached.includes(el.dataset.kbd))
            .map((el) => el.outerHTML.slice(0, 120))""",
        sorted(reached),
    )
    assert not missing, f"Tab never reaches: {missing}"
    assert not unseen_focus, f"focus is not visible on: {unseen_focus}"
    run_buttons = page.locator("button[aria-label^='Run: ']")
    assert run_buttons.count() == 6


def test_it_names_each_blocks_buttons_after_its_block(page, demo_day):
    """Two blocks in a talk: each Run all says which block it runs, as Copy all and History do,
    so a list of the page's buttons tells them apart."""
    RunnerStatus.objects.create(available=True, explanation="Private sandboxes are available.")
    first = Snippet.objects.get()
    second = Snippet.objects.create(talk=first.talk, position=first.position + 1, caption="Nodes")
    SnippetLine.objects.create(snippet=second, command="docker node ls")
    page.goto(DAY_URL)
    blocks = {
        "docker service create --name vote -p 8080:80 instavote/vote": "Copy all 6 lines",
        "Nodes": "Copy all 1 line",  # Copy all also says how many lines it copies
    }
    for block, copy_all in blocks.items():
        for role, name in (
            ("button", "Run all"),
            ("button", copy_all),
            ("link", "History of runs"),
        ):
            expect(page.get_by_role(role, name=f"{name}: {block}", exact=True)).to_have_count(1)
    expect(page.get_by_role("button", name="Run all", exact=True)).to_have_count(0)


def test_it_works_with_the_keyboard_alone(page, demo_day):
    page.goto(DAY_URL)

    # The first Tab shows the skip link; Enter jumps past the header to the content.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    assert page.evaluate(FOCUSED)["onScreen"]
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(
        page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Home")
    ).to_be_focused()

    # Enter on a Copy button copies (or says how to), like a click.
    copy = tab_to(page, "Copy: docker service scale vote=6")
    assert copy["focusVisible"]
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Copy: docker service scale vote=6")).to_have_text(
        re.compile("Copied|Press Ctrl\\+C")
    )

    # Enter on a link follows it.
    page.goto(DAY_URL)
    tab_to(
        page,
        "The Golden Ticket: Docker and High Security Microservices",
        href="/day-1/the-golden-ticket/",
    )
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("/day-1/the-golden-ticket/$"))

    # Search from the header box, then open a result, all from the keyboard.
    tab_to(page, "Search the notes")
    page.keyboard.type("seccomp")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=seccomp"))
    tab_to(page, re.compile("seccomp", re.IGNORECASE))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(re.escape(DAY_URL)))


COVERED = """() => {
    const el = document.activeElement;
    const box = el.getBoundingClientRect();
    const top = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
    return !(top && (el === top || el.contains(top)));
}"""


def test_it_lets_the_keyboard_leave_the_header_search(pages, demo_day):
    page = pages.new(width=390, height=844)
    page.goto("/tags/")
    box = page.locator("#site-search")
    popover = page.locator("#search-popover")
    box.focus()
    page.keyboard.type("tls", delay=20)
    expect(popover.locator(".search-hits a").first).to_be_visible()
    # The popover's count is read from its status, beside it; the list itself is not live.
    expect(page.locator("#search-popover-status")).to_have_text(re.compile(r"\bfor tls\b"))
    assert popover.get_attribute("aria-live") is None

    # Esc closes the popover and keeps the words (Chromium would empty the field); a second
    # Esc may empty it, as browsers do.
    page.keyboard.press("Escape")
    expect(popover).to_be_hidden()
    expect(box).to_have_value("tls")
    expect(box).to_be_focused()
    expect(page.locator("#search-popover-status")).to_have_text("")
    page.keyboard.press("Escape")
    expect(box).to_have_value("")

    # Tab through the popover and past its last link: it closes and covers nothing.
    page.keyboard.type("tls", delay=20)
    links = popover.locator("a")
    expect(links.first).to_be_visible()
    last = links.last.get_attribute("href")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.getAttribute('href')") == last:
            break
    else:
        raise AssertionError("Tab never reached the popover's last link")
    expect(popover).to_be_visible()
    page.keyboard.press("Tab")
    expect(popover).to_be_hidden()
    focused = page.evaluate(FOCUSED)
    assert focused and focused["onScreen"], focused
    assert not page.evaluate(COVERED)
    assert page.evaluate("() => !document.activeElement.closest('.search-box-wrap')")

    # Back in the box, typing opens it again; Esc from a link in it closes it.
    box.focus()
    page.keyboard.type("s", delay=20)
    expect(links.first).to_be_visible()
    links.first.focus()
    page.keyboard.press("Escape")
    expect(popover).to_be_hidden()
    expect(box).to_be_focused()
    expect(box).to_have_value("tlss")
    assert not pages.errors, pages.errors


def test_copy_puts_the_command_lines_as_shown_on_the_clipboard(pages, demo_day):
    page = pages.new()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(DAY_URL)
    page.get_by_role("button", name="Copy: docker service scale vote=6").click()
    assert page.evaluate("navigator.clipboard.readText()") == "docker service scale vote=6"
    page.get_by_role("button", name="Copy all 6 lines:").click()
    lines = [line.command for line in SnippetLine.objects.filter(snippet__talk__day=demo_day)]
    assert len(lines) == 6
    assert page.evaluate("navigator.clipboard.readText()") == "\n".join(lines)
