"""User Markdown is rendered once on save and can never inject script or htmx attributes."""

import pytest

from talks.markdown import highlight_shell, render_markdown
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
