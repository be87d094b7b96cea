"""Filters that turn stored swarm data (snapshots, progress) into what templates draw."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from runner.picture import Progress, SwarmView, picture_from_data, summary, swarm_view

register = template.Library()


@register.filter
def swarm_picture(data: dict[str, Any] | None) -> SwarmView | None:
    """A stored picture (a run's snapshot, a sandbox's latest) as view data."""
    if not data:
        return None
    picture, at = picture_from_data(data)
    return swarm_view(picture, at=at)


@register.filter
def swarm_progress(data: dict[str, Any] | None) -> Progress | None:
    """A run's stored progress, with its countdown worked out for now."""
    return Progress.from_data(data, now=timezone.now()) if data else None


@register.filter
def swarm_summary(data: dict[str, Any] | None) -> str:
    """One line for a stored picture: tasks per service and per node."""
    return summary(data)
