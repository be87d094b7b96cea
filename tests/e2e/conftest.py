"""Real-browser tests: Playwright drives Debian's Chromium against pytest-django's live server.

Every test here is marked ``browser`` (tests/conftest.py skips them where Chromium is missing,
and fails them in CI). The browser is Debian's /usr/bin/chromium (Playwright's own browser
download does not work here), headless, without background networking; each test gets a new
browser context (own cookies and storage), and each test module a new browser process with a
fresh temporary profile. When a test fails, a screenshot of every page it had open is saved in
test-artifacts/screenshots/, which CI keeps as artifacts.

The live server runs in a thread of this process on the test database (a file on SQLite, see
notes_site/test_settings.py), so tests use ``transactional_db``: what a test writes is committed
and the server sees it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.conftest import in_ci

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
TIMEOUT_MS = 15_000
DAY_URL = "/c/dockercon-2016/day-1/"


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """Chromium for one test module.

    Playwright's sync API keeps an asyncio loop marked as running in this thread from start to
    stop, and Django refuses ORM calls while one runs; the tests and their database fixtures
    call the ORM beside the loop, never inside it, so Django is told so for exactly as long as
    Playwright runs. Stopping Playwright after each module keeps the rest of the suite as strict
    as ever.
    """
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        # launch() gives the browser a fresh temporary profile (user data dir), removed on close.
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class Pages:
    """Opens pages in new browser contexts for a test, and remembers them for screenshots."""

    def __init__(self, browser, base_url: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.contexts: list = []
        self.opened: list = []
        self.errors: list[str] = []

    def new(self, *, width: int = 1280, height: int = 900, bypass_csp: bool = False):
        context = self.browser.new_context(
            base_url=self.base_url,
            viewport={"width": width, "height": height},
            bypass_csp=bypass_csp,
        )
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on("console", self._console)
        self.opened.append(page)
        return page

    def _console(self, message) -> None:
        # Every page names its icon (base.html), so Chromium asks for no /favicon.ico either.
        if message.type == "error":
            self.errors.append(f"console {message.type}: {message.text} ({message.location})")

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(browser, live_server, transactional_db) -> Iterator[Pages]:
    opened = Pages(browser, live_server.url)
    yield opened
    opened.close()


@pytest.fixture
def page(pages: Pages):
    """A desktop-sized page; JavaScript errors and CSP violations on it fail the test."""
    the_page = pages.new()
    yield the_page
    assert not pages.errors, pages.errors


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed and report.when in {"setup", "call"}:
        opened = item.funcargs.get("pages")
        for index, shown in enumerate(opened.opened if opened else []):
            if shown.is_closed():
                continue
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9_.-]+", "-", item.nodeid).strip("-")
            path = SCREENSHOTS / f"{name}-{index}.png"
            try:
                shown.screenshot(path=str(path), full_page=True)
            except Exception as exc:  # a crashed page must not hide the test's own failure
                report.sections.append(("screenshot", f"could not save {path}: {exc}"))
            else:
                report.sections.append(("screenshot", f"{shown.url} saved as {path}"))
    return report


def settle(page) -> None:
    """Scroll through the page so that parts loaded when revealed (the swarm picture) load, and
    wait until the network is quiet."""
    page.wait_for_load_state("networkidle")
    page.evaluate(
        """() => document.querySelectorAll("[hx-trigger*=revealed]").forEach(
            (el) => el.scrollIntoView())"""
    )
    with contextlib.suppress(PlaywrightTimeout):  # a part that stays lazy is no failure here
        page.wait_for_function(
            "() => !document.querySelector('[hx-trigger*=revealed], .htmx-request')",
            timeout=5_000,
        )
    page.evaluate("window.scrollTo(0, 0)")


def check_axe(page) -> list[dict]:
    """Run axe-core in the page; returns the serious and critical violations, short."""
    if not AXE.exists():
        message = f"axe-core is not installed at {AXE}: run `make axe` (npm ci in tests/e2e/axe)."
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    page.add_script_tag(path=str(AXE))
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "rule": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "nodes": [node["target"] for node in violation["nodes"]][:5],
            "summary": violation["nodes"][0].get("failureSummary", "")[:300],
        }
        for violation in results["violations"]
        if violation["impact"] in {"serious", "critical"}
    ]


def describe(violations: list[dict]) -> str:
    return json.dumps(violations, indent=1)


def editors_page(pages, user, settings, **options):
    """A page of a logged-in editor: the session of a test client, given to the browser;
    ``options`` as for ``pages.new``."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page = pages.new(**options)
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": pages.base_url}]
    )
    return page
