"""XSS payloads through every field that renders on a page, each asserted harmless there.

Every payload of tests/xss_payloads.txt is written into every user-typed field at once (the
notes, their Markdown, URLs, tags, snippet lines and captions, and what a run recorded: the
line, argv, output, reason, note), then every page that shows them is rendered and parsed. A
page is harmless when, compared with the same page rendered from benign text, it has no new
element that can act (script, iframe, form, img, svg, ...), no new attribute on any element,
no event-handler attribute, no javascript:/data:/vbscript: URL, and no htmx attribute beyond
the ones our templates emit. Plain-text fields must also show the payload as text.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.utils import timezone

from runner.models import Run, RunnerStatus
from talks.markdown import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    highlight_shell,
    render_markdown,
    web_link,
)
from talks.models import Conference, Day, Highlight, Snippet, SnippetLine, Tag, Talk

pytestmark = pytest.mark.django_db

_ESCAPE = re.compile(r"\\(n|t|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4})")


def _unescape(line: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        return {"n": "\n", "t": "\t"}.get(code) or chr(int(code[1:], 16))

    return _ESCAPE.sub(one, line)


def load_payloads() -> list[str]:
    text = (Path(__file__).resolve().parents[1] / "xss_payloads.txt").read_text("utf-8")
    return [
        _unescape(line) for line in text.split("\n") if line.strip() and not line.startswith("# ")
    ]


PAYLOADS = load_payloads()
BENIGN = "Benign words about swarm mode"
HX = {"HTTP_HX_REQUEST": "true"}
# Elements that can run code, load something, submit or take input: never more than benign.
ACTIVE = {
    *("script", "iframe", "frame", "frameset", "object", "embed", "applet", "form", "input"),
    *("button", "textarea", "select", "img", "svg", "math", "video", "audio", "source"),
    *("link", "meta", "base", "style", "template", "noscript", "isindex", "details"),
}
URL_ATTRIBUTES = {
    *("href", "src", "action", "formaction", "data", "poster", "background", "xlink:href"),
    *("srcdoc", "cite", "longdesc", "ping", "manifest", "codebase", "lowsrc", "dynsrc"),
}
BAD_SCHEMES = ("javascript:", "data:", "vbscript:")


def test_it_has_a_corpus_of_at_least_50_payloads():
    assert len(PAYLOADS) >= 50
    assert len(set(PAYLOADS)) == len(PAYLOADS), "a payload is listed twice"


# -- parsing and judging pages ------------------------------------------------------------------


@dataclass
class Scan:
    """What html.parser found in a page: every element with its attributes, and the text."""

    elements: list[tuple[str, list[tuple[str, str | None]]]] = field(default_factory=list)
    text: str = ""
    raw: str = ""

    def tags(self) -> Counter[str]:
        return Counter(tag for tag, _ in self.elements)

    def attributes(self) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for tag, attrs in self.elements:
            found.setdefault(tag, set()).update(name for name, _ in attrs)
        return found

    def htmx(self) -> Counter[tuple[str, str]]:
        return Counter(
            (tag, name)
            for tag, attrs in self.elements
            for name, _ in attrs
            if name.startswith(("hx-", "data-hx-"))
        )


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scan = Scan()
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.scan.elements.append((tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.scan.elements.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self._text.append(data)


def scan(html: str) -> Scan:
    parser = _Parser()
    parser.feed(html)
    parser.close()
    parser.scan.text = "".join(parser._text)
    parser.scan.raw = html
    return parser.scan


def _url_is_bad(value: str) -> bool:
    # As browsers read a URL: leading C0 controls and spaces dropped, tabs and newlines removed.
    cleaned = re.sub(r"[\t\n\r]", "", value).lstrip("".join(chr(i) for i in range(33))).lower()
    return cleaned.startswith(BAD_SCHEMES)


def problems(
    page: Scan,
    benign: Scan | None,
    *,
    exact_htmx: bool = True,
    also_allowed: dict[str, set[str]] | None = None,
) -> list[str]:
    """Everything in `page` that an injection would explain, compared with `benign`.

    Without `benign`, `page` is a fragment that may hold only what Markdown may produce (and
    `also_allowed` attributes, e.g. the classes of highlighted code).
    """
    found: list[str] = []
    for tag, attrs in page.elements:
        for name, value in attrs:
            if name.startswith("on"):
                found.append(f"<{tag} {name}=...> is an event handler")
            if name in URL_ATTRIBUTES and value and _url_is_bad(value):
                found.append(f"<{tag} {name}={value!r}> is a script or data URL")
            if name == "style":
                found.append(f"<{tag} style=...> is not something our pages emit")
    if benign is None:  # a fragment that must hold only what Markdown may produce
        for tag, attrs in page.elements:
            allowed = ALLOWED_ATTRIBUTES.get(tag, set()) | ({"rel"} if tag == "a" else set())
            allowed |= (also_allowed or {}).get(tag, set())
            if tag not in ALLOWED_TAGS:
                found.append(f"<{tag}> is not an element Markdown may produce")
            found += [f"<{tag} {n}> is not allowed" for n, _ in attrs if n not in allowed]
        return found
    benign_tags, page_tags = benign.tags(), page.tags()
    for tag in sorted(set(page_tags) - set(benign_tags) - ALLOWED_TAGS):
        found.append(f"<{tag}> appears only with the payload")
    for tag in sorted(ACTIVE):
        if page_tags[tag] > benign_tags[tag]:
            found.append(f"{page_tags[tag]} <{tag}> elements, {benign_tags[tag]} with benign text")
        opened = len(re.findall(rf"<{tag}[\s/>]", page.raw, re.IGNORECASE))
        expected = len(re.findall(rf"<{tag}[\s/>]", benign.raw, re.IGNORECASE))
        if opened > expected:
            found.append(f"the raw page opens <{tag} {opened} times, {expected} when benign")
    benign_attributes = benign.attributes()
    for tag, names in page.attributes().items():
        allowed = benign_attributes.get(tag, set()) | ALLOWED_ATTRIBUTES.get(tag, set())
        if tag == "a":
            allowed |= {"rel"}
        for name in sorted(names - allowed):
            found.append(f"<{tag} {name}> appears only with the payload")
    page_htmx, benign_htmx = page.htmx(), benign.htmx()
    if exact_htmx and page_htmx != benign_htmx:
        difference = (page_htmx - benign_htmx) or (benign_htmx - page_htmx)
        found.append(f"htmx attributes differ: {difference}")
    elif page_htmx - benign_htmx:
        found.append(f"htmx attributes only with the payload: {page_htmx - benign_htmx}")
    return found


# -- the notes, with one text in every field ----------------------------------------------------


@dataclass
class World:
    text: str
    conference: Conference
    day: Day
    snippet: Snippet
    finished_run: Run
    running_run: Run

    def pages(self) -> dict[str, tuple[str, dict[str, str], str]]:
        """name -> (url, extra headers, client) of the pages that, together, show every field."""
        conf, day = self.conference.slug, self.day.slug
        searched = quote(self.text)
        return {
            "home": ("/", {}, "anonymous"),
            "conference": (f"/c/{conf}/", {}, "anonymous"),
            # Every field of the conference, day, talk, highlights, snippets and last runs:
            "day": (f"/c/{conf}/{day}/", {}, "anonymous"),
            "tags": ("/tags/", {}, "anonymous"),
            "tag": ("/tags/xss-tag/", {}, "anonymous"),
            # The payload reflected as the search text, and found in the notes (excerpts):
            "search": (f"/search/?q={searched}", {}, "anonymous"),
            "search popover (htmx)": (
                f"/search/?q={searched}",
                {**HX, "HTTP_HX_TARGET": "search-popover"},
                "anonymous",
            ),
            "follow-ups as staff": (f"/follow-ups/{conf}/?state=all", {}, "staff"),
            "run page": (f"/runs/{self.finished_run.pk}/", {}, "anonymous"),
            "running cell (htmx)": (f"/runs/{self.running_run.pk}/", HX, "anonymous"),
            "history": (f"/snippets/{self.snippet.pk}/history/", {}, "anonymous"),
            "missing talk": (f"/c/{conf}/{day}/no-such-talk/", {}, "anonymous"),
            "missing page": (f"/c/{searched}/{searched}/x/y/z/", {}, "anonymous"),
        }


def build_world(text: str) -> World:
    """The notes with `text` in every field a person can type (cut to the field's length)."""
    url = text if text != BENIGN else "https://example.com/session/1"
    now = timezone.now()
    conference = Conference.objects.create(
        name=text[:200], slug="xss-conf", location=text[:200], description=text
    )
    signed = {"author": text[:200], "author_title": text[:200], "next_day_title": text[:200]}
    day = Day.objects.create(
        conference=conference,
        number=1,
        title=text[:200],
        slug="day-1",
        intro=text,
        summary=text,
        **signed,
    )
    # No intro or summary: its feed entry falls back to the title. It is also "the next day".
    Day.objects.create(conference=conference, number=2, title=text[:200], slug="day-2", **signed)
    tag = Tag.objects.create(name=text[:60], slug="xss-tag")
    talk = Talk.objects.create(
        day=day, title=text[:300], slug="xss-talk", session_url=url[:500], position=1
    )
    talk.tags.add(tag)
    resolved = Highlight.objects.create(
        talk=talk,
        position=1,
        kind=Highlight.Kind.FOLLOW_UP,
        text=text,
        resolved_at=now,
        resolution=text,
        resolution_url=url[:500],
    )
    resolved.tags.add(tag)
    Highlight.objects.create(
        talk=talk, position=2, style=Highlight.Style.PARAGRAPH, kind="question", text=text
    )
    snippet = Snippet.objects.create(talk=talk, highlight=resolved, caption=text[:200])
    line = SnippetLine.objects.create(snippet=snippet, position=1, command=text[:1000])
    other = SnippetLine.objects.create(snippet=snippet, position=2, command="docker service ls")
    user = get_user_model().objects.create_user(username=text[:150])
    recorded = {
        "visitor": "0123456789abcdef",
        "line": text[:1000],
        "argv": ["docker", "service", "ls", text],
        "note": text,
        "reason": text,
        "stdout": text,
        "stderr": text,
        "converged": text,
        "engine_version": text[:40],
        "created_at": now,
        "started_at": now,
    }
    finished = Run.objects.create(
        snippet_line=line,
        user=user,
        status=Run.Status.FAILED,
        exit_code=1,
        finished_at=now,
        **recorded,
    )
    running = Run.objects.create(snippet_line=other, status=Run.Status.RUNNING, **recorded)
    RunnerStatus.objects.update_or_create(
        pk=1, defaults={"available": True, "explanation": "Sandboxes available.", "checked_at": now}
    )
    return World(text, conference, day, snippet, finished, running)


# The day, conference and history pages show every field between them, so every payload goes
# through those; each other page (other templates showing the same fields, reflections of the
# URL) gets every ROTATION-th payload, which keeps this module fast. CONFNOTES_XSS_ALL_PAGES=1
# renders every page for every payload.
CORE_PAGES = ("day", "conference", "history")
ROTATION = 1 if os.environ.get("CONFNOTES_XSS_ALL_PAGES") else 4


def pages_for(index: int, names: list[str]) -> set[str]:
    others = [name for name in names if name not in CORE_PAGES]
    return set(CORE_PAGES) | {n for i, n in enumerate(others) if i % ROTATION == index % ROTATION}


def render_pages(
    world: World, clients: dict[str, Client], only: set[str] | None = None
) -> dict[str, tuple[int, str]]:
    cache.clear()  # the day page cache must not answer with another world's page
    rendered = {}
    for name, (url, headers, who) in world.pages().items():
        if only is None or name in only:
            response = clients[who].get(url, **headers)
            rendered[name] = (response.status_code, response.content.decode())
    return rendered


_BENIGN_PAGES: dict[str, tuple[int, Scan]] = {}


def benign_pages(clients: dict[str, Client]) -> dict[str, tuple[int, Scan]]:
    """The same pages rendered from benign text (once per session, then rolled back)."""
    if not _BENIGN_PAGES:
        with transaction.atomic():
            pages = render_pages(build_world(BENIGN), clients)
            transaction.set_rollback(True)
        _BENIGN_PAGES.update({name: (s, scan(html)) for name, (s, html) in pages.items()})
    return _BENIGN_PAGES


@pytest.fixture
def clients(staff_user) -> dict[str, Client]:
    staff = Client()
    staff.force_login(staff_user)
    return {"anonymous": Client(), "staff": staff}


@pytest.mark.parametrize(("index", "payload"), list(enumerate(PAYLOADS)), ids=range(len(PAYLOADS)))
def test_it_renders_every_field_harmlessly(
    index: int, payload: str, clients: dict[str, Client]
) -> None:
    benign = benign_pages(clients)
    world = build_world(payload)
    names = [*world.pages(), "feed"]
    only = pages_for(index, names)
    failures = []
    for name, (status, html) in render_pages(world, clients, only).items():
        benign_status, benign_scan = benign[name]
        assert status == benign_status, f"{name}: {status}, {benign_status} when benign"
        page = scan(html)
        exact = not name.startswith("search")  # hits differ with the words searched for
        failures += [f"{name}: {p}" for p in problems(page, benign_scan, exact_htmx=exact)]
        if name in {"day", "run page", "history"}:
            assert payload in page.text, f"{name} does not show the payload as text"
    if "feed" in only:
        feed = Client().get("/c/xss-conf/days.atom")
        # Our own response; an injection would break the XML before anything else.
        for element in ET.fromstring(feed.content).iter():  # noqa: S314
            if element.get("type") == "html":
                failures += [f"feed: {p}" for p in problems(scan(element.text or ""), None)]
    assert not failures, "\n".join(failures)


def test_it_puts_every_payload_through_every_page_in_turn():
    unsaved = World("x", Conference(slug="c"), Day(slug="d"), Snippet(pk=1), Run(pk=1), Run(pk=2))
    names = [*unsaved.pages(), "feed"]
    seen = [pages_for(i, names) for i in range(len(PAYLOADS))]
    assert all(set(CORE_PAGES) <= pages for pages in seen)
    for name in names:
        assert sum(name in pages for pages in seen) >= len(PAYLOADS) // ROTATION


@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_it_renders_markdown_and_commands_only_sanitised(payload: str) -> None:
    """What the admin's preview shows and what saving stores, for every payload."""
    for html in (render_markdown(payload), render_markdown(payload, inline=True)):
        assert problems(scan(html), None) == [], html
    highlighted = highlight_shell(payload)
    assert problems(scan(highlighted), None, also_allowed={"span": {"class"}}) == [], highlighted
    assert {tag for tag, _ in scan(highlighted).elements} <= {"span"}
    assert web_link(payload) in {"", payload.strip()}
    assert not _url_is_bad(web_link(payload))


def test_it_previews_markdown_in_the_admin_only_sanitised(staff_client) -> None:
    for payload in PAYLOADS[:10]:
        response = staff_client.post("/admin/talks/day/markdown-preview/", {"text": payload})
        assert response.status_code == 200
        assert response.json()["html"] == render_markdown(payload)


ADMIN_PAYLOADS = [p for p in PAYLOADS if "<script" in p or "onerror" in p][:3]


@pytest.mark.parametrize("payload", ADMIN_PAYLOADS, ids=range(len(ADMIN_PAYLOADS)))
def test_it_shows_the_fields_harmlessly_in_the_admin(payload: str, staff_client) -> None:
    world = build_world(payload)
    talk = world.day.talks.get()
    pages = [
        "/admin/talks/conference/",
        "/admin/talks/day/",
        f"/admin/talks/day/{world.day.pk}/change/",
        f"/admin/talks/talk/{talk.pk}/change/",
        "/admin/talks/highlight/",
        f"/admin/talks/snippet/{world.snippet.pk}/change/",
        "/admin/talks/tag/",
        "/admin/runner/run/",
        f"/admin/runner/run/{world.finished_run.pk}/change/",
    ]
    for url in pages:
        response = staff_client.get(url)
        assert response.status_code == 200, url
        page = scan(response.content.decode())
        scripts = [dict(attrs) for tag, attrs in page.elements if tag == "script"]
        inline = [s for s in scripts if not s.get("src") and s.get("type") != "application/json"]
        assert not inline, f"{url}: an inline script"
        bad = [p for p in problems(page, page) if "event handler" in p or "URL" in p]
        assert not bad, f"{url}: {bad}"


def test_it_would_catch_an_injection():
    """The judge itself: an unescaped field shows up as problems."""
    benign = scan('<p class="x">text</p><a href="/a">a</a>')
    injected = scan(
        '<p class="x">text</p><a href="/a">a</a><img src=x onerror=alert(1)>'
        '<a href=" java\tscript:alert(1)" hx-get="/">b</a><p style="x">s</p>'
    )
    found = problems(injected, benign)
    assert any("onerror" in p for p in found)
    assert any("script or data URL" in p for p in found)
    assert any("<img>" in p for p in found)
    assert any("htmx" in p for p in found)
    assert any("style" in p for p in found)
