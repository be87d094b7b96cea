"""Typed readers of environment variables for notes_site.settings.

Each returns the default when the variable is unset or empty, and otherwise refuses a value it
cannot use with ImproperlyConfigured, naming the variable, the value and what is allowed: a
setting that would only fail later (a 400 on every request, a broken connection) fails here.
"""

from __future__ import annotations

import os
import zoneinfo
from collections.abc import Sequence
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured


def _value(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None or value.strip() == "" else value


def envstr(name: str, default: str) -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    value = _value(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def envint(
    name: str, default: int, *, minimum: int, maximum: int | None = None, unit: str = ""
) -> int:
    """A whole number from `minimum` (to `maximum`); anything else is refused, naming the range."""
    value = _value(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or number < minimum or (maximum is not None and number > maximum):
        allowed = "a whole number" + (f" of {unit}" if unit else "")
        allowed += (
            f" from {minimum} to {maximum}" if maximum is not None else f", {minimum} or more"
        )
        raise ImproperlyConfigured(f"{name} must be {allowed}, not {value!r}.")
    return number


def envchoice(name: str, default: str, choices: Sequence[str]) -> str:
    """One of `choices` (upper case), given in any case."""
    value = _value(name)
    if value is None:
        return default
    if (chosen := value.strip().upper()) in choices:
        return chosen
    raise ImproperlyConfigured(
        f"{name} must be {', '.join(choices[:-1])} or {choices[-1]} (any case), not {value!r}."
    )


def envzone(name: str, default: str) -> str:
    """A time zone of the tz database, such as Europe/Paris."""
    value = _value(name)
    if value is None:
        return default
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(
            f"{name} must be a time zone name such as UTC or Europe/Paris, not {value!r}."
        ) from None
    return value


def envlist(name: str, default: list[str]) -> list[str]:
    """Comma-separated: spaces around the commas are fine, a space inside an entry is not."""
    value = os.environ.get(name)
    if value is None:
        return default
    items = [item.strip() for item in value.split(",") if item.strip()]
    for item in items:
        if any(char.isspace() for char in item):
            raise ImproperlyConfigured(
                f"Separate the entries of {name} with commas: {item!r} holds a space."
            )
    return items


def envhosts(name: str, default: list[str]) -> list[str]:
    """Host names, as ALLOWED_HOSTS wants them. Django compares them with the request's host
    without its port: an entry with a scheme, a path or a port matches no request, and every
    request would get a bare 400."""
    hosts = envlist(name, default)
    for host in hosts:
        if "/" in host or (":" in host and not (host.startswith("[") and host.endswith("]"))):
            raise ImproperlyConfigured(
                f"{name} holds host names such as notes.example.com (IPv6 in brackets), without"
                f" a scheme, path or port, not {host!r}."
            )
    return hosts


def envorigins(name: str) -> list[str]:
    """Origins, as CSRF_TRUSTED_ORIGINS wants them. Django's own check sees only a missing
    scheme (and gunicorn runs no checks): with a path or a trailing slash, an entry matches no
    Origin header and form posts from there fail their CSRF check."""
    origins = envlist(name, [])
    for origin in origins:
        if not _is_origin(origin):
            raise ImproperlyConfigured(
                f"{name} holds origins, scheme://host[:port] with nothing after, such as"
                f" https://notes.example.com, not {origin!r}."
            )
    return origins


def _is_origin(value: str) -> bool:
    """scheme://host[:port] and nothing else, as a browser's Origin header has it."""
    try:
        parts = urlsplit(value)
        port = parts.port  # ValueError when not a number from 0 to 65535
    except ValueError:
        return False
    exact = value == f"{parts.scheme}://{parts.netloc}"
    return exact and parts.scheme in {"http", "https"} and bool(parts.hostname) and port != 0
