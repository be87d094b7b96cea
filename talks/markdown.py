"""Markdown rendering for everything users type: rendered once on save, sanitised with nh3."""

from __future__ import annotations

import functools
import html
import re
import threading
from urllib.parse import urlsplit

import markdown as md
import nh3
from django.conf import settings
from django.http.request import validate_host
from django.utils.http import url_has_allowed_host_and_scheme
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import BashLexer

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h3", "h4", "h5", "h6", "hr",
    "i", "kbd", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table", "tbody",
    "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "td": {"align"}, "th": {"align"}}
ALLOWED_SCHEMES = {"http", "https", "mailto"}
# Links out of the site pass no referrer and no ranking; links to the site's own pages need
# neither (and "nofollow" there would tell search engines not to follow our own pages).
EXTERNAL_REL = "noopener noreferrer nofollow"

# Bare URLs in notes ("... open to anyone at https://www.docker.com/...") become links, ended
# the way GitHub's autolinker ends them: a sentence's final ".", ",", ";", ":", "!" or "?" is
# not part of the URL, nor is Markdown's emphasis around it ("**https://x**": a final "*", "_"
# or "~"), nor a final ")" unless it closes a "(" of the URL itself, so
# "(see https://example.com/a)." links https://example.com/a and
# "https://en.wikipedia.org/wiki/Foo_(bar)" links all of it. A URL right after "](" is a
# Markdown link's target, after "<" an autolink, after "[", a quote or "=" a link text or an
# HTML attribute: those are Markdown's to link.
_BARE_URL = re.compile(r"(?<![<\[\"'=])(?<!\]\()\bhttps?://[^\s<>\"'`]+")
_URL_END_PUNCTUATION = ".,;:!?]*_~"
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)


def _url_end(url: str) -> int:
    """How much of a candidate URL is the URL: without trailing punctuation or an unbalanced
    closing parenthesis (a "]" never ends a URL, as before)."""
    end = len(url)
    opened, closed = url.count("("), url.count(")")
    while end:
        last = url[end - 1]
        if last in _URL_END_PUNCTUATION:
            end -= 1
        elif last == ")" and closed > opened:
            end -= 1
            closed -= 1
        else:
            break
    return end if not url[:end].endswith("://") else 0


def _split_urls(text: str) -> list[str]:
    """``text`` as prose, URL, prose, URL, ..., prose (like re.split with a group)."""
    parts: list[str] = []
    position = 0
    for match in _BARE_URL.finditer(text):
        end = match.start() + _url_end(match.group(0))
        if end > match.start():
            parts += [text[position : match.start()], text[match.start() : end]]
            position = end
    parts.append(text[position:])
    return parts


def bare_urls(text: str) -> list[str]:
    """The bare URLs ``render_markdown`` links in ``text`` (not those in code spans)."""
    return [url for part in CODE_SPAN.split(text)[::3] for url in _split_urls(part)[1::2]]


def _link_bare_urls(text: str) -> str:
    parts = _split_urls(text)
    return "".join(f"<{part}>" if index % 2 else part for index, part in enumerate(parts))


def _autolink(text: str) -> str:
    """Wrap bare URLs in <...> so Markdown links them, leaving code spans and links alone."""
    out: list[str] = []
    position = 0
    for code in CODE_SPAN.finditer(text):
        out.append(_link_bare_urls(text[position : code.start()]))
        out.append(code.group(0))
        position = code.end()
    out.append(_link_bare_urls(text[position:]))
    return "".join(out)


_local = threading.local()


def _converter() -> md.Markdown:
    """One Markdown converter per thread: building one costs more than most conversions."""
    converter = getattr(_local, "converter", None)
    if converter is None:
        converter = _local.converter = md.Markdown(
            extensions=["fenced_code", "sane_lists", "tables", "nl2br"], output_format="html"
        )
    return converter


# Text that Markdown and nh3 would hand back unchanged, inside one paragraph: one line of words
# and ordinary punctuation that starts with a letter (so it cannot open a list, heading, quote
# or code block) and holds nothing that marks up or escapes, save bare URLs of plain
# characters, which become links. Most notes are such prose, and skipping the converter for
# them makes a large import several times faster. tests/talks/test_markdown.py checks the
# shortcut against the full path on random text.
_PLAIN = re.compile(r"[^\W\d_](?:[^\W_]|[ ,.;:?'\"()/%+=@$’‘“”–—…-])*")
_PLAIN_URL = re.compile(r"https?://[A-Za-z0-9./%?=+#~:_-]+")


_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")


def is_internal_link(href: str) -> bool:
    """Whether ``href`` (as written in the HTML, entities and all) points into this site:
    relative, or absolute http(s) on one of ALLOWED_HOSTS (the "*" wildcard names no host).

    Django's own open-redirect check decides what counts as relative, so ``//host``,
    ``/\\host`` and control characters count as leaving the site.
    """
    url = (html.unescape(href) if "&" in href else href).strip()
    return _is_internal(url, tuple(settings.ALLOWED_HOSTS))


@functools.lru_cache(maxsize=4096)  # notes link to the same pages again and again
def _is_internal(url: str, allowed_hosts: tuple[str, ...]) -> bool:
    if _SPACE_OR_CONTROL.search(url):
        return False  # browsers drop some of these, which can turn a path into a host
    if url_has_allowed_host_and_scheme(url, allowed_hosts=None):
        return True  # relative: a path, a query or a fragment on this site
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return False
    if not url_has_allowed_host_and_scheme(url, allowed_hosts={parts.netloc}):
        return False  # whatever Django would not redirect to is no link of ours either
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname  # IPv6
    return validate_host(host, [allowed for allowed in allowed_hosts if allowed != "*"])


def _link_rel(href: str | None) -> str:
    """The rel attribute for a link to ``href``: none into the site, EXTERNAL_REL out of it."""
    if href is not None and is_internal_link(href):
        return ""
    return f' rel="{EXTERNAL_REL}"'


# nh3's output is serialised HTML: attributes in double quotes, with any " inside a value
# written as &quot;, and no <a> inside another (the HTML parser closes the first), so this
# matches every link it gives, whole, and nothing else.
_A_ELEMENT = re.compile(r'<a((?: [a-z][a-z0-9-]*="[^"]*")*)>(.*?)</a>', re.DOTALL)
_ATTRIBUTE = re.compile(r' ([a-z][a-z0-9-]*)="([^"]*)"')


def _fix_links(clean_html: str) -> str:
    """Give each link of sanitised HTML the rel attribute that _link_rel chooses; an <a> left
    without an address (nh3 took away a ``javascript:`` or ``data:`` one) is no link, and
    would look like one that does nothing: only its text stays."""

    def fix(match: re.Match[str]) -> str:
        attributes, content = match.groups()
        # One attribute after another, so no value can pass for an href (no " inside values).
        values = dict(found.groups() for found in _ATTRIBUTE.finditer(attributes))
        href = values.get("href")
        if href is None:
            return content
        return f"<a{attributes}{_link_rel(href)}>{content}</a>"

    return _A_ELEMENT.sub(fix, clean_html)


def _bare_link(url: str) -> str:
    return f'<a href="{url}"{_link_rel(url)}>{url}</a>'


def _plain_html(text: str) -> str | None:
    """The rendering of ``text`` if it is plain prose (see _PLAIN), else None."""
    if not text.isprintable() or text.endswith(" "):
        return None
    parts = _split_urls(text)  # prose, URL, prose, URL, ..., prose
    prose, urls = parts[::2], parts[1::2]
    if _PLAIN.fullmatch("x".join(prose)) is None or any("://" in part for part in prose):
        return None
    if not all(_PLAIN_URL.fullmatch(url) for url in urls):
        return None
    return "".join(
        part + (_bare_link(urls[index]) if index < len(urls) else "")
        for index, part in enumerate(prose)
    )


def render_markdown(text: str, *, inline: bool = False) -> str:
    """Render user Markdown to safe HTML.

    ``inline`` drops the wrapping paragraph of a one-paragraph text, for bullets and titles.
    Scripts, event handlers, ``javascript:`` URLs and htmx attributes never survive nh3.
    """
    if not text.strip():
        return ""
    html = _plain_html(text)
    if html is not None:
        return html if inline else f"<p>{html}</p>"
    return convert_markdown(text, inline=inline)


# Python-Markdown's time grows with the square of some input: each "[", "](" or "<" looks ahead
# for its "]", ")" or ">", to the end of its paragraph when there is none, and runs of backticks
# for a matching run. 1,000 "[" before 20,000 characters took 9 s; 50,000 "[" more than five minutes
# of a web worker. _costly estimates those look-aheads in one pass; text over the budget (no
# note comes near it) is shown as written, escaped line by line, so no save or import can hold
# a worker for long. tests/talks/test_markdown.py times the worst inputs.
LOOK_AHEAD_BUDGET = 200_000  # characters; about 0.1 s of the converter
MAX_BACKTICKS = 2000
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


def _costly(text: str) -> bool:
    if text.count("`") > MAX_BACKTICKS:
        return True
    if text.count("[") + text.count("<") < 100:  # the usual note: nothing to count
        return False
    cost = 0
    for paragraph in _PARAGRAPH_BREAK.split(text):
        for opener, closer in (("[", "]"), ("](", ")"), ("<", ">")):
            start = paragraph.find(opener)
            while start != -1:
                end = paragraph.find(closer, start)
                cost += (len(paragraph) if end == -1 else end) - start
                start = paragraph.find(opener, start + 1)
        if cost > LOOK_AHEAD_BUDGET:
            return True
    return False


def _as_written(text: str, *, inline: bool) -> str:
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    shown = ["<br>\n".join(html.escape(line) for line in p.splitlines()) for p in paragraphs]
    if inline and len(shown) == 1:
        return shown[0]
    return "\n".join(f"<p>{paragraph}</p>" for paragraph in shown)


_IMG = re.compile(r"""<img\b((?:[^>"']|"[^"]*"|'[^']*')*)>""", re.IGNORECASE)
_IMG_ATTRIBUTE = re.compile(r"""([a-z]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.I)


def _image_links(html_text: str) -> str:
    """Images are not shown (a page shows nothing from other sites): each becomes a link to
    it, named by its alt text, so that neither the picture nor its words are lost without a
    trace. One whose address is not a web address keeps only its alt text. nh3 runs after."""

    def link(match: re.Match[str]) -> str:
        values = {}
        for name, *value in _IMG_ATTRIBUTE.findall(match.group(1)):
            values.setdefault(name.lower(), next((v for v in value if v), ""))
        # Attribute values are text with character references: unescaped, then escaped again.
        alt = html.escape(html.unescape(values.get("alt", "")).strip())
        src = html.escape(html.unescape(values.get("src", "")).strip())
        if not src.lower().startswith(("http://", "https://")):
            return alt
        return f'<a href="{src}">{alt or "image"}</a>'

    return _IMG.sub(link, html_text) if "<img" in html_text.lower() else html_text


def convert_markdown(text: str, *, inline: bool = False) -> str:
    """render_markdown without the plain-prose shortcut: Markdown, then nh3."""
    if _costly(text):
        return _as_written(text, inline=inline)
    converter = _converter()
    html = _image_links(converter.reset().convert(_autolink(text)))
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_SCHEMES,
        link_rel=None,  # set per link below: external links only
    )
    clean = _fix_links(clean)
    if inline and clean.startswith("<p>") and clean.endswith("</p>") and clean.count("<p>") == 1:
        clean = clean[3:-4]
    return clean


_SHELL_LEXER = BashLexer()
_SHELL_FORMATTER = HtmlFormatter(nowrap=True)


# Pygments wraps each run of spaces in a span of its own, unstyled here: on a day page of
# commands that is a fifth of their markup (and the page's weight is budgeted).
_SPACES = re.compile(r'<span class="w">( +)</span>')


def highlight_shell(command: str) -> str:
    """One command line as shell-highlighted HTML spans (Pygments escapes the text)."""
    return _SPACES.sub(r"\1", highlight(command, _SHELL_LEXER, _SHELL_FORMATTER).rstrip("\n"))


def web_link(url: str) -> str:
    """``url`` if it is an absolute http(s) URL that is safe in an href, else "".

    URL fields are validated where people type them, but a page must not turn whatever is
    stored (a direct write, an old import) into a ``javascript:`` or ``data:`` link.
    """
    url = (url or "").strip()
    scheme, sep, rest = url.partition(":")
    if not sep or scheme.lower() not in {"http", "https"} or not rest.startswith("//"):
        return ""
    if any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in url):
        return ""
    return url
