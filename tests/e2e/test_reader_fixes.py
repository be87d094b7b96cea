"""What a reader meets around the header search, the Copy buttons and on paper: a search popover
that stays closed once dismissed, Copy buttons that say what they did and only show when they
work, and printed notes with whole commands and no controls."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from runner.models import Run, RunnerStatus
from talks.models import SnippetLine
from tests.e2e.conftest import DAY_URL, TIMEOUT_MS

pytestmark = pytest.mark.browser

HEADER_SEARCH = re.compile(r"/search/\?q=")
COUNT_ANSWERS = """() => {
    window.searchAnswers = 0;
    document.addEventListener("htmx:afterRequest", () => { window.searchAnswers += 1; });
}"""


class HeldSearches:
    """Holds the header box's requests to /search/ until released: a slow server."""

    def __init__(self, page) -> None:
        self.page = page
        self.held: list = []
        self.holding = True
        page.route(HEADER_SEARCH, self._handle)
        page.evaluate(COUNT_ANSWERS)

    def _handle(self, route) -> None:
        if self.holding:
            self.held.append(route)
        else:
            route.continue_()

    def wait_for_one(self) -> None:
        for _ in range(100):
            if self.held:
                return
            self.page.wait_for_timeout(50)
        raise AssertionError("the header box sent no search")

    def release(self) -> None:
        """Let every held request through, then wait until htmx has handled their answers."""
        self.holding = False
        released, self.held = self.held, []
        answered = self.page.evaluate("() => window.searchAnswers") + len(released)
        for route in released:
            route.continue_()
        self.page.wait_for_function(f"() => window.searchAnswers >= {answered}")
        self.page.wait_for_timeout(200)  # htmx's swap and settle, had it swapped


def open_day_with_slow_search(page) -> HeldSearches:
    page.goto(DAY_URL)
    return HeldSearches(page)


def test_it_keeps_the_popover_closed_after_a_click_elsewhere_while_typing(page, demo_day):
    slow = open_day_with_slow_search(page)
    popover = page.locator("#search-popover")
    box = page.locator("#site-search")
    box.press_sequentially("tls", delay=20)
    page.locator("h1").click()  # within the 300 ms debounce
    page.wait_for_timeout(600)
    slow.release()
    expect(popover).to_be_hidden()
    expect(page.locator("#search-popover-status")).to_have_text("")

    # Typing again opens it as ever.
    box.press("End")
    box.press_sequentially(" swarm", delay=20)
    expect(popover).to_be_visible()
    expect(page.locator("#search-popover-status")).to_contain_text("tls swarm")


def test_it_drops_an_answer_that_comes_after_the_focus_left_the_box(page, demo_day):
    slow = open_day_with_slow_search(page)
    popover = page.locator("#search-popover")
    page.locator("#site-search").press_sequentially("tls", delay=20)
    slow.wait_for_one()  # the request is on its way
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("() => !document.activeElement.closest('.search-box-wrap')")
    slow.release()
    expect(popover).to_be_hidden()
    assert popover.evaluate("el => el.childElementCount") == 0


def test_esc_before_the_results_keeps_the_words_and_the_popover_closed(page, demo_day):
    slow = open_day_with_slow_search(page)
    popover = page.locator("#search-popover")
    box = page.locator("#site-search")
    box.press_sequentially("dock", delay=20)
    slow.wait_for_one()
    page.keyboard.press("Escape")
    expect(box).to_have_value("dock")
    expect(box).to_be_focused()
    slow.release()
    expect(popover).to_be_hidden()
    expect(box).to_have_value("dock")

    # With results showing, more words and an Esc at once: the answer to them stays closed too.
    box.press_sequentially("er", delay=20)
    expect(popover.locator(".search-hits a").first).to_be_visible()
    slow.holding = True
    box.press_sequentially(" swarm", delay=20)
    slow.wait_for_one()
    page.keyboard.press("Escape")
    expect(popover).to_be_hidden()
    slow.release()
    expect(popover).to_be_hidden()
    expect(box).to_have_value("docker swarm")


def test_following_a_result_on_the_same_page_closes_the_popover(page, demo_day):
    page.goto(DAY_URL)
    popover = page.locator("#search-popover")
    page.locator("#site-search").press_sequentially("docker cloud", delay=20)
    here = popover.locator(f"a[href^='{DAY_URL}#']").first
    expect(here).to_be_visible()
    anchor = here.get_attribute("href").split("#")[1]
    here.focus()
    page.keyboard.press("Enter")  # as a click would
    expect(page).to_have_url(re.compile(f"#{anchor}$"))
    expect(popover).to_be_hidden()
    note = page.locator(f"#{anchor}")
    expect(note).to_be_in_viewport()
    expect(note).to_be_focused()  # the reader goes on from the note, not from the header

    # Again with the mouse, from the note's own address.
    page.locator("#site-search").select_text()
    page.keyboard.type("docker cloud", delay=20)
    expect(here).to_be_visible()
    here.click()
    expect(popover).to_be_hidden()
    expect(note).to_be_focused()


COPY_LINE = "Copy: docker service scale vote=6"


def test_copy_is_announced_in_a_polite_live_region(pages, demo_day):
    page = pages.new()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(DAY_URL)
    # The region is in the page before it speaks; the button keeps its name.
    said = page.locator("[role=status]:not(#search-popover-status)")
    expect(said).to_have_count(1)
    expect(said).to_have_text("")
    page.get_by_role("button", name=COPY_LINE).click()
    expect(said).to_have_text("Copied")
    expect(page.get_by_role("status").filter(has_text="Copied")).to_have_count(1)
    expect(page.get_by_role("button", name=COPY_LINE)).to_have_text("Copied")
    # Both go back after a moment, so the next copy is said again.
    expect(said).to_have_text("", timeout=TIMEOUT_MS)
    expect(page.get_by_role("button", name=COPY_LINE)).to_have_text("Copy")
    page.get_by_role("button", name="Copy all 6 lines:").click()
    expect(said).to_have_text("Copied")
    assert not pages.errors, pages.errors


def test_a_refused_copy_says_how_to_copy(pages, demo_day):
    page = pages.new()
    page.add_init_script(
        """navigator.clipboard.writeText = () => Promise.reject(new Error("refused"));
        document.execCommand = () => false;"""
    )
    page.goto(DAY_URL)
    page.get_by_role("button", name=COPY_LINE).click()
    expect(page.get_by_role("status").filter(has_text="Press Ctrl+C")).to_have_count(1)
    # The line is selected, and Ctrl+C copies it without the "$ " prompt (user-select: none).
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.keyboard.press("Control+C")
    assert page.evaluate("() => navigator.clipboard.readText()") == "docker service scale vote=6"
    # A block's lines have buttons and outputs between them: no selection would copy them alone.
    page.get_by_role("button", name="Copy all 6 lines:").first.click()
    expect(page.get_by_role("status").filter(has_text="Copy failed")).to_have_count(1)
    assert not pages.errors, pages.errors


def test_copy_buttons_show_only_with_javascript(pages, demo_day):
    context = pages.browser.new_context(base_url=pages.base_url, java_script_enabled=False)
    pages.contexts.append(context)
    plain = context.new_page()
    pages.opened.append(plain)
    plain.goto(DAY_URL)
    expect(plain.locator("pre.highlight").first).to_be_visible()
    assert plain.locator("button[data-copy]").count() == 7  # in the page, not shown
    expect(plain.get_by_role("button", name=re.compile("^Copy"))).to_have_count(0)

    page = pages.new()
    page.goto(DAY_URL)
    expect(page.get_by_role("button", name=re.compile("^Copy"))).to_have_count(7)
    for button in page.locator("button[data-copy]").all():
        expect(button).to_be_visible()


CLIPPED = """() => [...document.querySelectorAll("main pre")]
    .filter((pre) => pre.scrollWidth > pre.clientWidth + 1
        || pre.scrollHeight > pre.clientHeight + 1)
    .map((pre) => pre.textContent.slice(0, 60))"""
SHOWN = """(selector) => [...document.querySelectorAll(selector)]
    .filter((el) => el.getClientRects().length > 0)
    .map((el) => el.outerHTML.slice(0, 80))"""


@pytest.fixture
def recorded_output(demo_day) -> Run:
    """Run offered, and a recorded run of the day's longest command with a long output line."""
    RunnerStatus.objects.create(available=True, explanation="Private sandboxes are available.")
    line = max(
        SnippetLine.objects.filter(snippet__talk__day=demo_day), key=lambda ln: len(ln.command)
    )
    now = timezone.now()
    return Run.objects.create(
        snippet_line=line,
        line=line.command,
        visitor="abc123",
        status=Run.Status.SUCCEEDED,
        exit_code=0,
        stdout="ID  NAME  MODE  REPLICAS  IMAGE\n" + "a-long-output-line " * 40,
        started_at=now,
        finished_at=now,
    )


def test_it_prints_whole_commands_and_outputs_without_the_controls(pages, recorded_output):
    page = pages.new(width=718)  # about A4's printable width
    page.goto(DAY_URL)
    page.emulate_media(media="print")
    assert not page.evaluate(CLIPPED)
    long_line = page.locator("pre.highlight", has_text="--update-parallelism 2")
    expect(long_line).to_contain_text("--update-delay 10s")
    assert long_line.evaluate("el => el.getClientRects()[0].height > 30")  # it wrapped

    # Outputs print dark on white, as printers leave out backgrounds.
    output = page.locator(".run-stdout")
    expect(output).to_be_visible()
    assert output.evaluate("el => getComputedStyle(el).color") == "rgb(29, 35, 48)"

    for selector in (
        ".search-box-wrap",
        "#site-search",
        "button",
        "a.button",
        "a.anchor",
        ".skip-link",
        "form[hx-post]",
    ):
        assert not page.evaluate(SHOWN, selector), selector
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator(".note").first).to_be_visible()

    # On screen nothing changed.
    page.emulate_media(media="screen")
    expect(page.locator("button[data-copy]").first).to_be_visible()
    expect(page.locator("a.anchor").first).to_be_visible()
    assert long_line.evaluate("el => el.scrollWidth > el.clientWidth")
    assert not pages.errors, pages.errors


def test_it_keeps_the_search_notices_bullets_inside_their_box(pages, demo_day):
    for width in (1280, 375):
        page = pages.new(width=width)
        page.goto("/search/?q=docker&tag=999999&day=xyz")
        notices = page.locator(".search-notices")
        expect(notices.locator("li").first).to_be_visible()
        room = notices.evaluate(
            """(ul) => {
                const li = ul.querySelector("li");
                const inner = ul.getBoundingClientRect().left + ul.clientLeft;
                const size = parseFloat(getComputedStyle(li).fontSize);
                return (li.getBoundingClientRect().left - inner) / size;
            }"""
        )
        # An outside bullet is drawn about 1.2em left of its item: it needs that much room.
        assert room >= 1.4, (width, room)
    assert not pages.errors, pages.errors
