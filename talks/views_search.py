"""Finding things: the search page (and its htmx partial), the follow-ups pages."""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import Truncator
from django.views.decorators.http import require_POST
from django_htmx.http import push_url, replace_url

from . import followups
from .models import Conference, Day, Tag
from .search import MAX_QUERY_CHARS, MAX_WORD_CHARS, Query
from .search import search as search_notes
from .templatetags.notes import title_names_conference

PER_PAGE = 20
POPOVER_SIZE = 6
POPOVER_TARGET = "search-popover"  # the header box's results, on every page but this one
MAX_PAGE = 50
FILTERS = ("conference", "day", "tag")
RESOLVE_PERMISSION = "talks.change_highlight"


def day_label(day: Day) -> str:
    """A day named on its own, outside its conference's pages."""
    if title_names_conference(day):  # "DockerCon 2016 Highlights Day 2" says it already
        return day.title
    return f"{day.conference.name}: {day.title}"


class DayChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Day) -> str:
        return day_label(obj)


class SearchTextField(forms.CharField):
    """What a visitor typed. A NUL, which no note holds (Django's CharField refuses it, and
    the search was then dropped without a word), separates words as a space does."""

    def to_python(self, value: object) -> str:
        return super().to_python(value).replace("\x00", " ")


def _gone(what: str) -> dict[str, str]:
    return {"invalid_choice": f"There is no such {what} (any more), so all {what}s are searched."}


class SearchForm(forms.Form):
    q = SearchTextField(required=False, label="Search the notes")
    conference = forms.ModelChoiceField(
        Conference.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label="All conferences",
        error_messages=_gone("conference"),
    )
    day = DayChoiceField(
        Day.objects.with_conference().order_by("conference__name", "number"),
        required=False,
        empty_label="All days",
        error_messages=_gone("day"),
    )
    tag = forms.ModelChoiceField(
        Tag.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label="Any tag",
        error_messages=_gone("tag"),
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGE)

    def full_clean(self) -> None:
        """Validate; a filter that no longer exists is then dropped (searching all), its error
        kept as a notice (``fallbacks``): not an error on its field, which Django would mark
        ``aria-invalid`` on a select that shows a valid choice."""
        super().full_clean()
        self.fallbacks = []
        dropped = [name for name in FILTERS if name in self._errors]
        if dropped:
            self.data = self.data.copy()  # the select shows "All ...", page links leave it out
            for name in dropped:
                self.fallbacks += self._errors.pop(name)
                self.data.pop(name, None)
                self.cleaned_data[name] = None

    def page_notice(self) -> str:
        """What to say when the page asked for does not exist (page 1 is shown instead)."""
        if "page" not in self.errors:
            return ""
        asked = Truncator(self.data.get("page", "")).chars(20)
        if asked.isascii() and asked.isdigit() and int(asked) > MAX_PAGE:
            return f"There is no page {asked} (results stop at page {MAX_PAGE}); showing page 1."
        if asked.isascii() and asked.lstrip("-").isdigit():
            return f"There is no page {asked}; showing page 1."
        return f"There is no page “{asked}”; showing page 1."

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fallbacks: list[str] = []  # notices of filters dropped (see full_clean)
        for name in ("conference", "day", "tag"):  # a changed filter searches again at once
            self.fields[name].widget.attrs.update(
                {"hx-get": reverse("talks:search"), "hx-trigger": "change"}
            )


def search(request: HttpRequest) -> HttpResponse:
    """Search results; to htmx, only the results with their status and title (``#results_htmx``),
    or fewer for the header box."""
    form = SearchForm(request.GET)
    form.is_valid()  # a filter that no longer exists is dropped with a note, never an error
    data = form.cleaned_data
    popover = bool(request.htmx) and request.htmx.target == POPOVER_TARGET
    filters = {name: data.get(name) for name in ("conference", "day", "tag")}
    scope = {
        "conference_id": filters["conference"].pk if filters["conference"] else None,
        "day_id": filters["day"].pk if filters["day"] else None,
        "tag_id": filters["tag"].pk if filters["tag"] else None,
        "per_page": POPOVER_SIZE if popover else PER_PAGE,
    }
    asked = 1 if popover else data.get("page") or 1
    results = search_notes(data.get("q") or "", page=asked, **scope)
    past_the_end = asked > 1 and not results.hits and bool(results.query)
    if past_the_end:  # as for any page that does not exist: say so, show the first
        results = search_notes(results.query, page=1, **scope)
    template = "talks/search.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#results_htmx"
    notices = list(form.fallbacks)
    day, conference = filters["day"], filters["conference"]
    if day and conference and day.conference_id != conference.pk:
        notices.append(
            f"{day_label(day)} is not a day of {conference.name}, so nothing can match both: "
            f"choose all days, or one of {conference.name}."
        )
    notices += [notice] if (notice := form.page_notice()) else []
    if past_the_end:
        notices.append(f"There is no page {asked} of results for this search; showing page 1.")
    response = render(
        request,
        template,
        {
            "form": form,
            "search_text": data.get("q") or "",
            "query": results.query,
            "searched_text": _searched_text(results.query, data.get("q") or ""),
            "results": results,
            "filtered": any(filters.values()),
            "browse": _browse(filters),
            "notices": notices,
            "popover": popover,
            "status_id": f"{POPOVER_TARGET}-status" if popover else "search-status",
            "max_word_chars": MAX_WORD_CHARS,
            "first_page_query": _page_query(form, 1),
            "previous_page_query": _page_query(form, results.page - 1) if results.page > 1 else "",
            "next_page_query": (
                _page_query(form, results.page + 1)
                if results.has_next and results.page < MAX_PAGE
                else ""
            ),
        },
    )
    if request.htmx and not popover and not request.htmx.history_restore_request:
        _update_address(request, response)
    patch_vary_headers(response, ["HX-Request", "HX-Target", "HX-Current-URL"])
    return response


def _update_address(request: HttpRequest, response: HttpResponse) -> None:
    """Where the address goes after a search made with htmx on this page: typing more of the
    same words (or taking some back) replaces it, so Back leaves the search instead of
    stepping through every pause in the typing; other words, another filter or another page
    of results add an entry to the history, as a new page would."""
    here = request.get_full_path()
    before = urlsplit(request.htmx.current_url_abs_path or "")
    if before.path == request.path and _same_search(QueryDict(before.query), request.GET):
        replace_url(response, here)
    else:
        push_url(response, here)


def _same_search(before: QueryDict, now: QueryDict) -> bool:
    """Whether ``now`` is ``before`` typed further or taken back: the same filters and page,
    one's words the start of the other's (from an empty box, any words)."""
    if any(before.get(name, "") != now.get(name, "") for name in (*FILTERS, "page")):
        return False
    old, new = (" ".join(params.get("q", "").split()).casefold() for params in (before, now))
    return bool(new) and (new.startswith(old) or old.startswith(new))


def _browse(filters: dict) -> list[tuple[str, str]]:
    """Where to read what the filters chosen hold, for a search without words yet: each as
    (what, address), the narrowest first."""
    tag, day, conference = filters["tag"], filters["day"], filters["conference"]
    pages = [(f"everything tagged “{tag.name}”", tag.get_absolute_url())] if tag else []
    if day:
        pages.append((day_label(day), day.get_absolute_url()))
    elif conference:
        pages.append((conference.name, conference.get_absolute_url()))
    return pages


def _searched_text(query: Query, typed: str) -> str:
    """The search as the results name it: one cut at MAX_QUERY_CHARS ends with the last whole
    word before the cut and an ellipsis, not inside a word."""
    typed = unicodedata.normalize("NFC", typed).strip()  # as parse_query reads it
    if not query.shortened or len(typed) <= MAX_QUERY_CHARS:  # too many words: named all
        return query.text
    text = query.text
    around_cut = typed[MAX_QUERY_CHARS - 1 : MAX_QUERY_CHARS + 1]
    if not any(c.isspace() for c in around_cut) and len(text.split()) > 1:
        text = text.rsplit(maxsplit=1)[0]  # the part of a word before the cut
    return f"{text.rstrip()}…"


def _page_query(form: SearchForm, page: int) -> str:
    """The query string of another page of these results: no empty parameters, nor filters
    that no longer exist (SearchForm drops them from its data)."""
    params = QueryDict(mutable=True)
    for name in ("q", *FILTERS):
        if value := form.data.get(name, ""):
            params[name] = value
    if page > 1:
        params["page"] = str(page)
    return params.urlencode()


def follow_ups(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    """Every follow-up, question and to-do (of one conference, with ``slug``)."""
    conference = get_object_or_404(Conference, slug=slug) if slug else None
    return _follow_ups_page(request, conference=conference, state=request.GET.get("state", ""))


def _follow_ups_page(
    request: HttpRequest,
    *,
    conference: Conference | None,
    state: str,
    failed: tuple[int, followups.ResolveForm] | None = None,
    denied: str = "",
    back: str = "",
) -> HttpResponse:
    state = state if state in followups.STATES else "open"
    scope = followups.follow_ups().in_conference(conference)
    items = list(scope.in_state(state).for_listing())
    if _can_resolve(request.user):
        for item in items:
            item.resolve_form = followups.ResolveForm.for_item(item)
            if failed and failed[0] == item.pk:
                item.resolve_form = failed[1]
    conferences = Conference.objects.annotate(
        open_count=Count(
            "days__talks__highlights",
            filter=Q(
                days__talks__highlights__kind__in=followups.KINDS,
                days__talks__highlights__resolved_at__isnull=True,
            ),
        )
    ).order_by("name")
    return render(
        request,
        "talks/followups.html",
        {
            "conference": conference,
            "conferences": conferences,
            "items": items,
            "state": state,
            "states": followups.STATES,
            "counts": scope.counts(),
            "failed": failed,
            "denied": denied,
            # Tabs link here, not to "?state=": this page also answers a POST to resolve.
            "list_url": (
                reverse("talks:conference_follow_ups", args=[conference.slug])
                if conference
                else reverse("talks:follow_ups")
            ),
            "back": back or request.get_full_path(),
        },
        status=403 if denied else 400 if failed else 200,
    )


def _can_resolve(user) -> bool:
    """Editors who may change notes may answer their follow-ups (the answer is part of one)."""
    return user.is_staff and user.has_perm(RESOLVE_PERMISSION)


@require_POST
def resolve_follow_up(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff mark a follow-up resolved with a short answer and an optional link."""
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        back = reverse("talks:follow_ups")
    if not request.user.is_authenticated:
        return redirect_to_login(back)
    if not request.user.is_staff:
        raise PermissionDenied("Only editors can resolve follow-ups.")
    if not _can_resolve(request.user):
        return _follow_ups_page(
            request,
            conference=None,
            state="open",
            denied=(
                "The follow-up was not marked resolved: resolving needs permission to change "
                "notes, which your account does not have. An administrator can give it to you."
            ),
            back=back,
        )
    candidates = followups.follow_ups().select_related("talk__day__conference")
    highlight = get_object_or_404(candidates, pk=pk)
    form = followups.ResolveForm(request.POST, prefix=highlight.anchor)
    if not form.is_valid():
        in_conference = request.POST.get("scope") == "conference"
        return _follow_ups_page(
            request,
            conference=highlight.talk.day.conference if in_conference else None,
            state="resolved" if highlight.resolved_at else "open",
            failed=(highlight.pk, form),
            back=back,
        )
    changed = highlight.resolved_at is not None
    followups.resolve(
        highlight=highlight,
        answer=form.cleaned_data["resolution"],
        url=form.cleaned_data["resolution_url"],
        user_id=request.user.pk,
    )
    note = Truncator(highlight.text).chars(80)
    messages.success(
        request,
        f"Changed the answer to “{note}”. It shows with the note in {highlight.talk.day.title}."
        if changed
        else f"Resolved: “{note}”. The answer now shows with the note in "
        f"{highlight.talk.day.title}.",
    )
    return redirect(back)
