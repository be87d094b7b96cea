"""Reading the notes: home, conference, day, talk, tags."""

from __future__ import annotations

from django.db.models import Count, Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from . import cache as page_cache
from .feeds import with_feed_link
from .models import Conference, Day, Tag, Talk


@with_feed_link
def home(request: HttpRequest) -> HttpResponse:
    conferences = Conference.objects.annotate(day_count=Count("days"))
    latest_days = Day.objects.with_conference().latest_first()[:5]
    return render(
        request,
        "talks/home.html",
        {"conferences": conferences, "latest_days": latest_days},
    )


def conference(request: HttpRequest, slug: str) -> HttpResponse:
    conf = get_object_or_404(Conference, slug=slug)
    days = conf.days.annotate(talk_count=Count("talks")).order_by("number")
    return render(request, "talks/conference.html", {"conference": conf, "days": days})


def _get_day(conference_slug: str, day_slug: str) -> Day:
    return get_object_or_404(
        Day.objects.with_conference(), conference__slug=conference_slug, slug=day_slug
    )


@with_feed_link
def day(request: HttpRequest, conference_slug: str, day_slug: str) -> HttpResponse:
    """The day's notes; served from the page cache, which talks.cache keeps fresh."""
    state = page_cache.day_page_state(conference_slug, day_slug)

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
        raise Http404(f"{the_day.title} has no talk called “{talk_slug}”.")
    the_talk = talks[0]
    the_talk.day = the_day
    return render(
        request,
        "talks/talk.html",
        {"day": the_day, "conference": the_day.conference, "talk": the_talk, "talks": talks},
    )


def tag_list(request: HttpRequest) -> HttpResponse:
    tags = Tag.objects.annotate(
        talk_count=Count("talks", distinct=True),
        highlight_count=Count("highlights", distinct=True),
    ).order_by("name")
    return render(request, "talks/tag_list.html", {"tags": tags})


def tag(request: HttpRequest, slug: str) -> HttpResponse:
    the_tag = get_object_or_404(Tag, slug=slug)
    talks = the_tag.talks.select_related("day__conference").order_by("-day__date", "position")
    highlights = (
        the_tag.highlights.select_related("talk__day__conference")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
        .order_by("talk__day__date", "talk__position", "position")
    )
    return render(
        request,
        "talks/tag.html",
        {"tag": the_tag, "talks": talks, "highlights": highlights},
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """A 404 that helps: says what was not found, offers search and the way home."""
    return render(request, "404.html", {"path": request.path}, status=404)
