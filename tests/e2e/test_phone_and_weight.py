"""The day page on a phone (390 px wide: nothing scrolls sideways but code), and its weight."""

from __future__ import annotations

import pytest
from django.utils import timezone

from runner.models import Run, RunnerStatus
from talks.models import SnippetLine
from tests.e2e.conftest import DAY_URL, settle

pytestmark = pytest.mark.browser
WEIGHT_LIMIT = 100_000  # bytes of HTML, CSS and JavaScript, before compression; no images

SCROLLERS_OUTSIDE_CODE = """() => [...document.querySelectorAll("body *")]
    .filter((el) => el.scrollWidth > el.clientWidth + 1
        && ["auto", "scroll"].includes(getComputedStyle(el).overflowX)
        && !el.closest("pre, code, .table-scroll"))
    .map((el) => el.outerHTML.slice(0, 100))"""
OVERFLOWING = """() => [...document.querySelectorAll("body *")]
    .filter((el) => el.getBoundingClientRect().right > innerWidth + 1
        && !el.closest("pre, .table-scroll") && getComputedStyle(el).position !== "absolute")
    .map((el) => el.outerHTML.slice(0, 100))"""


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


def test_it_keeps_the_demo_day_under_100_kb(pages, demo_day):
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
    assert total < WEIGHT_LIMIT, f"{total:,} bytes: {sizes}"
