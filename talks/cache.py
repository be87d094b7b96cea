"""The day page, rendered once and served many times, and never stale after an edit.

A day page is the same for every reader but for a few parts, each of which is either in the
cache key or filled in on the way out:

- the notes: ``NotesVersion.token``, replaced in the same transaction as any save or delete of a
  conference, day, talk, highlight, snippet, line or tag, or a change of a talk's or a
  highlight's tags; and the day's own ``updated_at``;
- the runner's last outputs: the count, latest id, latest start and latest finish of the runs of
  the day's lines (a new run, a run starting or finishing, a deleted run all change it);
- whether Run is offered: the runner's latest status row (its heartbeat time included), the
  runner settings, and who asks (anonymous, or the user's id and staff flags);
- the CSRF token: the day page holds none. Its htmx requests send the CSRF cookie's value
  (static/js/site.js), its buttons without JavaScript open a confirmation page that holds one
  (runner.views.confirm), and a reader without the cookie gets a new one with the page. A
  cached page with a ``{% csrf_token %}`` in it still works (rendered as a placeholder and
  filled in per response by ``serve_cached``) but skips the middleware's fast path.

Where things live, and why:

- The version every gunicorn worker must agree on is in the database. An edit and its new token
  become visible together at commit, so no reader can pair the new token with old content; a
  rolled back edit rolls its token back; and reading it costs no query of its own: it is a
  subquery of the one query that loads the day. A cached hit is that query, plus the session's
  for visitors who have one.
- The rendered pages stay in each worker's memory: the default cache (LocMemCache) for the
  view, a plain dictionary for the middleware below. Only the key must be shared, not the pages;
  a local hit is a lookup, where a file or database cache would read the whole page from disk
  or the database on every hit.
- Entries also expire after ``PAGE_SECONDS``: a page shows relative times ("2 minutes ago") and
  the runner's heartbeat goes stale with time, and neither is an edit.

Two things make a hit cheap enough to come near a static file (bench/bench_pages.py):
DayPageCacheMiddleware answers readers without a session ahead of the rest of the middleware,
and on SQLite the state query is skipped while ``PRAGMA data_version`` says nothing was
committed since this thread last ran it.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import DisallowedHost
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import (
    CSRF_ALLOWED_CHARS,
    CSRF_SECRET_LENGTH,
    CsrfViewMiddleware,
)
from django.urls import get_script_prefix, reverse
from django.urls.converters import SlugConverter

from .models import Conference, Day, Highlight, NotesVersion, Snippet, SnippetLine, Tag, Talk

PAGE_SECONDS = 30
NOTES_MODELS = (Conference, Day, Talk, Highlight, Snippet, SnippetLine, Tag)
# As long as a real token (64 characters), so a cached page has the length it is served with;
# random per process, as the pages it stands in are (LocMemCache).
CSRF_PLACEHOLDER = ("csrfplaceholder" + secrets.token_hex(32))[:64]
_PLACEHOLDER_BYTES = CSRF_PLACEHOLDER.encode()


_ALPHABET = CSRF_ALLOWED_CHARS  # the 62 characters of Django's CSRF secrets and masks
_INDEX = {char: index for index, char in enumerate(_ALPHABET)}
_UNBIASED = 256 - 256 % len(_ALPHABET)  # bytes below this map onto the alphabet evenly


def _random_string(length: int) -> str:
    """``length`` characters of _ALPHABET from the OS's CSPRNG, as get_random_string gives,
    from one read of random bytes instead of one per character."""
    chars: list[str] = []
    while len(chars) < length:
        randoms = secrets.token_bytes(length + 8)
        chars += [_ALPHABET[b % len(_ALPHABET)] for b in randoms if b < _UNBIASED]
    return "".join(chars[:length])


def ensure_csrf_cookie(request: HttpRequest) -> None:
    """Give a reader without a CSRF cookie a new one with this response (as get_token would,
    without making a token): the page's htmx requests send its value back as their token."""
    if request.META.get("CSRF_COOKIE") is None:
        request.META["CSRF_COOKIE"] = _random_string(CSRF_SECRET_LENGTH)
        request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True


def csrf_token(request: HttpRequest) -> str:
    """django.middleware.csrf.get_token, made cheap enough for every cached page.

    The same secret in the same cookie (new for a first visit) and the same masked token
    format, which CsrfViewMiddleware checks as its own; only the randomness is drawn in one
    read (get_token draws 64 characters one by one, which cost more than the rest of serving
    a cached page to a first visitor).
    """
    secret = request.META.get("CSRF_COOKIE")
    if secret is None:
        secret = _random_string(CSRF_SECRET_LENGTH)
        request.META["CSRF_COOKIE"] = secret
    request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True  # send (or renew) the cookie
    mask = _random_string(CSRF_SECRET_LENGTH)
    pairs = zip(secret, mask, strict=True)
    cipher = "".join(_ALPHABET[(_INDEX[s] + _INDEX[m]) % len(_ALPHABET)] for s, m in pairs)
    return mask + cipher


def bump_notes_version(*, using: str = DEFAULT_DB_ALIAS) -> None:
    """Give the notes a new version token; call it inside the edit's own transaction."""
    token = secrets.token_hex(8)
    connection = connections[using]
    table = connection.ops.quote_name(NotesVersion._meta.db_table)
    with connection.cursor() as cursor:  # plain SQL: this runs on every save of an import
        cursor.execute(f"UPDATE {table} SET token = %s WHERE id = 1", [token])  # noqa: S608
        if cursor.rowcount:
            return
    versions = NotesVersion.objects.using(using)
    _, created = versions.get_or_create(pk=1, defaults={"token": token})
    if not created:  # a concurrent edit created the row first: make this edit count as well
        versions.filter(pk=1).update(token=token)


def _note_changed(sender: type, using: str, **kwargs: Any) -> None:
    bump_notes_version(using=using)


def _tags_changed(sender: type, action: str, using: str, **kwargs: Any) -> None:
    if action in {"post_add", "post_remove", "post_clear"}:
        bump_notes_version(using=using)


def connect() -> None:
    """Called from TalksConfig.ready(). Writes that send no signals (``QuerySet.update``,
    ``bulk_create``, raw SQL) must call ``bump_notes_version`` themselves."""
    for model in NOTES_MODELS:
        name = model.__name__
        post_save.connect(_note_changed, sender=model, dispatch_uid=f"page-cache-save-{name}")
        post_delete.connect(_note_changed, sender=model, dispatch_uid=f"page-cache-del-{name}")
    for through in (Talk.tags.through, Highlight.tags.through):
        m2m_changed.connect(
            _tags_changed, sender=through, dispatch_uid=f"page-cache-tags-{through.__name__}"
        )


@dataclass(frozen=True)
class DayPageState:
    """Which day a page URL shows, and what its cached page depends on besides the request."""

    day_id: int
    versions: tuple[Any, ...]


@functools.cache
def _state_sql(alias: str) -> str:
    """The one query behind every day page request, written once per database.

    Plain SQL, not the ORM: compiling the equivalent queryset (nine subqueries) cost more than
    serving the whole page from the cache. The runner's tables are read by name through the
    app registry, as talks does not import the runner (DESIGN.md).
    """
    quote = connections[alias].ops.quote_name

    def table(model: type[Model]) -> str:
        return quote(model._meta.db_table)

    def col(model: type[Model], field: str) -> str:
        return quote(model._meta.get_field(field).column)

    def joined(parts: list[str]) -> str:  # NULL-safe: one NULL must not blank the whole value
        return " || '/' || ".join(f"COALESCE(CAST({part} AS TEXT), '')" for part in parts)

    # Only names from the models' metadata are interpolated; the slugs are parameters.
    columns = [
        f"(SELECT {col(NotesVersion, 'token')} FROM {table(NotesVersion)} "  # noqa: S608
        f"WHERE {col(NotesVersion, 'id')} = 1)"
    ]
    if apps.is_installed("runner"):
        run = apps.get_model("runner", "Run")
        status = apps.get_model("runner", "RunnerStatus")
        line_id, snippet_id, talk_id = (col(m, "id") for m in (SnippetLine, Snippet, Talk))
        runs_of_day = (
            f"FROM {table(run)} r "
            f"JOIN {table(SnippetLine)} l ON l.{line_id} = r.{col(run, 'snippet_line')} "
            f"JOIN {table(Snippet)} s ON s.{snippet_id} = l.{col(SnippetLine, 'snippet')} "
            f"JOIN {table(Talk)} t ON t.{talk_id} = s.{col(Snippet, 'talk')} "
            f"WHERE t.{col(Talk, 'day')} = d.{col(Day, 'id')}"
        )
        run_parts = ["COUNT(*)"] + [
            f"MAX(r.{col(run, name)})" for name in ("id", "started_at", "finished_at")
        ]
        columns.append(f"(SELECT {joined(run_parts)} {runs_of_day})")
        status_parts = [
            col(status, name) for name in ("id", "available", "checked_at", "mode", "explanation")
        ]
        columns.append(
            f"(SELECT {joined(status_parts)} FROM {table(status)} "  # noqa: S608
            f"ORDER BY {col(status, 'checked_at')} DESC LIMIT 1)"
        )
    return (
        f"SELECT d.{col(Day, 'id')}, d.{col(Day, 'updated_at')}, {', '.join(columns)} "  # noqa: S608
        f"FROM {table(Day)} d "
        f"JOIN {table(Conference)} c ON c.{col(Conference, 'id')} = d.{col(Day, 'conference')} "
        f"WHERE c.{col(Conference, 'slug')} = %s AND d.{col(Day, 'slug')} = %s"
    )


class _SeenBySQLite(threading.local):
    """What this thread's SQLite connection last saw, and the day states read since then."""

    def __init__(self) -> None:
        self.fingerprint: tuple[Any, ...] | None = None
        self.states: dict[tuple[str, str], DayPageState] = {}


_seen = _SeenBySQLite()


def _unchanged_since_last_time(connection: Any, cursor: Any) -> bool:
    """Has nothing been committed to this SQLite database since this thread last looked?

    ``PRAGMA data_version`` changes when another connection commits, ``total_changes`` when
    this one writes: with neither changed, no query can answer differently, so the states read
    last time still hold. Not inside a transaction, whose snapshot may be older than what
    data_version says; never on other databases (they always run the state query).
    """
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return False
    cursor.execute("PRAGMA data_version")
    raw = connection.connection  # kept in the fingerprint, so its id cannot be reused
    fingerprint = (raw, cursor.fetchone()[0], raw.total_changes)
    if fingerprint == _seen.fingerprint:
        return True
    _seen.fingerprint, _seen.states = fingerprint, {}
    return False


def day_page_state(conference_slug: str, day_slug: str) -> DayPageState:
    """The day at this address and its versions, in one query; Http404 if there is none.

    On SQLite the query is a cheap ``PRAGMA data_version`` whenever nothing was committed
    since this thread last asked (see _unchanged_since_last_time).
    """
    connection = connections[Day.objects.db]
    slugs = (conference_slug, day_slug)
    with connection.cursor() as cursor:
        if _unchanged_since_last_time(connection, cursor) and slugs in _seen.states:
            return _seen.states[slugs]
        cursor.execute(_state_sql(connection.alias), list(slugs))
        row = cursor.fetchone()
    if row is None:
        raise Http404("No Day matches the given query.")
    state = DayPageState(day_id=row[0], versions=tuple(row[1:]))
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        _seen.states[slugs] = state
    return state


def _key(state: DayPageState, viewer: tuple[Any, ...], *extra: Any) -> str:
    settings_used = (settings.SITE_NAME, settings.RUNNER_MODE, settings.RUNNER_ANONYMOUS)
    return f"talks:day-page:{state.day_id}:{_digest((state, viewer, extra, settings_used))}"


@functools.lru_cache(maxsize=1024)
def _digest(parts: tuple[Any, ...]) -> str:
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


def day_page_key(state: DayPageState, request: HttpRequest) -> str:
    """The cache key of a day's page (its body) for this request."""
    user = request.user
    if user.is_authenticated:
        return _key(state, ("user", user.pk, user.is_staff, user.is_superuser))
    return _key(state, ("anonymous",))


def serve_cached(
    request: HttpRequest, *, key: str, render: Callable[[dict[str, str]], HttpResponse]
) -> HttpResponse:
    """The page cached under ``key``, with this request's CSRF token in it.

    On a miss ``render(extra_context)`` renders it; ``extra_context`` puts a placeholder where
    the CSRF token goes (``{{ csrf_token }}``, ``{% csrf_token %}``). The response carries the
    body with the placeholder as ``page_cache_body``, for DayPageCacheMiddleware.
    """
    body = cache.get(key)
    if body is None:
        response = render({"csrf_token": CSRF_PLACEHOLDER})
        if response.status_code != 200:
            return response
        body = response.content
        cache.set(key, body, PAGE_SECONDS)
    if _PLACEHOLDER_BYTES in body:
        token = csrf_token(request)  # also sends the CSRF cookie, as rendering the token would
        response = HttpResponse(body.replace(_PLACEHOLDER_BYTES, token.encode()))
    else:  # the day page: the same bytes for everyone
        ensure_csrf_cookie(request)
        response = HttpResponse(body)
    response.page_cache_body = body
    return response


@functools.cache
def _day_path(script_prefix: str) -> re.Pattern[str]:
    """The day page's URL pattern, as the URLconf has it (with the site's script prefix)."""
    sample = reverse("talks:day", args=["CONFERENCESLUG", "DAYSLUG"])
    pattern = re.escape(sample)
    pattern = pattern.replace("CONFERENCESLUG", f"({SlugConverter.regex})")
    return re.compile(pattern.replace("DAYSLUG", f"({SlugConverter.regex})") + r"\Z")


Entry = tuple[float, bytes, list[tuple[str, str]]]  # expiry, page, headers


class _RecentPages:
    """The pages DayPageCacheMiddleware serves, in this process's memory, up to ``budget`` bytes.

    A dictionary rather than the cache framework: a hit is then one lookup, not a lock and an
    unpickling of the whole page, which counts at the speed this path runs at.
    """

    def __init__(self, budget: int = 64 * 1024 * 1024) -> None:
        self.budget = budget
        self.pages: dict[str, Entry] = {}
        self.used = 0
        self.lock = threading.Lock()

    def get(self, key: str) -> Entry | None:
        return self.pages.get(key)

    def put(self, key: str, entry: Entry) -> None:
        size = len(entry[1])
        with self.lock:
            if key in self.pages:
                self.used -= len(self.pages.pop(key)[1])
            while self.pages and self.used + size > self.budget:  # the oldest go first
                self.used -= len(self.pages.pop(next(iter(self.pages)))[1])
            self.pages[key] = entry
            self.used += size


_recent_pages = _RecentPages()


class DayPageCacheMiddleware:
    """Serves cached day pages to anonymous readers ahead of the rest of the middleware.

    Goes right after WhiteNoiseMiddleware. A reader without a session cookie is anonymous
    whatever the session and auth middleware would find, so their page depends on nothing but
    the state query: on a hit, sessions, auth, messages, URL resolving and the view are skipped,
    as whitenoise skips them for a static file, and the page costs one query. That is what
    brings a day page within reach of a static file's speed (bench/bench_pages.py). A miss goes
    through the whole stack as usual and stores the page with the headers the skipped middleware
    added (CSP, X-Frame-Options, Vary, Link); the CSRF middleware still reads and sets the CSRF
    cookie. Readers with a session (editors, visitors who ran a command) go the usual way, and
    the view's own cache (``serve_cached``) serves them.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.csrf = CsrfViewMiddleware(get_response)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.method != "GET"
            or settings.SESSION_COOKIE_NAME in request.COOKIES
            or settings.CSRF_USE_SESSIONS  # the CSRF secret would be in the session
        ):
            return self.get_response(request)
        match = _day_path(get_script_prefix()).match(request.path)
        if match is None:
            return self.get_response(request)
        try:
            state = day_page_state(*match.groups())
            # The Link header (talks.feeds) names this host and scheme.
            key = _key(state, ("anonymous",), "fast", request.scheme, request.get_host())
        except (Http404, DisallowedHost):
            return self.get_response(request)  # the usual 404 or 400
        entry = _recent_pages.get(key)
        if entry is None or entry[0] < time.monotonic():
            response = self.get_response(request)
            body = getattr(response, "page_cache_body", None)
            # A page with a CSRF token in it differs per reader: the view's cache serves it.
            if body is not None and response.status_code == 200 and _PLACEHOLDER_BYTES not in body:
                headers = [
                    (name, value)
                    for name, value in response.items()
                    if name.lower() not in {"set-cookie", "content-length"}
                ]
                _recent_pages.put(key, (time.monotonic() + PAGE_SECONDS, body, headers))
            return response
        _, body, headers = entry
        self.csrf.process_request(request)  # reads the reader's CSRF cookie, if they have one
        ensure_csrf_cookie(request)
        response = HttpResponse(body)
        response["Content-Length"] = str(len(body))
        for name, value in headers:
            response[name] = value
        return self.csrf.process_response(request, response)
