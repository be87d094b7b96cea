"""Polled parts of the day page in a real browser: a run cell in flight is read out (swapped in
its live region) only when what it shows changes, and a swap keeps the keyboard's place (the
focus) and the open <details> of the swarm picture.

No engine: the run and the sandbox are rows the test changes as the worker would, while the page
polls the live server every second.
"""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from runner.models import Run, RunnerStatus, Sandbox
from runner.visitors import VISITOR_COOKIE, cookie_value
from talks.models import SnippetLine
from tests.e2e.conftest import DAY_URL, settle
from tests.runner.swarm_fixtures import big_picture, give_sandbox, stored

pytestmark = pytest.mark.browser
VISITOR = "e" * 24
POLLS = 3_500  # milliseconds: three polls at least

# Each insertion of text into a live region: what a screen reader reads out.
WATCH_LIVE_REGIONS = """() => {
    window.readOut = [];
    new MutationObserver((records) => records.forEach((record) => {
        const region = record.target.closest("[aria-live]");
        const added = [...record.addedNodes].filter((node) => node.textContent.trim());
        if (region && added.length) window.readOut.push(region.id);
    })).observe(document.body, {childList: true, subtree: true});
}"""


@pytest.fixture
def queued(demo_day) -> Run:
    """The visitor's run of `docker service ls`, waiting for a worker, in a sandbox with a
    picture of three nodes, 30 tasks and 12 shut-down ones."""
    RunnerStatus.objects.create(available=True, explanation="Private sandboxes are available.")
    box = give_sandbox(VISITOR, picture=big_picture(nodes=3, tasks=30))
    line = SnippetLine.objects.get(snippet__talk__day=demo_day, command="docker service ls")
    return Run.objects.create(
        snippet_line=line,
        sandbox=box,
        line=line.command,
        argv=line.command.split(),
        visitor=VISITOR,
        status=Run.Status.QUEUED,
    )


def open_day(pages, page, run: Run):
    """The day page as the visitor sees it (their cookie, so their swarm), scrolled to the
    run's line: the block's swarm fragment then loads and brings back the visitor's cell in
    flight (the page itself, the same for every reader, shows finished runs only)."""
    cookie = {"name": VISITOR_COOKIE, "value": cookie_value(VISITOR), "url": pages.base_url}
    page.context.add_cookies([cookie])
    page.goto(DAY_URL)
    page.locator(f"#line-{run.snippet_line_id}-output").scroll_into_view_if_needed()
    expect(page.locator(f"#line-{run.snippet_line_id}-output .run-cell")).to_be_visible()
    settle(page)
    return page


def claim(run: Run, **fields) -> None:
    """What a worker writes as it takes the run and follows the swarm."""
    fields = {"status": Run.Status.RUNNING, "engine_version": "20.10.24"} | fields
    Run.objects.filter(pk=run.pk).update(started_at=timezone.now(), **fields)


def test_it_reads_a_polled_run_cell_out_only_when_it_changes(pages, page, queued):
    open_day(pages, page, queued)
    output = page.locator(f"#line-{queued.snippet_line_id}-output")
    expect(output.locator(".run-cell")).to_have_attribute("data-status", "queued")
    page.evaluate(WATCH_LIVE_REGIONS)
    page.wait_for_timeout(POLLS)
    assert page.evaluate("window.readOut") == [], "the unchanged cell was read out again"

    claim(queued, converged="vote: 1/6 tasks running.")
    expect(output).to_contain_text("vote: 1/6 tasks running.")
    page.wait_for_timeout(POLLS)
    assert page.evaluate("window.readOut") == [output.get_attribute("id")]

    Run.objects.filter(pk=queued.pk).update(
        status=Run.Status.SUCCEEDED, exit_code=0, finished_at=timezone.now()
    )
    expect(output.locator(".run-cell")).to_have_attribute("data-status", "succeeded")
    page.wait_for_timeout(POLLS)  # it polls no more
    assert page.evaluate("window.readOut") == [output.get_attribute("id")] * 2


def test_a_swap_keeps_the_focus_in_a_run_cell(pages, page, queued):
    claim(queued)
    open_day(pages, page, queued)
    output = page.locator(f"#line-{queued.snippet_line_id}-output")
    history = output.get_by_role("link", name=re.compile("^History"))
    history.focus()
    for shown in ("vote: 2/6 tasks running.", "vote: 4/6 tasks running."):
        Run.objects.filter(pk=queued.pk).update(converged=shown)
        expect(output).to_contain_text(shown)
        expect(history).to_be_focused()
    page.wait_for_timeout(POLLS)
    expect(history).to_be_focused()

    Run.objects.filter(pk=queued.pk).update(stdout="ID  NAME", status=Run.Status.SUCCEEDED)
    expect(output.locator(".run-cell")).to_have_attribute("data-status", "succeeded")
    expect(history).to_be_focused()  # the last swap, which ends the polling, keeps it too


def test_a_swap_keeps_the_focus_and_the_open_details_in_the_swarm_picture(pages, page, queued):
    claim(queued)
    open_day(pages, page, queued)
    swarm = page.locator("section.swarm")
    expect(swarm).to_have_attribute("data-live", "true")  # polled every second
    box = Sandbox.objects.get(visitor=VISITOR)

    def worker_stores(tasks: int) -> None:
        Sandbox.objects.filter(pk=box.pk).update(picture=stored(big_picture(nodes=3, tasks=tasks)))
        expect(swarm.locator(".swarm-nodes li.task")).to_have_count(tasks)

    full = swarm.get_by_role("link", name="Full page and history")
    full.focus()
    worker_stores(15)
    expect(full).to_be_focused()

    summary = swarm.locator("summary", has_text="Shut-down tasks (12)")
    summary.focus()
    page.keyboard.press("Enter")
    details = swarm.locator("details.swarm-history")
    expect(details).to_have_js_property("open", True)
    worker_stores(20)
    expect(details).to_have_js_property("open", True)
    expect(summary).to_be_focused()
    page.wait_for_timeout(POLLS)
    expect(details).to_have_js_property("open", True)
    expect(summary).to_be_focused()
