"""Who a visitor is to the runner: a random key, kept in a signed cookie of its own.

The key names the visitor's sandbox and marks their runs as theirs. It used to live in the
session, which gave every anonymous tinkerer a session: a session row written at their first
Run, a session query on every Run after it (bench/bench_runner.py: about a millisecond of the
runner's overhead), and day pages served off the cache's fast path (talks.cache), which only
readers without a session take. In a cookie of its own it costs a signature check instead.

The cookie is a bearer token like the session cookie: HttpOnly, Secure where sessions are, and
SameSite=Lax. Like the session's contents, it does not pass from one account to another: it
names the account it was given to, logging out forgets it, and logging in as someone else
makes a new one, so the next person at the same browser gets a sandbox of their own. A key
found in an older session is moved over.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.signing import BadSignature
from django.http import HttpRequest, HttpResponse

VISITOR_COOKIE = "confnotes_visitor"
SALT = "runner.visitors"
SESSION_KEY = "runner_visitor"  # where the key was kept before it had a cookie
_KEY = "_runner_visitor"  # request attributes: the key once read, and what to do on the way out
_SET, _FORGET = "_runner_visitor_set", "_runner_visitor_forget"
OWNER = "/"  # between the key and the account it was given to, in the cookie


def visitor_key(request: HttpRequest, *, create: bool = False) -> str:
    """The visitor's key, "" when they have none; ``create`` gives them one (it is set on the
    response by VisitorCookieMiddleware)."""
    key = getattr(request, _KEY, None)
    if key is None:
        key = _from_cookie(request) or _from_session(request)
        setattr(request, _KEY, key)
    if not key and create:
        key = secrets.token_hex(12)
        setattr(request, _KEY, key)
        setattr(request, _SET, True)
    return key


def cookie_value(key: str, account: str = "") -> str:
    """What the cookie holds for ``key``, given to the user with id ``account`` if any:
    signed and timestamped."""
    return _signer().sign(f"{key}{OWNER}{account}" if account else key)


def read_cookie(value: str) -> tuple[str, str]:
    """The key in a cookie's value and the account it was given to ("" for none); ("", "")
    when it is too old or not signed by us."""
    try:
        key, _, account = (
            _signer().unsign(value, max_age=settings.SESSION_COOKIE_AGE).partition(OWNER)
        )
    except BadSignature:  # tampered with, expired, or signed with another SECRET_KEY
        return "", ""
    return (key, account) if _well_formed(key) else ("", "")


def _signer() -> signing.TimestampSigner:
    return signing.get_cookie_signer(salt=VISITOR_COOKIE + SALT)  # as set_signed_cookie does


def _account(request: HttpRequest) -> str:
    """The id of the logged-in user, or "". Without a session cookie nobody is logged in, and
    finding that out costs no query."""
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return ""
    user = getattr(request, "user", None)
    return str(user.pk) if user is not None and user.is_authenticated else ""


def _from_cookie(request: HttpRequest) -> str:
    """The key in the request's cookie, if it is this visitor's: a key given to an account
    is only theirs while that account is logged in (someone logging in as another user, or
    using the browser after the session ended, gets a key of their own). A key given before
    logging in becomes the account's (as it stayed in the session across a login before)."""
    value = request.COOKIES.get(VISITOR_COOKIE)
    key, owner = read_cookie(value) if value else ("", "")
    if not key:
        return ""
    account = _account(request)
    if owner and owner != account:
        return ""
    if owner != account:
        setattr(request, _SET, True)  # given to the account now
    return key


def _from_session(request: HttpRequest) -> str:
    """A key from before the cookie; looked for only when there is a session to look in, so
    a visitor without one costs no query."""
    if settings.SESSION_COOKIE_NAME not in request.COOKIES or not hasattr(request, "session"):
        return ""
    key = request.session.get(SESSION_KEY, "")
    if not _well_formed(key):
        return ""
    del request.session[SESSION_KEY]
    setattr(request, _SET, True)
    return key


def _well_formed(key: object) -> bool:
    return isinstance(key, str) and len(key) == 24 and all(c in "0123456789abcdef" for c in key)


def forget_visitor(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """user_logged_out (connected in RunnerConfig.ready): the next person at this browser is
    a new visitor."""
    if request is not None:
        setattr(request, _KEY, "")
        setattr(request, _SET, False)
        setattr(request, _FORGET, True)


class VisitorCookieMiddleware:
    """Sets the cookie of a visitor given a key during the request, or removes it at logout."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(request, _FORGET, False):
            response.delete_cookie(VISITOR_COOKIE, samesite="Lax")
        elif getattr(request, _SET, False):
            response.set_cookie(
                VISITOR_COOKIE,
                cookie_value(getattr(request, _KEY), _account(request)),
                max_age=settings.SESSION_COOKIE_AGE,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response
