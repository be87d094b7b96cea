"""Atom feeds of days, and the ``Link: rel=alternate`` header that lets feed readers find them."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape

from .models import Conference, Day

FEED_SIZE = 30
# Characters XML 1.0 cannot carry: one typed into a title must not make the feed fail.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


class DaysFeed(Feed):
    """The latest days of notes, newest first, one entry per day with its summary; all days,
    or one conference's (``/c/<slug>/days.atom``)."""

    feed_type = Atom1Feed
    item_guid_is_permalink = False

    def get_object(self, request: HttpRequest, slug: str = "") -> Conference | None:
        return get_object_or_404(Conference, slug=slug) if slug else None

    def title(self, obj: Conference | None) -> str:
        if obj is None:
            return f"{settings.SITE_NAME}: latest days of notes"
        return xml_text(f"{obj.name}: days of notes ({settings.SITE_NAME})")

    def subtitle(self, obj: Conference | None) -> str:
        return "Conference notes, a day at a time."

    def author_name(self, obj: Conference | None) -> str:
        # Atom (RFC 4287, 4.1.1) wants an author for the feed or for every entry, and a day
        # may have none: the site speaks for those; a day's own author still names its entry.
        return xml_text(settings.SITE_NAME)

    def link(self, obj: Conference | None) -> str:
        return obj.get_absolute_url() if obj else reverse("talks:home")

    def items(self, obj: Conference | None):
        days = Day.objects.with_conference().latest_first()
        return (days.filter(conference=obj) if obj else days)[:FEED_SIZE]

    def item_title(self, item: Day) -> str:
        return xml_text(item.title)

    def item_description(self, item: Day) -> str:
        # Feed readers render this as HTML: the *_html fields are sanitised, the title is text.
        return xml_text(item.summary_html or item.intro_html or escape(item.title))

    def item_link(self, item: Day) -> str:
        return item.get_absolute_url()

    def item_guid(self, item: Day) -> str:
        return f"confnotes:day:{item.pk}"

    def item_pubdate(self, item: Day) -> dt.datetime:
        if item.date:
            return dt.datetime.combine(item.date, dt.time(), tzinfo=dt.UTC)
        return item.updated_at

    def item_updateddate(self, item: Day) -> dt.datetime:
        return item.updated_at

    def item_author_name(self, item: Day) -> str | None:
        return xml_text(item.author) or None

    def item_categories(self, item: Day) -> list[str]:
        return [xml_text(item.conference.name)]


def with_feed_link(
    view: Callable[..., HttpResponse] | None = None, /, *, conference: str = ""
) -> Callable[..., HttpResponse]:
    """Add ``Link: <feed>; rel="alternate"`` to a page's response, for feed readers: the feed of
    all days and, with ``conference`` (the name of the view's argument that holds a conference
    slug), that conference's feed first. ``@with_feed_link`` or ``@with_feed_link(conference=...)``.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            response = view(request, *args, **kwargs)
            links = []
            if conference:
                url = reverse("talks:conference_feed", args=[kwargs[conference]])
                links.append(_link(request, url, "Days of this conference"))
            links.append(_link(request, reverse("talks:feed"), "Latest days"))
            if existing := response.headers.get("Link"):
                links.insert(0, existing)
            response.headers["Link"] = ", ".join(links)
            return response

        return wrapper

    return decorator(view) if view else decorator


def _link(request: HttpRequest, url: str, title: str) -> str:
    # The title is ours and ASCII: a conference's name may not be (header values are Latin-1).
    absolute = request.build_absolute_uri(url)
    return f'<{absolute}>; rel="alternate"; type="application/atom+xml"; title="{title}"'
