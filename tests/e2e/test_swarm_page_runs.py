"""The full swarm page in a real browser: its table of the sandbox's runs follows the picture
(swapped out of band with it), to a new sandbox too, and keeps the keyboard's place.

No engine: sandboxes and runs are rows the test changes as the worker would, while the page
polls the live server every second.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from runner import tasks
from runner.models import Run, RunnerStatus
from runner.visitors import VISITOR_COOKIE, cookie_value
from tests.runner.swarm_fixtures import big_picture, give_sandbox, replace_sandbox

pytestmark = pytest.mark.browser
VISITOR = "f" * 24
OLD_LINES = [f"docker service scale vote={n}" for n in range(1, 4)]


@pytest.fixture
def swarm_page(pages, page):
    """/swarm/ as the visitor sees it, with a 2-node sandbox in which three lines ran and one
    runs now."""
    RunnerStatus.objects.create(available=True, explanation="Private sandboxes are available.")
    box = give_sandbox(VISITOR, nodes=2, picture=big_picture(nodes=2, tasks=10))
    done = {"status": Run.Status.SUCCEEDED, "finished_at": timezone.now()}
    for line in OLD_LINES:
        Run.objects.create(visitor=VISITOR, sandbox=box, line=line, **done)
    Run.objects.create(
        visitor=VISITOR, sandbox=box, line="docker service ls", status=Run.Status.RUNNING
    )
    cookie = {"name": VISITOR_COOKIE, "value": cookie_value(VISITOR), "url": pages.base_url}
    page.context.add_cookies([cookie])
    page.goto("/swarm/")
    return page


def test_the_table_follows_the_picture_and_keeps_the_focus(swarm_page):
    page = swarm_page
    table = page.locator("#swarm-runs")
    running = Run.objects.get(line="docker service ls")
    expect(table.locator(f"#swarm-runs-{running.pk}").locator("xpath=../..")).to_contain_text(
        "Running"
    )
    first = Run.objects.get(line=OLD_LINES[0])
    link = page.locator(f"#swarm-runs-{first.pk}")
    link.focus()

    Run.objects.filter(pk=running.pk).update(
        status=Run.Status.SUCCEEDED, finished_at=timezone.now()
    )
    expect(page.locator("section.swarm")).to_have_attribute("data-live", "false")
    row = table.locator(f"#swarm-runs-{running.pk}").locator("xpath=../..")
    expect(row).to_contain_text("Succeeded")
    expect(link).to_be_focused()  # the table was swapped, the focus given back
    expect(page.locator("#swarm-runs")).to_have_count(1)
    expect(page.locator("[hx-swap-oob]")).to_have_count(0)


def test_new_sandbox_brings_its_own_table(swarm_page, settings, monkeypatch):
    settings.RUNNER_MODE = "sandbox"
    # The worker's part is played below: the live server's commits would run it at once.
    monkeypatch.setattr(tasks, "sandbox_action", SimpleNamespace(enqueue=lambda **action: None))
    page = swarm_page
    table = page.locator("#swarm-runs")
    Run.objects.filter(status=Run.Status.RUNNING).update(
        status=Run.Status.SUCCEEDED, finished_at=timezone.now()
    )
    expect(page.locator("section.swarm")).to_have_attribute("data-live", "false")
    expect(table.locator("tbody tr")).to_have_count(4)

    page.locator("#swarm-0-nodes").select_option("3")
    page.once("dialog", lambda dialog: dialog.accept())  # "Replace your sandbox ...?"
    page.get_by_role("button", name="New sandbox").click()
    expect(table).to_contain_text("(start a sandbox with 3 nodes)")

    # The worker replaces the sandbox and records the action in the new one.
    replace_sandbox(VISITOR, "(start a sandbox with 3 nodes)")
    expect(page.locator("section.swarm")).to_contain_text("Sandbox sbx-new · 3 nodes")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("(start a sandbox with 3 nodes)")
    for line in OLD_LINES:
        expect(table).not_to_contain_text(line)
