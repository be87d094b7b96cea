"""The runner's messages in the browser: a refused Run all is shown in its block, and the
message pages (without JavaScript) have the heading axe asks for. The views' answers are
tested in tests/runner/test_refusals.py and tests/runner/test_messages.py."""

from __future__ import annotations

import pytest

from runner.models import Run, RunnerStatus
from talks.models import SnippetLine
from tests.e2e.conftest import DAY_URL, check_axe, describe

pytestmark = pytest.mark.browser


def test_a_refused_run_all_shows_its_message_in_the_browser(pages, demo_day, settings):
    from playwright.sync_api import expect

    settings.RUNNER_RATE_PER_MINUTE = 0  # no run at all (a block alone may exceed a rate)
    RunnerStatus.objects.create(available=True, explanation="Private sandboxes are available.")
    snippet = SnippetLine.objects.get(command="docker service ls").snippet
    page = pages.new()
    page.goto(DAY_URL)
    block = page.locator(f"#{snippet.anchor}")
    block.get_by_role("button", name="Run all").click()
    alert = page.locator(f"#snippet-{snippet.pk}-notice [role=alert]")
    expect(alert).to_contain_text("Too many runs: at most 0 a minute per visitor.")
    assert page.url.endswith(DAY_URL)
    assert not Run.objects.exists()


def test_the_message_pages_have_a_heading_for_axe(pages, demo_day, settings):
    settings.RUNNER_RATE_PER_MINUTE = 0
    RunnerStatus.objects.create(available=True, explanation="Private sandboxes are available.")
    line = SnippetLine.objects.get(command="docker service ls")
    page = pages.new(bypass_csp=True)
    found = {}

    def check(name: str) -> None:
        serious = check_axe(page)  # loads axe; page-has-heading-one is only "moderate"
        results = page.evaluate(
            "() => axe.run(document, {runOnly: {type: 'rule', values: ['page-has-heading-one']}})"
        )
        if problems := serious + results["violations"]:
            found[name] = problems

    page.goto("/run/confirm/?action=/nope/")
    check("not found")
    page.goto("/run/confirm/?action=/sandbox/reset/")
    page.get_by_role("button", name="Reset my sandbox").click()
    page.get_by_role("heading", name="Your sandbox").wait_for()
    check("after a reset")
    page.goto(f"/run/confirm/?action=/run/line/{line.pk}/")
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_role("heading", name="Run refused").wait_for()
    check("a refused run")
    assert not found, describe(found)
