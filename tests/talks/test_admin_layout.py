"""The day and talk pages of the admin fit a 1280 px window: no sideways scrolling.

Real Chromium against pytest-django's live server, like tests/e2e (whose fixtures live there):
the inlines' widths come from the browser's table layout, which no HTML test can see.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.test import Client

from talks.demo import DOCKERCON_2016_DAY_1
from talks.documents import save_day

pytestmark = pytest.mark.browser

WINDOW = {"width": 1280, "height": 900}


@pytest.fixture
def admin_page(live_server, transactional_db, staff_user, settings) -> Iterator:
    """A logged-in editor's page; Django is told that Playwright's loop runs beside the ORM."""
    from playwright.sync_api import sync_playwright

    client = Client()
    client.force_login(staff_user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"]
        )
        context = browser.new_context(base_url=live_server.url, viewport=WINDOW)
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
        )
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        browser.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def page_width(page, url: str) -> int:
    page.goto(url)
    return page.evaluate("document.documentElement.scrollWidth")


def test_it_fits_the_day_and_talk_pages_in_a_1280_px_window(admin_page):
    day, _ = save_day(DOCKERCON_2016_DAY_1)
    urls = [f"/admin/talks/day/{day.pk}/change/"] + [
        f"/admin/talks/talk/{talk.pk}/change/" for talk in day.talks.all()
    ]
    widths = {url: page_width(admin_page, url) for url in urls}
    assert widths == dict.fromkeys(urls, WINDOW["width"])
