"""Accessibility: axe-core finds no serious or critical violation on the reader's pages, text
contrast meets WCAG AA, and run results are announced (live regions).

axe-core comes from the npm registry (tests/e2e/axe/package.json, installed by `make axe`) and is
injected into each page; those pages are opened with the content security policy bypassed,
because the policy rightly refuses the injected script.
"""

from __future__ import annotations

import itertools

import pytest
from django.utils import timezone

from runner.models import Run, RunnerStatus
from talks.models import SnippetLine
from tests.e2e.conftest import DAY_URL, check_axe, describe, settle

pytestmark = pytest.mark.browser
LONG_OUTPUT = "ID             NAME      MODE         REPLICAS   IMAGE\n" + "x" * 400


@pytest.fixture
def recorded_runs(demo_day) -> list[Run]:
    """The runner up, and a few recorded results of every kind on the demo day."""
    RunnerStatus.objects.create(available=True, explanation="Private sandboxes are available.")
    lines = list(SnippetLine.objects.filter(snippet__talk__day=demo_day).order_by("position"))
    now = timezone.now()
    finished = {"started_at": now, "finished_at": now, "visitor": "abc123def456"}
    return [
        Run.objects.create(
            snippet_line=lines[1],
            line=lines[1].command,
            argv=["docker", "service", "ls"],
            status=Run.Status.SUCCEEDED,
            exit_code=0,
            stdout=LONG_OUTPUT,
            engine_version="28.0.1",
            **finished,
        ),
        Run.objects.create(
            snippet_line=lines[2],
            line=lines[2].command,
            status=Run.Status.REFUSED,
            reason="`docker service tasks` is Docker 1.12's name for `docker service ps`.",
            **finished,
        ),
        Run.objects.create(
            snippet_line=lines[3],
            line=lines[3].command,
            argv=["docker", "service", "scale", "vote=6"],
            status=Run.Status.FAILED,
            exit_code=1,
            stderr="Error: No such service: vote",
            reason="The engine refused or failed the command; its own message is below.",
            **finished,
        ),
    ]


def test_it_has_no_serious_accessibility_violations(pages, demo_day, recorded_runs):
    snippet = recorded_runs[0].snippet_line.snippet
    urls = [
        "/",
        "/c/dockercon-2016/",
        DAY_URL,
        f"{DAY_URL}#h1",  # a highlighted (:target) note
        f"{DAY_URL}the-golden-ticket/",  # with the talks around it
        "/follow-ups/",
        "/search/?q=swarm",
        "/search/?q=nothing-matches-this",
        f"/snippets/{snippet.pk}/history/",
        f"/runs/{recorded_runs[0].pk}/",
        "/tags/",
        "/tags/orchestration/",
        "/c/dockercon-2016/day-9/",  # the 404 page, with its one search box
    ]
    page = pages.new(bypass_csp=True)
    found = {}
    for url in urls:
        page.goto(url)
        settle(page)
        if violations := check_axe(page):
            found[url] = violations
    assert not found, "axe-core found serious or critical violations:\n" + describe(found)


def test_it_meets_wcag_aa_contrast_on_the_day_page(pages, demo_day, recorded_runs):
    page = pages.new(bypass_csp=True)
    page.goto(DAY_URL)
    settle(page)
    check_axe(page)  # loads axe
    results = page.evaluate(
        "() => axe.run(document, {runOnly: {type: 'rule', values: ['color-contrast']}})"
    )
    assert results["passes"], "the contrast rule checked nothing"
    assert not results["violations"], describe(results["violations"])


def test_it_announces_run_results_in_live_regions(page, demo_day, recorded_runs):
    page.goto(DAY_URL)
    outputs = page.locator(".run-output")
    assert outputs.count() == 6
    for index in range(6):
        assert outputs.nth(index).get_attribute("aria-live") == "polite"
    notices = page.locator(".snippet-notice")
    assert notices.first.get_attribute("aria-live") == "polite"
    # The recorded outputs are there for reading, and long output scrolls inside its box.
    stdout = page.locator(f"#line-{recorded_runs[0].snippet_line_id}-output .run-stdout")
    assert stdout.get_attribute("tabindex") == "0"  # reachable, to scroll from the keyboard
    assert stdout.evaluate("el => el.scrollWidth > el.clientWidth")


# Contrast of text as drawn: its colour, faded by the opacity of it and its ancestors, over the
# nearest background. axe's color-contrast rule skips text of punctuation only, such as "#".
DRAWN_CONTRAST = """(selector) => [...document.querySelectorAll(selector)].map((el) => {
    const rgb = (value) => value.match(/[\\d.]+/g).map(Number);
    let opacity = 1, background = null;
    for (let node = el; node; node = node.parentElement) {
        const style = getComputedStyle(node);
        opacity *= Number(style.opacity);
        const [r, g, b, a = 1] = rgb(style.backgroundColor);
        if (!background && a === 1) background = [r, g, b];
    }
    background = background || [255, 255, 255];
    const fg = rgb(getComputedStyle(el).color).slice(0, 3)
        .map((c, i) => c * opacity + background[i] * (1 - opacity));
    const lum = ([r, g, b]) => [r, g, b].map((c) => {
        c /= 255;
        return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    }).reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
    const [hi, lo] = [lum(fg), lum(background)].sort((x, y) => y - x);
    return {text: el.textContent.trim().slice(0, 40), ratio: (hi + 0.05) / (lo + 0.05)};
})"""


def test_it_draws_the_note_links_and_muted_text_at_4_5_to_1(page, demo_day):
    page.goto(DAY_URL)
    for selector in (".anchor", ".meta", ".muted", ".prompt"):
        drawn = page.evaluate(DRAWN_CONTRAST, selector)
        assert drawn, f"nothing matched {selector}"
        low = [found for found in drawn if found["ratio"] < 4.5]
        assert not low, f"{selector}: {low[:5]}"


def test_it_gives_the_talk_page_an_h1_and_no_skipped_heading_level(page, demo_day):
    page.goto(f"{DAY_URL}the-golden-ticket/")
    levels = page.evaluate(
        "() => [...document.querySelectorAll('main h1, main h2, main h3, main h4, main h5, "
        "main h6')].map((h) => Number(h.tagName[1]))"
    )
    assert levels[0] == 1 and levels.count(1) == 1, levels
    assert all(after <= before + 1 for before, after in itertools.pairwise(levels))
