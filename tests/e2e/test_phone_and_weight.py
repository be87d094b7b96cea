"""The pages on a phone (390 px wide) and a desktop: nothing scrolls sideways but code, and the
day page's weight."""

from __future__ import annotations

import pytest
from django.utils import timezone

from runner.models import Run, RunnerStatus
from runner.visitors import VISITOR_COOKIE, cookie_value
from talks.models import SnippetLine
from tests.e2e.conftest import DAY_URL, Pages, settle
from tests.runner.swarm_fixtures import big_picture, give_sandbox, stored

pytestmark = pytest.mark.browser
WEIGHT_LIMIT = 100_000  # bytes of HTML, CSS and JavaScript, before compression; no images

SCROLLERS_OUTSIDE_CODE = """() => [...document.querySelectorAll("body *")]
    .filter((el) => el.scrollWidth > el.clientWidth + 1
        && ["auto", "scroll"].includes(getComputedStyle(el).overflowX)
        && !el.closest("pre, code, .table-scroll, .swarm-history"))
    .map((el) => el.outerHTML.slice(0, 100))"""
OVERFLOWING = """() => [...document.querySelectorAll("body *")]
    .filter((el) => el.getBoundingClientRect().right > innerWidth + 1
        && !el.closest("pre, .table-scroll, .visually-hidden")
        && getComputedStyle(el).position !== "absolute")
    .map((el) => el.outerHTML.slice(0, 100))"""
PAGE_WIDTH = "() => ({scroll: document.documentElement.scrollWidth, inner: innerWidth})"
VISITOR = "f" * 24


@pytest.fixture
def busy_day(demo_day):
    """The demo day with Run offered and a long recorded output."""
    RunnerStatus.objects.create(available=True, explanation="Private sandboxes are available.")
    line = SnippetLine.objects.get(snippet__talk__day=demo_day, command="docker service ls")
    now = timezone.now()
    Run.objects.create(
        snippet_line=line,
        line=line.command,
        visitor="abc123",
        status=Run.Status.SUCCEEDED,
        exit_code=0,
        stdout="ID  NAME  MODE  REPLICAS  IMAGE  PORTS\n" + "a-very-long-output-line-" * 20,
        started_at=now,
        finished_at=now,
    )
    return demo_day


def test_it_fits_a_phone_screen_except_inside_code(pages, busy_day):
    phone = pages.new(width=390, height=844)
    phone.goto(DAY_URL)
    settle(phone)
    width = phone.evaluate(
        "() => ({scroll: document.scrollingElement.scrollWidth, inner: innerWidth})"
    )
    assert width["scroll"] <= width["inner"], (width, phone.evaluate(OVERFLOWING))
    # Long commands and outputs scroll inside their own boxes.
    long_line = phone.locator("pre.highlight", has_text="--update-parallelism 2")
    assert long_line.evaluate("el => el.scrollWidth > el.clientWidth")
    assert phone.locator(".run-stdout").evaluate("el => el.scrollWidth > el.clientWidth")
    assert not phone.evaluate(SCROLLERS_OUTSIDE_CODE)


@pytest.fixture
def swarm_run(busy_day) -> Run:
    """A visitor's sandbox with a picture of three nodes and 30 tasks, and a run of the day's
    longest command there, with long output, messages, and the swarm before and after."""
    box = give_sandbox(VISITOR, picture=big_picture(nodes=3, tasks=30))
    lines = SnippetLine.objects.filter(snippet__talk__day=busy_day)
    line = max(lines, key=lambda line: len(line.command))
    now = timezone.now()
    return Run.objects.create(
        snippet_line=line,
        sandbox=box,
        line=line.command,
        argv=line.command.split(),
        visitor=VISITOR,
        status=Run.Status.FAILED,
        exit_code=1,
        stdout="ID  NAME  MODE  REPLICAS  IMAGE\n" + "another-long-output-line-" * 20,
        stderr="Error response from daemon: " + "a-long-engine-message-" * 20,
        snapshot_before=stored(big_picture(nodes=3, tasks=15)),
        snapshot=stored(big_picture(nodes=3, tasks=30)),
        started_at=now,
        finished_at=now,
    )


def as_visitor(pages: Pages, page, key: str) -> None:
    """Give the page's browser context the visitor's cookie, as if it had pressed Run."""
    cookie = {"name": VISITOR_COOKIE, "value": cookie_value(key)}
    page.context.add_cookies([cookie | {"url": pages.base_url}])


@pytest.mark.parametrize("width", [390, 1280])
def test_it_never_scrolls_the_page_sideways(pages, swarm_run, width):
    line = swarm_run.snippet_line
    urls = [
        "/search/",  # the filters' day select has a long option
        "/search/?q=--update-parallelism",  # a result with a long command
        f"/snippets/{line.snippet_id}/history/",
        f"/run/confirm/?action=/run/line/{line.pk}/",
        f"/runs/{swarm_run.pk}/",  # the swarm before and after, with their tables
        "/swarm/",
        DAY_URL,
    ]
    page = pages.new(width=width, height=844)
    as_visitor(pages, page, VISITOR)
    too_wide = {}
    for url in urls:
        page.goto(url)
        settle(page)
        page.evaluate("() => document.querySelectorAll('details').forEach((d) => (d.open = true))")
        if (found := page.evaluate(PAGE_WIDTH))["scroll"] > found["inner"]:
            too_wide[url] = found | {"overflowing": page.evaluate(OVERFLOWING)[:5]}
        elif scrollers := page.evaluate(SCROLLERS_OUTSIDE_CODE):  # prose scrolls in no box
            too_wide[url] = {"scrolling": scrollers[:5]}
        elif url == "/swarm/":  # the sandbox's picture is drawn, its table read out
            assert page.locator(".swarm-nodes .node").count() == 3
            assert page.get_by_role("table", name="Swarm: 3 nodes and 30 tasks").count() == 1
    assert not too_wide, "\n".join(f"{url}: {found}" for url, found in too_wide.items())


SIDEWAYS_SCROLLERS = """() => [...document.querySelectorAll("pre")]
    .filter((el) => el.scrollWidth > el.clientWidth)
    .map((el) => ({
        tabindex: el.getAttribute("tabindex"),
        role: el.getAttribute("role"),
        label: el.getAttribute("aria-label"),
        html: el.outerHTML.slice(0, 80),
    }))"""


def test_it_lets_the_keyboard_scroll_every_code_block_that_scrolls(pages, busy_day):
    """At 390 px long commands and outputs scroll sideways: each is named and focusable (axe's
    scrollable-region-focusable); each is a group, not a region: not a landmark per line."""
    phone = pages.new(width=390, height=844)
    phone.goto(DAY_URL)
    settle(phone)
    scrollers = phone.evaluate(SIDEWAYS_SCROLLERS)
    assert len(scrollers) >= 2  # the long command and the recorded output, at least
    for found in scrollers:
        assert found["tabindex"] == "0", found
        label = found["label"] or ""
        assert found["role"] == "group", found
        if not label.startswith("Command: "):
            assert label.startswith(("Output of ", "Messages from the engine for ")), found
    # The longest command (the last update); the browser may scroll it a moment after the key.
    command = phone.get_by_role("group", name="Command: docker service update").last
    command.focus()
    phone.keyboard.press("ArrowRight")
    phone.wait_for_function("el => el.scrollLeft > 0", arg=command.element_handle())


# Row ids start at 1, as in a fresh `make run`: ids are in the page (anchors, Run URLs), and
# whichever tests ran first in the same database would otherwise make it heavier.
@pytest.mark.django_db(transaction=True, reset_sequences=True)
@pytest.mark.parametrize("running", [True, False], ids=["running-on", "running-off"])
def test_it_keeps_the_demo_day_under_100_kb(pages, demo_day, running):
    # As `make run` serves it at first, with Run buttons, and with running switched off.
    # Recorded outputs, like notes, are content: they come on top.
    if running:
        RunnerStatus.objects.create(available=True, explanation="Private sandboxes are available.")
    page = pages.new()
    responses = []
    page.on("response", lambda response: responses.append(response))
    page.goto(DAY_URL)
    page.wait_for_load_state("networkidle")
    sizes = {
        response.url: len(response.body())
        for response in responses
        if response.request.resource_type in {"document", "stylesheet", "script"}
        and response.status == 200
    }
    assert any(url.endswith(DAY_URL) for url in sizes)
    assert any(url.endswith(".css") for url in sizes) and any(url.endswith(".js") for url in sizes)
    total = sum(sizes.values())
    print(f"day page weight ({'running' if running else 'off'}): {total:,} bytes")
    assert total < WEIGHT_LIMIT, f"{total:,} bytes: {sizes}"
