"""Web security: the CSP on every page, CSRF on every POST, production cookies and HSTS.

`manage.py check --deploy` is tested in tests/test_settings_deploy.py; XSS in
tests/talks/test_xss.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.resolvers import RoutePattern
from django.utils import timezone

from runner.models import Run, RunnerStatus
from talks.models import Conference, Day, Highlight, Snippet, SnippetLine, Tag, Talk

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent
HX = {"HTTP_HX_REQUEST": "true"}


# -- the pages --------------------------------------------------------------------------------


@pytest.fixture
def notes(db) -> dict[str, object]:
    """A day of notes, a run, a follow-up and a tag: something on every kind of page."""
    conference = Conference.objects.create(name="DockerCon 2016", slug="dockercon-2016")
    day = Day.objects.create(
        conference=conference, number=1, title="Day 1", slug="day-1", summary="*Swarm* mode."
    )
    talk = Talk.objects.create(day=day, title="Keynote", slug="keynote")
    tag = Tag.objects.create(name="orchestration", slug="orchestration")
    talk.tags.add(tag)
    highlight = Highlight.objects.create(talk=talk, text="Need to figure out swarm details")
    highlight.kind = Highlight.Kind.FOLLOW_UP
    highlight.save()
    snippet = Snippet.objects.create(talk=talk, highlight=highlight)
    line = SnippetLine.objects.create(snippet=snippet, command="docker service ls")
    run = Run.objects.create(
        snippet_line=line,
        visitor="0123456789abcdef",
        line=line.command,
        argv=["docker", "service", "ls"],
        status=Run.Status.SUCCEEDED,
        exit_code=0,
        stdout="ID NAME\n",
        finished_at=timezone.now(),
    )
    running = Run.objects.create(
        snippet_line=line, visitor="0123456789abcdef", line=line.command, status="running"
    )
    RunnerStatus.objects.create(pk=1, available=True, checked_at=timezone.now())
    return {
        "day": day,
        "talk": talk,
        "line": line,
        "snippet": snippet,
        "run": run,
        "running": running,
        "highlight": highlight,
        "tag": tag,
    }


def page_urls(notes: dict[str, object]) -> dict[str, tuple[str, dict[str, str]]]:
    day: Day = notes["day"]  # type: ignore[assignment]
    conf = day.conference.slug
    tag: Tag = notes["tag"]  # type: ignore[assignment]
    run: Run = notes["run"]  # type: ignore[assignment]
    return {
        "home": ("/", {}),
        "conference": (f"/c/{conf}/", {}),
        "day": (day.get_absolute_url(), {}),
        "talk": (notes["talk"].get_absolute_url(), {}),  # type: ignore[attr-defined]
        "tags": ("/tags/", {}),
        "tag": (f"/tags/{tag.slug}/", {}),
        "search": ("/search/?q=swarm", {}),
        "search results (htmx)": ("/search/?q=swarm", HX),
        "follow-ups": ("/follow-ups/", {}),
        "conference follow-ups": (f"/follow-ups/{conf}/", {}),
        "run": (f"/runs/{run.pk}/", {}),
        "run cell (htmx)": (f"/runs/{run.pk}/", HX),
        "running cell (htmx)": (f"/runs/{notes['running'].pk}/", HX),  # type: ignore[attr-defined]
        "history": (f"/snippets/{notes['snippet'].pk}/history/", {}),  # type: ignore[attr-defined]
        "not found": ("/no/such/page/", {}),
        "feed": ("/feeds/days.atom", {}),
        "export": (f"/c/{conf}/{day.slug}/export.md", {}),
        "admin login": ("/admin/login/", {}),
    }


STAFF_PAGES = {
    "admin index": "/admin/",
    "admin days": "/admin/talks/day/",
    "admin day": "/admin/talks/day/{day}/change/",
    "admin add talk": "/admin/talks/talk/add/",
    "admin runs": "/admin/runner/run/",
    "admin run": "/admin/runner/run/{run}/change/",
    "admin log": "/admin/admin/logentry/",
    "admin import": "/admin/talks/day/import/",
}


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


class _Scripts(HTMLParser):
    """Inline code a strict CSP would block (or that means the page relies on it)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.nonces: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}> is an inline event handler")
            url = (value or "").strip().lower()
            if name in {"href", "src", "action", "formaction"} and url.startswith("javascript:"):
                self.problems.append(f"<{tag} {name}={value!r}> is a javascript: URL")
            if name.startswith("hx-on"):
                self.problems.append(f"<{tag} {name}> needs eval")
        if tag == "script":
            self._in_script = True
            kind = (values.get("type") or "text/javascript").lower()
            if not values.get("src") and "json" not in kind:
                self.problems.append("an inline <script> without src")
            if values.get("nonce"):
                self.nonces.append(values["nonce"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False


def check_csp(response, name: str) -> list[str]:
    found = []
    header = response.headers.get("Content-Security-Policy")
    if not header:
        return [f"{name}: no Content-Security-Policy header (status {response.status_code})"]
    directives = csp_directives(header)
    scripts = directives.get("script-src", directives.get("default-src"))
    if scripts is None:
        return [f"{name}: the CSP does not restrict scripts: {header}"]
    for word in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"):
        if word in scripts:
            found.append(f"{name}: script-src allows {word}")
    for directive, expected in {
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "default-src": ["'self'"],
    }.items():
        if directives.get(directive) != expected:
            found.append(f"{name}: {directive} is {directives.get(directive)}, not {expected}")
    if "html" in response.headers.get("Content-Type", ""):
        parser = _Scripts()
        parser.feed(response.content.decode())
        found += [f"{name}: {problem}" for problem in parser.problems]
    return found


def test_it_sends_a_strict_csp_with_every_kind_of_page(client, notes):
    problems = []
    for name, (url, headers) in page_urls(notes).items():
        for attempt in ("first", "again"):  # the second day page comes from the page cache
            response = client.get(url, **headers)
            assert response.status_code in {200, 286, 404}, f"{name}: {response.status_code}"
            problems += check_csp(response, f"{name} ({attempt})")
    assert not problems, "\n".join(problems)


def test_it_sends_a_strict_csp_with_the_admin(staff_client, notes):
    problems = []
    ids = {"day": notes["day"].pk, "run": notes["run"].pk}  # type: ignore[attr-defined]
    for name, url in STAFF_PAGES.items():
        response = staff_client.get(url.format(**ids))
        assert response.status_code == 200, f"{name}: {response.status_code}"
        problems += check_csp(response, name)
    assert not problems, "\n".join(problems)


def test_it_sends_the_csp_with_refusals_and_errors(client, notes, settings):
    settings.RUNNER_ANONYMOUS = False
    line = notes["line"]
    responses = {
        "log in to run (htmx)": client.post(f"/run/line/{line.pk}/", **HX),  # type: ignore[attr-defined]
        "wrong method": client.get(f"/run/line/{line.pk}/"),  # type: ignore[attr-defined]
        "csrf failure": Client(enforce_csrf_checks=True).post("/sandbox/reset/"),
    }
    problems = [p for name, r in responses.items() for p in check_csp(r, name)]
    assert not problems, "\n".join(problems)


def test_it_offers_a_plain_link_back_instead_of_inline_script(client, notes, settings):
    settings.RUNNER_ANONYMOUS = False
    client.force_login(get_user_model().objects.create_user("nobody"))
    response = client.post(
        f"/run/line/{notes['line'].pk}/",  # type: ignore[attr-defined]
        HTTP_REFERER="http://testserver/c/dockercon-2016/day-1/",
    )
    assert response.status_code == 403
    assert b'<a href="http://testserver/c/dockercon-2016/day-1/">Back</a>' in response.content
    assert b"javascript:" not in response.content


# -- CSRF on every POST -------------------------------------------------------------------------


def url_patterns() -> Iterator[tuple[str, URLPattern, list[str]]]:
    """Every named URL pattern: (namespaced name, pattern, names of its parameters)."""

    def walk(patterns, namespace: str, params: list[str]):
        for entry in patterns:
            if isinstance(entry.pattern, RoutePattern):
                own = list(entry.pattern.converters)
            else:
                own = list(entry.pattern.regex.groupindex)
            if isinstance(entry, URLResolver):
                inner = namespace
                if entry.namespace:
                    inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                yield from walk(entry.url_patterns, inner, params + own)
            elif entry.name:
                name = f"{namespace}:{entry.name}" if namespace else entry.name
                yield name, entry, params + own

    yield from walk(get_resolver().url_patterns, "", [])


def sample_url(name: str, params: list[str], notes: dict[str, object], user_id: int) -> str:
    day: Day = notes["day"]  # type: ignore[assignment]
    snippet: Snippet = notes["snippet"]  # type: ignore[assignment]
    values = {
        "line_id": notes["line"].pk,  # type: ignore[attr-defined]
        "snippet_id": snippet.pk,
        "run_id": notes["run"].pk,  # type: ignore[attr-defined]
        "pk": notes["highlight"].pk,  # type: ignore[attr-defined]
        "slug": day.conference.slug,
        "conference_slug": day.conference.slug,
        "day_slug": day.slug,
        "talk_slug": notes["talk"].slug,  # type: ignore[attr-defined]
        "fmt": "md",
        "app_label": "talks",
        "object_id": str(day.pk),
        "id": str(user_id),
        "content_type_id": 1,
        "uidb64": "MQ",
        "token": "set-password",
        "node": "worker1",
    }
    if name.startswith("admin:auth_user_"):
        values["object_id"] = str(user_id)
    # A parameter added since: "1" fits int, slug, str and path converters alike.
    return reverse(name, kwargs={p: values.get(p, "1") for p in params})


# What must be among the POST endpoints the URLconf yields, so this test can't pass by
# finding nothing.
KNOWN_POSTS = {
    "runner:run_line",
    "runner:run_snippet",
    "runner:sandbox_reset",
    "talks:resolve_follow_up",
    "admin:talks_markdown_preview",
    "admin:talks_day_import",
    "admin:talks_day_import_confirm",
    "admin:talks_day_change",
    "admin:talks_day_add",
    "admin:talks_day_delete",
    "admin:login",
    "admin:logout",
}


CSRF_REFUSED = b"Your browser did not send this site&#x27;s cookie"


@pytest.fixture
def every_url(notes, staff_user) -> dict[str, str]:
    urls = {}
    for name, pattern, params in url_patterns():
        url = sample_url(name, params, notes, staff_user.pk)
        assert resolve(url).func is not None
        assert not getattr(pattern.callback, "csrf_exempt", False), f"{name} is csrf_exempt"
        urls[name] = url
    assert set(urls) >= KNOWN_POSTS, KNOWN_POSTS - set(urls)
    return urls


@pytest.mark.parametrize("who", ["anonymous", "staff"])
@pytest.mark.parametrize("style", ["form", "htmx"])
def test_it_refuses_every_post_without_the_csrf_token(every_url, staff_user, who, style):
    client = Client(enforce_csrf_checks=True)
    if who == "staff":
        client.force_login(staff_user)
    client.get("/")  # the CSRF cookie is set; only the token is missing
    assert "csrftoken" in client.cookies
    headers = {**HX, "HTTP_HX_TARGET": "main"} if style == "htmx" else {}
    allowed = []
    for name, url in every_url.items():
        response = client.post(url, {"text": "x", "next": "/"}, **headers)
        # The CSRF check's own answer (notes_site.csrf), not a 403 of the view's.
        if response.status_code != 403 or CSRF_REFUSED not in response.content:
            allowed.append(f"{name} {url}: {response.status_code}")
    assert not allowed, "POST accepted without a CSRF token:\n" + "\n".join(allowed)


def test_it_refuses_a_wrong_token_and_a_foreign_origin(every_url, staff_user, caplog):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    client.get("/")
    token = client.cookies["csrftoken"].value
    for name in sorted(KNOWN_POSTS):
        url = every_url[name]
        wrong = client.post(url, HTTP_X_CSRFTOKEN="x" * 32, **HX)
        assert wrong.status_code == 403, name
        foreign = client.post(
            url, HTTP_X_CSRFTOKEN=token, HTTP_ORIGIN="https://evil.example", secure=True, **HX
        )
        assert foreign.status_code == 403, name
        assert "Origin checking failed - https://evil.example" in caplog.records[-1].getMessage()


def test_it_accepts_our_own_htmx_posts_with_the_token(every_url, staff_user, settings):
    """The other side: htmx sends the CSRF cookie the day page set (static/js/site.js)."""
    settings.RUNNER_MODE = "off"
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    page = client.get(every_url["talks:day"]).content.decode()
    assert 'data-csrf-cookie="csrftoken"' in page
    token = client.cookies["csrftoken"].value
    for name in ("runner:run_line", "runner:run_snippet", "runner:sandbox_reset"):
        response = client.post(every_url[name], HTTP_X_CSRFTOKEN=token, **HX)
        assert response.status_code == 200, (name, response.content[:300])
    preview = client.post(
        every_url["admin:talks_markdown_preview"], {"text": "*hi*"}, HTTP_X_CSRFTOKEN=token
    )
    assert preview.json() == {"html": "<p><em>hi</em></p>"}


# -- who may do what ----------------------------------------------------------------------------


def test_it_keeps_every_admin_page_from_non_staff(every_url, plain_user):
    client = Client()
    client.force_login(plain_user)
    let_in = []
    for name, url in every_url.items():
        if not name.startswith("admin:") or name in {"admin:login", "admin:logout"}:
            continue
        if name in {"admin:password_reset", "admin:view_on_site"}:
            continue
        response = client.get(url)
        if not (response.status_code == 302 and "/admin/login/" in response["Location"]):
            let_in.append(f"{name} {url}: {response.status_code}")
    assert not let_in, "\n".join(let_in)


def test_it_lets_only_staff_resolve_follow_ups(every_url, plain_user):
    client = Client()
    client.force_login(plain_user)
    response = client.post(every_url["talks:resolve_follow_up"], {"next": "/"})
    assert response.status_code == 403


# -- production settings ------------------------------------------------------------------------

PRODUCTION_CHECK = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({name: getattr(s, name) for name in [
    "DEBUG", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_SECURE", "CSRF_COOKIE_SAMESITE", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY", "SECURE_CROSS_ORIGIN_OPENER_POLICY", "X_FRAME_OPTIONS",
    "RUNNER_ANONYMOUS", "RUNNER_USERNS_REMAP", "SECURE_PROXY_SSL_HEADER",
]} | {"CSP": s.CONTENT_SECURITY_POLICY, "MIDDLEWARE": s.MIDDLEWARE}))
"""


@pytest.fixture(scope="module")
def production() -> dict:
    """The settings as production loads them: DEBUG unset, only a secret key given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEBUG", "SECURE_", "RUNNER_"))}
    env.pop("SESSION_COOKIE_SECURE", None)
    env.pop("CSRF_COOKIE_SECURE", None)
    env.update(
        DJANGO_SETTINGS_MODULE="notes_site.settings",
        SECRET_KEY="a-production-secret-key-for-this-test-only-0123456789abcdef!",
    )
    done = subprocess.run(
        [sys.executable, "-c", PRODUCTION_CHECK],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_it_defaults_to_secure_cookies_hsts_and_no_anonymous_runs_in_production(production):
    assert production["DEBUG"] is False
    assert production["SESSION_COOKIE_SECURE"] is True
    assert production["SESSION_COOKIE_HTTPONLY"] is True
    assert production["CSRF_COOKIE_SECURE"] is True
    assert production["SESSION_COOKIE_SAMESITE"] == production["CSRF_COOKIE_SAMESITE"] == "Lax"
    assert production["SECURE_SSL_REDIRECT"] is True
    assert production["SECURE_HSTS_SECONDS"] >= 31536000
    assert production["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert production["SECURE_HSTS_PRELOAD"] is True
    assert production["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert production["SECURE_REFERRER_POLICY"] == "same-origin"
    assert production["SECURE_CROSS_ORIGIN_OPENER_POLICY"] == "same-origin"
    assert production["X_FRAME_OPTIONS"] == "DENY"
    assert production["SECURE_PROXY_SSL_HEADER"] is None  # trusted only when configured
    assert production["RUNNER_ANONYMOUS"] is False
    assert production["RUNNER_USERNS_REMAP"] is True
    assert "notes_site.middleware.SiteCSPMiddleware" in production["MIDDLEWARE"]
    assert "REPORT_ONLY" not in json.dumps(production["CSP"]).upper()
    scripts = production["CSP"]["DIRECTIVES"]["script-src"]
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts


def test_it_sends_secure_cookies_and_hsts_with_production_settings(production, notes):
    names = [
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
    ]
    client = Client()
    with override_settings(**{name: production[name] for name in names}):
        redirect = client.get("/")
        assert redirect.status_code == 301
        assert redirect["Location"] == "https://testserver/"
        page = client.get(notes["day"].get_absolute_url(), secure=True)  # type: ignore[attr-defined]
        assert page.status_code == 200
        assert page["Strict-Transport-Security"] == ("max-age=31536000; includeSubDomains; preload")
        assert page["X-Content-Type-Options"] == "nosniff"
        assert page["X-Frame-Options"] == "DENY"
        assert page["Referrer-Policy"] == "same-origin"
        assert page["Cross-Origin-Opener-Policy"] == "same-origin"
        csrf = page.cookies["csrftoken"]
        assert csrf["secure"] and csrf["samesite"] == "Lax"
        ran = client.post(
            f"/run/line/{notes['line'].pk}/",  # type: ignore[attr-defined]
            secure=True,
            **HX,
        )
        assert ran.status_code == 200
        visitor = ran.cookies["confnotes_visitor"]  # the runner's key: no session for it
        assert visitor["secure"] and visitor["httponly"] and visitor["samesite"] == "Lax"
        assert "sessionid" not in ran.cookies
        get_user_model().objects.create_user("ed", password="pw-for-tests-only", is_staff=True)
        credentials = {"username": "ed", "password": "pw-for-tests-only"}
        logged_in = client.post("/admin/login/", credentials, secure=True)
        assert logged_in.status_code == 302
        session = logged_in.cookies["sessionid"]
        assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"


def test_it_sends_browsers_asking_for_favicon_ico_to_the_sites_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"].endswith(".svg") and "/img/favicon" in response["Location"]
    page = client.get("/tags/").content.decode()
    assert f'<link rel="icon" href="{response["Location"]}" type="image/svg+xml">' in page
