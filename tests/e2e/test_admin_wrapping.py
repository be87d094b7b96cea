"""Pasted text keeps to the admin's pages: the import preview wraps a long word instead of
widening the page (in what it holds and in the stored texts it would replace), and the Markdown
preview shows lists as readers see them, not as forms.css
lays out the lists of an aligned form (static/css/admin-import.css, admin-preview.css)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from talks.importing import import_notes
from tests.e2e.conftest import editors_page

pytestmark = pytest.mark.browser

LONG_WORD = "x" * 5_000
NOTES = f"""---
conference: Wrapcon 2031
day: 1
---

## Keynote

- See https://example.com/{"a" * 400} for details
- {LONG_WORD}

```console
$ curl -fsSL https://example.com/{"c" * 900}
```
"""


def test_it_wraps_a_long_word_in_the_import_preview(pages, staff_user, settings):
    page = editors_page(pages, staff_user, settings)
    page.goto("/admin/talks/day/import/")
    page.get_by_label("Or paste the notes").fill(NOTES)
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(".import-preview")).to_contain_text(LONG_WORD[:100])
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    # The command line keeps its one line and scrolls inside its own box.
    command = page.locator(".import-snippet pre")
    assert command.evaluate("pre => pre.scrollWidth > pre.clientWidth")


def test_it_wraps_long_words_in_the_stored_texts_an_import_replaces(pages, staff_user, settings):
    import_notes(NOTES.replace("## Keynote", f"## Keynote {LONG_WORD}"))
    page = editors_page(pages, staff_user, settings, width=480)
    page.goto("/admin/talks/day/import/")
    edited = NOTES.replace("## Keynote", f"## Keynote {LONG_WORD}").replace(
        "for details", "for the details"
    )
    page.get_by_label("Or paste the notes").fill(edited.replace(LONG_WORD, LONG_WORD + "y", 1))
    page.get_by_role("button", name="Preview").click()
    replaced = page.locator(".import-overwrites")
    expect(replaced).to_contain_text("for the details")
    expect(replaced.locator("h5")).to_contain_text(LONG_WORD[:100])  # the talk, as stored
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_it_shows_lists_as_lists_in_the_markdown_preview(pages, staff_user, settings, demo_day):
    page = editors_page(pages, staff_user, settings)
    page.goto(f"/admin/talks/day/{demo_day.pk}/change/")
    page.locator("textarea#id_summary").fill("- list item\n    - nested item\n\n1. first\n")
    page.get_by_role("button", name="Preview: Summary").click()
    preview = page.locator("#id_summary ~ .markdown-preview")
    expect(preview.locator("li")).to_have_count(3)
    shown = preview.evaluate(
        """(panel) => [...panel.querySelectorAll("li")].map((li) => ({
            text: li.firstChild.textContent.trim(),
            style: getComputedStyle(li).listStyleType,
            indent: li.getBoundingClientRect().left - panel.getBoundingClientRect().left,
        }))"""
    )
    assert [(item["text"], item["style"]) for item in shown] == [
        ("list item", "disc"),
        ("nested item", "circle"),
        ("first", "decimal"),
    ]
    item, nested, numbered = (item["indent"] for item in shown)
    assert item < 60 and numbered < 60  # forms.css put them 160 px further right
    assert nested > item + 15
