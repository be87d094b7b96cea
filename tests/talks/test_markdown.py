"""User Markdown is rendered once on save and can never inject script or htmx attributes."""

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talks.importing.detect import find_links
from talks.markdown import bare_urls, convert_markdown, highlight_shell, render_markdown
from talks.models import Highlight

PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    '<a href="/x" hx-post="/admin/" hx-trigger="load">x</a>',
    '<div hx-get="/steal" hx-trigger="load">x</div>',
    '<svg onload="alert(1)"></svg>',
    '<iframe src="https://evil.example"></iframe>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<p style="background:url(javascript:alert(1))">x</p>',
    '<form action="/x"><button>go</button></form>',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_it_strips_dangerous_markup(payload):
    html = render_markdown(payload).lower()
    assert "<script" not in html
    assert "onerror" not in html and "onload" not in html
    assert "javascript:" not in html
    assert "hx-" not in html
    assert "<iframe" not in html and "<form" not in html and "style=" not in html
    assert "data:text" not in html


def test_it_links_bare_urls_without_trailing_punctuation():
    html = render_markdown("See https://example.com/a_b.")
    assert '<a href="https://example.com/a_b" rel="noopener noreferrer nofollow">' in html


def test_it_leaves_urls_in_code_alone():
    html = render_markdown("Run `curl https://example.com/x`")
    assert "<code>curl https://example.com/x</code>" in html


def test_it_renders_bullets_inline():
    assert render_markdown("**bold** text", inline=True) == "<strong>bold</strong> text"


@pytest.mark.django_db
def test_it_renders_on_save(demo_day):
    h = Highlight.objects.filter(talk__day=demo_day).first()
    h.text = "Now with <script>alert(1)</script> **bold**"
    h.save()
    h.refresh_from_db()
    assert h.text_html == "Now with  <strong>bold</strong>"


def test_it_escapes_commands_when_highlighting():
    html = highlight_shell("docker service ls <script>")
    assert "<script>" not in html and "&lt;script&gt;" in html


# The plain-prose shortcut must render exactly what Markdown + nh3 render. The alphabet mixes
# the characters the shortcut accepts with every character that could change the rendering.
_PROSE = "abcXYZéß 09,.;:?'\"()/%+=@$’‘“”–—…-"
_MARKUP = "*_`\\[]!<>&#|~{}^\t\n\r\xa0\u2028\x00\x02"


_URL_CHARS = "ab09./%?=+#~:_-&()"
_WITH_URLS = st.lists(
    st.text(alphabet=_PROSE, min_size=1, max_size=12)
    | st.builds("https://x.org/{}".format, st.text(alphabet=_URL_CHARS, max_size=12)),
    min_size=1,
    max_size=5,
).map("".join)


@given(
    text=st.text(alphabet=_PROSE, min_size=1, max_size=40)
    | st.text(alphabet=_PROSE + _MARKUP, min_size=1, max_size=40)
    | _WITH_URLS
    | st.sampled_from(["http://x.io", "see https://a.b/c.", "a  b", "a ", "1. one", "- a"]),
    inline=st.booleans(),
)
@settings(max_examples=600, deadline=None)
def test_the_plain_prose_shortcut_renders_what_markdown_renders(text, inline):
    assert render_markdown(text, inline=inline) == convert_markdown(text, inline=inline)


@pytest.mark.parametrize(
    "text",
    [
        "Swarm mode is built in, no extra setup (really).",
        "Café’s “rolling” update — 2 nodes…",
        "Slides at https://example.org/talks/42-swarm.",
    ],
)
def test_plain_prose_takes_the_shortcut(text, monkeypatch):
    monkeypatch.setattr("talks.markdown.convert_markdown", None)  # would raise if called
    assert render_markdown(text).startswith("<p>")


# -- rel: nofollow and noreferrer on links out of the site only -----------------------------------

EXTERNAL = 'rel="noopener noreferrer nofollow"'


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("[day 1](/c/dockercon-2016/day-1/)", '<a href="/c/dockercon-2016/day-1/">day 1</a>'),
        ("[a note](#h12)", '<a href="#h12">a note</a>'),
        ("[search](?q=swarm)", '<a href="?q=swarm">search</a>'),
        ("[tag](../tags/x/)", '<a href="../tags/x/">tag</a>'),
        (
            "[here](https://notes.example.com/c/x/)",
            '<a href="https://notes.example.com/c/x/">here</a>',
        ),
        (
            "See http://notes.example.com:8000/tags/ now",
            'See <a href="http://notes.example.com:8000/tags/">http://notes.example.com:8000/tags/'
            "</a> now",
        ),
    ],
)
def test_it_links_the_sites_own_pages_without_nofollow(text, html, settings):
    settings.ALLOWED_HOSTS = ["notes.example.com", "*"]
    assert render_markdown(text, inline=True) == html
    assert convert_markdown(text, inline=True) == html


@pytest.mark.parametrize(
    "text",
    [
        "[out](https://example.org/)",
        "https://example.org/page",
        "[evil](//evil.example/x)",
        "[evil](https://notes.example.com.evil.example/)",
        "[evil](https://notes.example.com@evil.example/)",
        "[mail](mailto:someone@example.org)",
        '<a href="/\\evil.example">slash</a>',
        '<a title="x href=" href="https://evil.example/">a title that says href</a>',
        '<a href="https://evil.example/" rel="follow">own rel</a>',
    ],
)
def test_it_keeps_nofollow_and_noreferrer_on_every_other_link(text, settings):
    settings.ALLOWED_HOSTS = ["notes.example.com", "*"]  # "*" names no host of ours
    html = render_markdown(text, inline=True)
    assert html.count("<a ") == 1 and html.count(EXTERNAL) == 1, html
    assert 'rel="follow"' not in html


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("[js link](javascript:alert(1)) and more", "js link and more"),
        ('<a href="javascript:alert(1)">click <em>me</em></a>', "click <em>me</em>"),
        (
            '<a href="data:text/html,x" title="t">data</a> [ok](https://example.org/)',
            f'data <a href="https://example.org/" {EXTERNAL}>ok</a>',
        ),
        ("<a>no href</a>", "no href"),
        ('<a name="top">an anchor</a>', "an anchor"),
    ],
)
def test_a_link_whose_address_was_taken_away_is_plain_text(text, html):
    # It would look like a link that does nothing, and be skipped by the keyboard.
    assert render_markdown(text, inline=True) == html


def test_it_keeps_the_sanitising_with_internal_links():
    html = render_markdown('<a href="/x" hx-post="/admin/" onclick="alert(1)" rel="x">x</a>')
    assert html == '<p><a href="/x">x</a></p>'


# -- bare URLs end where GitHub's autolinker ends them ---------------------------------------------

_HREF = re.compile(r'<a href="([^"]*)"')

# (note text, the URLs linked in it). A final ")" belongs to a URL only when it closes a "(" of
# the URL itself; a final . , ; : ! ? * _ or ~ never does (Markdown's emphasis around a URL).
BARE_URLS = [
    ("See https://example.com/a_b.", ["https://example.com/a_b"]),
    ("(https://example.com/paren).", ["https://example.com/paren"]),
    ("Slides (https://example.com/s, video https://example.com/v)", [
        "https://example.com/s", "https://example.com/v"]),
    ("https://example.com/wiki/Foo_(bar)", ["https://example.com/wiki/Foo_(bar)"]),
    ("(see https://example.com/wiki/Foo_(bar)).", ["https://example.com/wiki/Foo_(bar)"]),
    ("https://example.com/wiki/Foo_(bar))", ["https://example.com/wiki/Foo_(bar)"]),
    ("https://example.com/q?a=(1)&b=2!", ["https://example.com/q?a=(1)&b=2"]),
    ("https://example.com/x);", ["https://example.com/x"]),
    ("Is it https://example.com/x?", ["https://example.com/x"]),
    ("Done: https://example.com/x:", ["https://example.com/x"]),
    ("https://example.com/x!?", ["https://example.com/x"]),
    ("[label](https://example.com/md_(x))", ["https://example.com/md_(x)"]),
    ("<https://example.com/angle>", ["https://example.com/angle"]),
    ("Run `curl https://example.com/code`", []),
    ("Slides: **https://example.com/bold**", ["https://example.com/bold"]),
    ("*https://example.com/em*, or https://example.com/a*b_c~d~", [
        "https://example.com/em", "https://example.com/a*b_c~d"]),
    ("Nothing after the scheme: https://.", []),
]  # fmt: skip


def _hrefs(html: str) -> list[str]:
    return [href.replace("&amp;", "&") for href in _HREF.findall(html)]


@pytest.mark.parametrize(("text", "urls"), BARE_URLS)
def test_it_ends_bare_urls_like_githubs_autolinker(text, urls):
    assert _hrefs(render_markdown(text)) == urls
    assert _hrefs(convert_markdown(text)) == urls  # with or without the prose shortcut


@pytest.mark.parametrize(
    ("text", "urls"), [(t, u) for t, u in BARE_URLS if "](" not in t and "<" not in t]
)
def test_bare_urls_names_the_bare_urls_a_note_links(text, urls):
    assert bare_urls(text) == urls


# The import preview lists the links of each note with talks.importing.detect.find_links: the
# same links the page shows (it once had URL patterns of its own, which cut at any ")" and read
# code spans).
@pytest.mark.parametrize(("text", "urls"), BARE_URLS)
def test_the_import_preview_lists_the_links_the_note_shows(text, urls):
    assert find_links(text) == _hrefs(render_markdown(text)) == urls


@pytest.mark.parametrize(
    "text",
    [
        "[" * 50_000,  # each "[" looks for a "]" to the end: minutes before
        "[" * 999 + "a" * 20_000,  # 9 s before
        "![" * 2000,
        "[](" * 1000,
        "<a " * 3000,
        "<http://a " * 2000,
        "`" * 5000,
    ],
)
def test_text_markdown_would_take_long_over_is_shown_as_written(text):
    started = time.perf_counter()
    html = render_markdown(text + "\n\nsecond *paragraph*")
    assert time.perf_counter() - started < 1  # generous: a worker's budget, not a benchmark
    assert html.endswith("<p>second *paragraph*</p>")  # as written, escaped, not marked up
    assert html.startswith("<p>") and "<a " not in html.replace("&lt;a ", "")


def test_many_links_and_stray_brackets_are_still_markdown():
    links = " ".join(f"[note {i}](https://example.org/{i})" for i in range(500))
    stray = "Lists: [a, [b and [c. " * 20 + "*done*"
    assert render_markdown(links).count('<a href="https://example.org/') == 500
    assert "<em>done</em>" in render_markdown(stray)


@pytest.mark.parametrize(
    ("text", "html"),
    [
        (
            "Slides: ![the architecture](https://example.com/a.png)",
            'Slides: <a href="https://example.com/a.png" rel="noopener noreferrer nofollow">'
            "the architecture</a>",
        ),
        (
            "![](https://example.com/a.png)",
            '<a href="https://example.com/a.png" rel="noopener noreferrer nofollow">image</a>',
        ),
        ("<img src=x onerror=alert(1)>", ""),  # not a web address: nothing to link to
        ("See <img src='x.png' alt='the chart'>", "See the chart"),
        (
            '<img src="https://e.com/x.png" alt="<script>alert(1)</script>">',
            '<a href="https://e.com/x.png" rel="noopener noreferrer nofollow">'
            "&lt;script&gt;alert(1)&lt;/script&gt;</a>",
        ),
    ],
)
def test_an_image_becomes_a_link_to_it_named_by_its_alt_text(text, html):
    """Pages show nothing from other sites: an image vanished without a trace, words and all."""
    assert render_markdown(text, inline=True) == html
