"""A visitor runs the six seed commands one by one from the keyboard, sees each result appear in
place without the page reloading, then resets their sandbox. Real engines: as root, with
Docker's daemons (see tests/integration/test_runner_journey.py for the same runs without a
browser).

The live server runs django-tasks' immediate backend (notes_site/test_settings.py): pressing Run
records the run and executes it in the server's request thread when the request commits, and the
page's run cell then polls until it shows the result, as it would with a worker.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from runner.models import RunnerStatus, Sandbox
from talks.models import SnippetLine
from tests.e2e.conftest import DAY_URL

pytestmark = [pytest.mark.browser, pytest.mark.engine]
RUN_TIMEOUT_MS = 90_000


@pytest.fixture(autouse=True)
def quick_convergence(settings, sandboxes):  # after `sandboxes`, which sets its own
    # A run waits for the swarm to converge, at most this long, then reports its progress. The
    # two rolling updates take 30 and 60 s to converge here; their progress shows sooner, and
    # tests/integration/test_runner_journey.py waits for convergence itself.
    settings.RUNNER_CONVERGE_SECONDS = 15


EXPECTED = [  # what each seed line's result shows, in order
    "Converged. vote: 1/1 tasks running",
    "instavote/vote:latest",
    "vote.1",
    "vote scaled to 6",
    "on instavote/vote:movies",
    "on instavote/vote:indent",
]


def test_it_runs_the_seed_commands_inline_and_resets_the_sandbox(page, demo_day, sandboxes):
    RunnerStatus.objects.create(available=True, explanation="Private sandboxes are available.")
    lines = list(SnippetLine.objects.filter(snippet__talk__day=demo_day).order_by("position"))
    assert len(lines) == 6

    page.goto(DAY_URL)
    page.evaluate("window.__loadedOnce = 'the same page'")
    for line, expected in zip(lines, EXPECTED, strict=True):
        output = page.locator(f"#line-{line.pk}-output")
        expect(output).to_have_attribute("aria-live", "polite")  # announced when it changes
        run = page.get_by_role("button", name=f"Run: {line.command}", exact=True)
        run.focus()
        page.keyboard.press("Enter")
        cell = output.locator(".run-cell")
        expect(cell).to_have_attribute("data-status", "succeeded", timeout=RUN_TIMEOUT_MS)
        expect(cell).to_contain_text(expected)
        expect(run).to_be_focused()  # disabled during the request, then given the focus back
        assert page.evaluate("window.__loadedOnce") == "the same page", "the page reloaded"
        assert page.url.endswith(DAY_URL)

    renamed = page.locator(f"#line-{lines[2].pk}-output")
    expect(renamed).to_contain_text("docker service ps vote")  # the 1.12 name, explained

    snippet = lines[0].snippet
    reset = page.locator(f"#{snippet.anchor}").get_by_role("button", name="Reset my sandbox")
    posts: list[str] = []
    page.on("request", lambda request: request.method == "POST" and posts.append(request.url))
    page.once("dialog", lambda dialog: dialog.dismiss())  # Cancel: nothing is sent, or lost
    reset.click()
    page.wait_for_timeout(1500)
    assert posts == [], posts
    assert Sandbox.objects.filter(status=Sandbox.Status.READY).count() == 1

    page.once("dialog", lambda dialog: dialog.accept())  # "Remove your sandbox ...?"
    reset.click()
    notice = page.locator(f"#snippet-{snippet.pk}-notice")
    expect(notice).to_have_attribute("aria-live", "polite")
    expect(notice).to_contain_text("Your sandbox is being removed", timeout=RUN_TIMEOUT_MS)
    assert page.evaluate("window.__loadedOnce") == "the same page"
    assert not Sandbox.objects.filter(
        status__in=[Sandbox.Status.STARTING, Sandbox.Status.READY]
    ).exists()

    # The next run starts a fresh sandbox, and the message about the reset goes. (The line's
    # cell already shows its earlier success: wait for this run's answer itself.)
    with page.expect_response(
        lambda response: response.url.endswith(f"/run/line/{lines[1].pk}/"),
        timeout=RUN_TIMEOUT_MS,
    ) as answer:
        page.get_by_role("button", name=f"Run: {lines[1].command}", exact=True).click()
    expect(notice).not_to_contain_text("Your sandbox is being removed")
    assert answer.value.ok
    again = page.locator(f"#line-{lines[1].pk}-output .run-cell")
    expect(again).to_have_attribute("data-status", "succeeded", timeout=RUN_TIMEOUT_MS)
    fresh = Sandbox.objects.get(status=Sandbox.Status.READY)
    assert fresh.run_set.get().snippet_line_id == lines[1].pk

    # The results stay on the page for the next reader, as last recorded outputs.
    page.reload()
    expect(page.locator(f"#line-{lines[3].pk}-output")).to_contain_text("vote scaled to 6")
    expect(page.locator(f"#line-{lines[3].pk}-output .run-cell")).to_have_attribute(
        "data-status", re.compile("succeeded")
    )
