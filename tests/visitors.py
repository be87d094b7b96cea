"""The runner's visitor cookie (runner.visitors) in tests: whose sandbox a client has."""

from __future__ import annotations

from django.test import Client

from runner.visitors import VISITOR_COOKIE, cookie_value, read_cookie


def visitor_of(client: Client) -> str:
    """The key the site gave this client at its first Run ("" before that)."""
    cookie = client.cookies.get(VISITOR_COOKIE)
    return read_cookie(cookie.value)[0] if cookie else ""


def as_visitor(client: Client, key: str) -> Client:
    """Make ``client`` the visitor with ``key``, as if it had pressed Run before."""
    client.cookies[VISITOR_COOKIE] = cookie_value(key)
    return client
