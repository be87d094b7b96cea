"""Template filters for the notes pages."""

from __future__ import annotations

from django import template

from talks.markdown import web_link

register = template.Library()


@register.filter
def web_url(value: str) -> str:
    """The stored URL when it is a safe absolute http(s) link, else "" (then show no link)."""
    return web_link(value)
