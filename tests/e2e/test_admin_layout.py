"""The day and talk pages of the admin fit a 1280 px window: no sideways scrolling.

The inlines' widths come from the browser's table layout, which no HTML test can see.
"""

from __future__ import annotations

import pytest

from talks.demo import DOCKERCON_2016_DAY_1
from talks.documents import save_day
from tests.e2e.conftest import editors_page

pytestmark = pytest.mark.browser

WIDTH = 1280


def page_width(page, url: str) -> int:
    page.goto(url)
    return page.evaluate("document.documentElement.scrollWidth")


def test_it_fits_the_day_and_talk_pages_in_a_1280_px_window(pages, staff_user, settings):
    page = editors_page(pages, staff_user, settings, width=WIDTH)
    day, _ = save_day(DOCKERCON_2016_DAY_1)
    urls = [f"/admin/talks/day/{day.pk}/change/"] + [
        f"/admin/talks/talk/{talk.pk}/change/" for talk in day.talks.all()
    ]
    widths = {url: page_width(page, url) for url in urls}
    assert widths == dict.fromkeys(urls, WIDTH)
