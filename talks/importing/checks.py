"""What an import must hold to before anything is saved: slugs that make web addresses, dates
that fit their conference, and the words for what it changes in a stored conference.

``save_day`` writes rows in bulk, without ``full_clean``: whatever the models' fields would
refuse in a form is refused here, with a message that says where the value came from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug

from ..documents import ConferenceDoc, DayDoc
from ..models import Conference, Day, Talk
from .decoding import NotesInputError
from .result import ParseResult, ParseWarning

CONFERENCE_SLUG_LENGTH = Conference._meta.get_field("slug").max_length
TALK_SLUG_LENGTH = Talk._meta.get_field("slug").max_length
SLUG_RULE = (
    "a slug may hold only ASCII letters (a–z, A–Z), digits, hyphens (-) and underscores (_), "
    "at most {length} characters, such as “dockercon-2016”"
)


def slug_problem(value: str, *, what: str = "", length: int = CONFERENCE_SLUG_LENGTH) -> str:
    """Why ``value`` cannot be a slug of at most ``length`` characters (a web address's
    part, as ``c/<slug>/``), or "" when it can; ``what`` says where it came from."""
    rule = SLUG_RULE.format(length=length)
    shown = f"“{value}”" if len(value) <= 60 else f"“{value[:60]}…” ({len(value):,} characters)"
    subject = f"{what} ({shown})" if what else shown
    try:
        validate_slug(value)
    except ValidationError:
        return f"{subject} is not a valid slug: {rule}."
    if len(value) > length:
        return f"{subject} is too long for a slug: {rule}."
    return ""


# --- errors that name the import's options -----------------------------------------------

# What the import's options are called, in general; the command and the admin's form name
# them their own way (--day, “Day number”).
OPTION_WORDS = {
    "conference": "the conference name",
    "conference_slug": "the conference slug",
    "starts_on": "the conference's start date",
    "day": "the day number",
    "date": "the day's date",
}


class OptionsError(NotesInputError):
    """The notes cannot be imported with the options given, or need one that was not given.

    ``options`` names them (as ``ImportOptions`` does); ``describe`` words the message with
    the names the person importing sees (``--day``, or a form field's label)."""

    def __init__(self, render: str | Callable[[dict[str, str]], str], *, options=()) -> None:
        self._render = render if callable(render) else (lambda words: render)
        self.options = options
        super().__init__(self._render(OPTION_WORDS))

    def describe(self, words: dict[str, str]) -> str:
        return self._render({**OPTION_WORDS, **words})


def _joined(items: list[str]) -> str:
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)


def check_single_day_options(result: ParseResult, options) -> None:
    """A day number or date given for the import applies to one day: refuse it for notes that
    hold several (it used to be ignored, each day keeping its own)."""
    given = tuple(name for name in ("day", "date") if getattr(options, name) is not None)
    if len(result.days) < 2 or not given:
        return
    numbers = _joined([str(day.number) for day in result.days])
    count = len(result.days)

    def render(words: dict[str, str]) -> str:
        named = _joined([words[name] for name in given])
        return (
            f"These notes hold {count} days (Days {numbers}), but {named} "
            f"{'were' if len(given) > 1 else 'was'} given for the import: "
            f"{'these apply' if len(given) > 1 else 'that applies'} to a single day. Nothing "
            "was imported. Leave "
            f"{'them' if len(given) > 1 else 'it'} out, so that each day takes its number and "
            "date from its own title (such as “# DockerCon 2016 Day 2 {date=2016-06-21}”), or "
            "import the days one at a time."
        )

    raise OptionsError(render, options=given)


def match_conference_by_name(result: ParseResult) -> None:
    """Notes that do not give the conference's slug belong to the stored conference of that
    name, whatever its slug (an editor may have given it a shorter one): without this, they
    would start a second conference of the same name. Several of that name: ask which.

    Names are compared ignoring case, and a name that differs from the stored one only in
    case (“dockercon 2016” in a pasted title) is not a new name: the stored one is kept."""
    if not result.days:
        return
    conference = result.days[0].conference
    stored = Conference.objects.filter(slug=conference.slug).values_list("name", flat=True)
    stored_name = stored.first()
    if stored_name is None and conference.name and not result.conference_slug_given:
        found = list(
            Conference.objects.filter(name__iexact=conference.name)
            .order_by("slug")
            .values_list("slug", "name")[:10]
        )
        if len(found) > 1:
            listed = _joined([f"“{slug}”" for slug, _ in found])

            def render(words: dict[str, str]) -> str:
                return (
                    f"Several stored conferences are called “{conference.name}” (slugs "
                    f"{listed}), so nothing was imported: say which one by giving "
                    f"{words['conference_slug']}, or write it in the notes' front matter "
                    "(“conference-slug: …”)."
                )

            raise OptionsError(render, options=("conference_slug",))
        if found:
            ((slug, stored_name),) = found
            for day in result.days:
                day.conference.slug = slug
    if stored_name and stored_name.casefold() == conference.name.casefold():
        for day in result.days:
            day.conference.name = stored_name


# --- dates -------------------------------------------------------------------------------


def check_dates(result: ParseResult, options) -> None:
    """Refuse an import that would date a day before its conference starts, or move the start
    of a conference after one of its stored days; warn when the stored day already is (so
    that export → import still works for such a day). One query per conference."""
    by_slug: dict[str, list[DayDoc]] = {}
    for doc in result.days:
        by_slug.setdefault(doc.conference.slug, []).append(doc)
    for slug, docs in by_slug.items():
        conference = docs[0].conference
        start = conference.starts_on
        if start is None:
            continue
        stored = {
            number: (day_start, date, title)
            for number, day_start, date, title in Day.objects.filter(
                conference__slug=slug
            ).values_list("number", "conference__starts_on", "date", "title")
        }
        stored_start = next(iter(stored.values()))[0] if stored else None
        start_changes = stored_start != start
        for doc in docs:
            if doc.date is None or doc.date >= start:
                continue
            as_stored = doc.number in stored and stored[doc.number][1] == doc.date
            message = (
                f"Day {doc.number} (“{doc.title}”) is dated {doc.date.isoformat()}, before its "
                f"conference “{conference.name}” starts ({start.isoformat()})"
            )
            if as_stored and not start_changes:
                result.warnings.append(ParseWarning(0, message + "; it was left so."))
                continue
            raise OptionsError(
                f"{message}. Nothing was imported: correct the day's date or the "
                "conference's start date.",
                options=_given(options, "date", "starts_on"),
            )
        if not start_changes:
            continue
        imported = {doc.number for doc in docs}
        earlier = sorted(
            (date, number, title)
            for number, (_, date, title) in stored.items()
            if number not in imported and date is not None and date < start
        )
        if earlier:
            date, number, title = earlier[0]
            raise OptionsError(
                f"The conference “{conference.name}” would start on {start.isoformat()}, "
                f"after its stored Day {number} (“{title}”, dated {date.isoformat()}). "
                "Nothing was imported: correct the conference's start date, or the date "
                "of that day first.",
                options=_given(options, "starts_on"),
            )


def check_day_addresses(result: ParseResult) -> None:
    """A new day's web address is ``day-<number>`` (``Day.save``): refuse, before the database
    does, notes whose new day would take the address another day of the conference was given
    in the admin. One query per conference."""
    by_slug: dict[str, list[DayDoc]] = {}
    for doc in result.days:
        by_slug.setdefault(doc.conference.slug, []).append(doc)
    for slug, docs in by_slug.items():
        stored = list(
            Day.objects.filter(conference__slug=slug).values_list("number", "slug", "title")
        )
        numbers = {number for number, _, _ in stored}
        taken = {day_slug: (number, title) for number, day_slug, title in stored}
        for doc in docs:
            address = f"day-{doc.number}"
            if doc.number in numbers or address not in taken:
                continue
            number, title = taken[address]
            raise NotesInputError(
                f"Day {doc.number} would be a new day at the address “{address}”, which the "
                f"conference's Day {number} (“{title}”) already has. Nothing was imported: "
                f"give Day {number} another slug in the admin first, or import these notes "
                f"as Day {number} if that is the day they are about."
            )


def _given(options, *names: str) -> tuple[str, ...]:
    return tuple(name for name in names if getattr(options, name, None) is not None)


# --- what an import changes in a stored conference ----------------------------------------

# A stored conference's fields an import may change, in the words people use.
CONFERENCE_FIELDS = {
    "name": "name",
    "location": "place",
    "starts_on": "start date",
    "description": "description",
}


def _shown(value) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    return f"“{value}”"


def conference_changes(doc: ConferenceDoc, stored: Conference | None) -> list[str]:
    """What importing ``doc`` would change in the stored conference, in words, with the
    values (“start date from 2016-06-19 to 2020-01-01”). Blanks in the notes are filled from
    the stored conference beforehand (``complete_from_database``), so they change nothing."""
    if stored is None:
        return []
    changes = []
    for name, words in CONFERENCE_FIELDS.items():
        old, new = getattr(stored, name), getattr(doc, name)
        if old == new:
            continue
        if name == "description":
            changes.append(words)
        elif old in (None, ""):
            changes.append(f"{words} set to {_shown(new)}")
        elif new in (None, ""):
            changes.append(f"{words} cleared (was {_shown(old)})")
        else:
            changes.append(f"{words} from {_shown(old)} to {_shown(new)}")
    return changes


def planned_conference_changes(days: list[DayDoc]) -> list[tuple[ConferenceDoc, list[str]]]:
    """Each stored conference the import changes, once, with what changes (in words)."""
    planned, seen = [], set()
    for doc in days:
        if doc.conference.slug in seen:
            continue
        seen.add(doc.conference.slug)
        stored = Conference.objects.filter(slug=doc.conference.slug).first()
        if changes := conference_changes(doc.conference, stored):
            planned.append((doc.conference, changes))
    return planned
