"""Reading the notes: home, conference, day, talk, tags."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from django.db.models import Count, F, Q
from django.db.models.functions import Lower
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.text import Truncator

from . import cache as page_cache
from .feeds import with_feed_link
from .models import Conference, Day, Highlight, Tag, Talk
from .templatetags.notes import short_day_title

# A wrong address lists what there is instead, up to this many links; beyond, it links the page
# that lists them all.
MAX_ALTERNATIVES = 12


class NotFound(Http404):
    """A 404 whose message we wrote: the 404 page shows it, with links to what there is.

    Only these messages are shown to readers; Django's own (``get_object_or_404``, the URL
    resolver) stay out of the page.
    """

    def __init__(
        self, message: str, *, others_label: str = "", others: Sequence[tuple[str, str]] = ()
    ) -> None:
        super().__init__(message)
        self.message = message
        self.others_label = others_label
        self.others = list(others)  # (link text, URL) pairs


def _asked(slug: str) -> str:
    """The slug a reader asked for, short enough to quote back."""
    return Truncator(slug).chars(60)


def _alternatives(
    items: Sequence[tuple[str, str]], *, label: str, listed_on: tuple[str, str]
) -> dict[str, object]:
    """NotFound's links: every item, or the page that lists them when there are too many."""
    if len(items) > MAX_ALTERNATIVES:
        return {"others_label": f"{label} listed on", "others": [listed_on]}
    return {"others_label": label, "others": items}


def _none_such(
    owner: tuple[str, str], noun: str, slug: str, items: Sequence[tuple[str, str]]
) -> NotFound:
    """ "<owner> has no <noun> called “<slug>”", with links to the ones it has (``items``), or to
    the owner's page when it has none yet or too many to list."""
    message = f"{owner[0]} has no {noun} called “{_asked(slug)}”"
    if not items:
        return NotFound(f"{message}, nor any other yet", others_label="see", others=[owner])
    return NotFound(message, **_alternatives(items, label=f"its {noun}s are", listed_on=owner))


def _get_conference(slug: str) -> Conference:
    try:
        return Conference.objects.get(slug=slug)
    except Conference.DoesNotExist:
        conferences = [(c.name, c.get_absolute_url()) for c in Conference.objects.all()]
        raise NotFound(
            f"There is no conference called “{_asked(slug)}”",
            **_alternatives(
                conferences,
                label="the conferences are",
                listed_on=("the home page", reverse("talks:home")),
            ),
        ) from None


@with_feed_link
def home(request: HttpRequest) -> HttpResponse:
    conferences = Conference.objects.annotate(day_count=Count("days"))
    latest_days = Day.objects.with_conference().latest_first()[:5]
    return render(
        request,
        "talks/home.html",
        {"conferences": conferences, "latest_days": latest_days},
    )


@with_feed_link(conference="slug")
def conference(request: HttpRequest, slug: str) -> HttpResponse:
    conf = _get_conference(slug)
    days = conf.days.annotate(talk_count=Count("talks")).order_by("number")
    return render(request, "talks/conference.html", {"conference": conf, "days": days})


def _get_day(conference_slug: str, day_slug: str) -> Day:
    try:
        return Day.objects.with_conference().get(conference__slug=conference_slug, slug=day_slug)
    except Day.DoesNotExist:
        pass
    conf = _get_conference(conference_slug)
    days = list(conf.days.order_by("number"))
    for day in days:
        day.conference = conf
    raise _none_such(
        (conf.name, conf.get_absolute_url()),
        "day",
        day_slug,
        [(short_day_title(day), day.get_absolute_url()) for day in days],
    )


@with_feed_link(conference="conference_slug")
def day(request: HttpRequest, conference_slug: str, day_slug: str) -> HttpResponse:
    """The day's notes; served from the page cache, which talks.cache keeps fresh."""
    try:
        state = page_cache.day_page_state(conference_slug, day_slug)
    except Http404:
        _get_day(conference_slug, day_slug)  # raises NotFound, which says what there is
        raise

    def render_page(extra_context: dict[str, str]) -> HttpResponse:
        the_day = Day.objects.with_conference().get(pk=state.day_id)
        talks = Talk.objects.filter(day=the_day).with_notes()
        for talk in talks:
            talk.day = the_day
        previous_day, next_day = the_day.neighbours()
        return render(
            request,
            "talks/day.html",
            {
                "day": the_day,
                "conference": the_day.conference,
                "talks": talks,
                "previous_day": previous_day,
                "next_day": next_day,
                **extra_context,
            },
        )

    key = page_cache.day_page_key(state, request)
    return page_cache.serve_cached(request, key=key, render=render_page)


def talk(request: HttpRequest, conference_slug: str, day_slug: str, talk_slug: str) -> HttpResponse:
    the_day = _get_day(conference_slug, day_slug)
    talks = Talk.objects.filter(day=the_day, slug=talk_slug).with_notes()
    if not talks:
        others = list(Talk.objects.filter(day=the_day).only("title", "slug", "day_id"))
        for other in others:
            other.day = the_day
        raise _none_such(
            (the_day.title, the_day.get_absolute_url()),
            "talk",
            talk_slug,
            [(other.title, other.get_absolute_url()) for other in others],
        )
    the_talk = talks[0]
    the_talk.day = the_day
    previous_talk, next_talk = _neighbours(the_talk)
    return render(
        request,
        "talks/talk.html",
        {
            "day": the_day,
            "conference": the_day.conference,
            "talk": the_talk,
            "talks": talks,
            "previous_talk": previous_talk,
            "next_talk": next_talk,
        },
    )


def _neighbours(the_talk: Talk) -> tuple[Talk | None, Talk | None]:
    """The talks before and after ``the_talk`` on its day's page, in one query whatever the
    size of the day: talks are ordered by position, then id, which no two-sided filter finds
    in one query on SQLite, so the day's titles and slugs are read and looked through."""
    day = the_talk.day
    talks = Talk.objects.filter(day=day).order_by("position", "id")
    order = list(talks.only("id", "title", "slug", "day_id"))
    index = next(i for i, talk in enumerate(order) if talk.pk == the_talk.pk)
    for talk in order[max(index - 1, 0) : index + 2]:
        talk.day = day  # their links need no query of their own
    previous_talk = order[index - 1] if index > 0 else None
    next_talk = order[index + 1] if index + 1 < len(order) else None
    return previous_talk, next_talk


def tag_list(request: HttpRequest) -> HttpResponse:
    """Tags with their counts; a tag on nothing links to an empty page, so only staff see
    those, marked unused (they may still be wanted, or be left to delete)."""
    tags = Tag.objects.annotate(
        talk_count=Count("talks", distinct=True),
        highlight_count=Count("highlights", distinct=True),
    ).order_by(Lower("name"))  # as Tag.Meta: "devops" before "Swarm Mode"
    if not request.user.is_staff:
        tags = tags.filter(Q(talk_count__gt=0) | Q(highlight_count__gt=0))
    return render(request, "talks/tag_list.html", {"tags": tags})


def _day_order(day: Day) -> tuple[object, ...]:
    """Where a day's notes stand among all the notes: by date (undated last), then by
    conference and day number."""
    return (day.date is None, day.date or datetime.date.min, day.conference.name, day.number)


def _in_document_order(highlights: list[Highlight]) -> list[Highlight]:
    """``highlights`` as they stand on their days' pages: by day, talk, then tree order (a
    parent before its children, siblings by position).

    Position counts within one level only, so each note is placed by the positions of all
    its ancestors, read in one query of the notes of the talks concerned.
    """
    if not highlights:
        return []
    talk_ids = {h.talk_id for h in highlights}
    tree = {
        pk: (parent_id, position, pk)
        for pk, parent_id, position in Highlight.objects.filter(talk_id__in=talk_ids)
        .values_list("pk", "parent_id", "position")
        .iterator()
    }

    def path(pk: int) -> list[tuple[int, int]]:
        steps: list[tuple[int, int]] = []
        seen: set[int] = set()
        while pk is not None and pk in tree and pk not in seen:
            seen.add(pk)
            parent_id, position, _ = tree[pk]
            steps.append((position, pk))
            pk = parent_id
        return steps[::-1]

    def key(h: Highlight) -> tuple[object, ...]:
        talk = h.talk
        return (_day_order(talk.day), talk.position, talk.pk, path(h.pk))

    return sorted(highlights, key=key)


def tag(request: HttpRequest, slug: str) -> HttpResponse:
    """A tag's talks and notes, both in the order of the notes (see _day_order)."""
    try:
        the_tag = Tag.objects.get(slug=slug)
    except Tag.DoesNotExist:
        raise NotFound(
            f"There is no tag called “{_asked(slug)}”",
            others_label="see",
            others=[("all tags", reverse("talks:tag_list"))],
        ) from None
    talks = the_tag.talks.select_related("day__conference").order_by(
        F("day__date").asc(nulls_last=True),
        "day__conference__name",
        "day__number",
        "position",
        "pk",
    )
    highlights = _in_document_order(
        list(the_tag.highlights.select_related("talk__day__conference"))
    )
    return render(
        request,
        "talks/tag.html",
        {"tag": the_tag, "talks": talks, "highlights": highlights},
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """A 404 that helps: says what was not found (in our own words only, see NotFound), what
    there is instead, and offers search and the way home."""
    context: dict[str, object] = {"path": request.path}
    if isinstance(exception, NotFound):
        context |= {
            "message": exception.message,
            "others_label": exception.others_label,
            "others": exception.others,
        }
    return render(request, "404.html", context, status=404)
