"""Importing for real: parse, fill in what the database already knows, save atomically."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from .. import matching
from ..documents import ConferenceDoc, DayDoc, HighlightDoc, SaveReport, TalkDoc, save_day
from ..models import Conference, Day, Highlight, Snippet, Talk
from .checks import (
    check_dates,
    check_day_addresses,
    check_single_day_options,
    match_conference_by_name,
    planned_conference_changes,
)
from .decoding import NotesInputError
from .detect import find_links
from .landing import land
from .overwrites import Overwrites, overwrites
from .parse import ImportOptions, parse_notes
from .removals import Removals, removals, stored_fingerprint
from .result import ParseResult


@dataclass
class DayStats:
    """What a day holds, counted the way the preview and the report show it."""

    talks: int = 0
    highlights: int = 0
    follow_ups: int = 0
    snippets: int = 0
    commands: int = 0
    links: int = 0

    def __str__(self) -> str:
        parts = [
            _plural(self.talks, "talk"),
            _plural(self.highlights, "highlight"),
            _plural(self.follow_ups, "follow-up"),
            _plural(self.snippets, "snippet") + f" ({_plural(self.commands, 'command')})",
            _plural(self.links, "link"),
        ]
        return ", ".join(parts)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def day_stats(doc: DayDoc) -> DayStats:
    stats = DayStats(talks=len(doc.talks))
    stack: list[HighlightDoc] = []
    for talk in doc.talks:
        stats.links += bool(talk.session_url)
        stats.snippets += len(talk.snippets)
        stats.commands += sum(len(s.lines) for s in talk.snippets)
        stack.extend(talk.highlights)
    while stack:
        highlight = stack.pop()
        stats.highlights += 1
        stats.follow_ups += highlight.kind in {"follow-up", "question", "todo"}
        stats.links += len(find_links(highlight.text))
        stats.snippets += len(highlight.snippets)
        stats.commands += sum(len(s.lines) for s in highlight.snippets)
        stack.extend(highlight.children)
    return stats


@dataclass
class ImportOutcome:
    result: ParseResult
    saved: list[tuple[Day, SaveReport]] = field(default_factory=list)
    # Each stored conference the import changes (or would, on a dry run), with what, in words.
    conference_changes: list[tuple[ConferenceDoc, list[str]]] = field(default_factory=list)

    @property
    def days(self) -> list[DayDoc]:
        return self.result.days


class MissingConference(NotesInputError):
    """No conference name: the person importing must give one."""


class RemovalNotConfirmed(NotesInputError):
    """The import would remove talks, notes or snippets, and nobody said that was wanted."""

    def __init__(self, planned: list[tuple[DayDoc, Removals]]) -> None:
        self.planned = planned
        removed = "; ".join(f"from “{doc.title}”: {found.describe()}" for doc, found in planned)
        super().__init__(
            f"Nothing was imported: this import would remove {removed}. These are in the "
            "stored day but not in the notes. Confirm that they should go, or add them to "
            "the notes."
        )


class RemovalsChanged(RemovalNotConfirmed):
    """The stored day is no longer what the editor saw in the preview (someone edited it, or
    what the import would remove is not what was confirmed): ask again, showing it as it is."""

    def __init__(self, planned: list[tuple[DayDoc, Removals]]) -> None:
        super().__init__(planned)
        removed = "; ".join(f"from “{doc.title}”: {found.describe()}" for doc, found in planned)
        if planned:
            message = (
                "Nothing was imported: the stored day changed after the preview, and this "
                f"import would now remove {removed}. Check the preview below and confirm again."
            )
        else:
            message = (
                "Nothing was imported: the stored day changed after the preview (someone "
                "edited it meanwhile), and importing would overwrite that. Check the preview "
                "below, which shows the day as it is now, and confirm again."
            )
        self.args = (message,)


def check_importable(result: ParseResult) -> None:
    """Refuse, with a message saying what to do, a parse that cannot become a day."""
    if result.refusal:
        raise NotesInputError(result.refusal)
    for day in result.days:
        if not day.conference.name:
            raise MissingConference(
                "Could not tell which conference these notes are from: give the conference "
                "name (for example “DockerCon 2016”)."
            )
    # A day with nothing but its title is kept among others (a conference's export holds the
    # days planned but not written yet); alone, it is most likely not the notes meant.
    if not any(day.talks or day.intro or day.summary for day in result.days):
        if len(result.days) > 1:
            only = f"only the titles of {len(result.days)} days."
        else:
            title = result.days[0].title if result.days else ""
            only = f"only the title “{title}”." if title else "only a title."
        raise NotesInputError(f"Found nothing to import: no talks, notes, intro or summary, {only}")


def complete_from_database(
    days: list[DayDoc], *, unstated_languages: set[int] = frozenset()
) -> None:
    """Keep what the text cannot say: the conference's description, place and dates, the
    day's date and title, the tags editors added (on talks and notes whose text is
    unchanged) and the language of each block whose text does not state one (the ``id``s in
    ``unstated_languages``). The day's other texts the file lacks are kept by ``save_day``
    (``absent``)."""
    for doc in days:
        conference = Conference.objects.filter(slug=doc.conference.slug).first()
        if conference is None:
            continue
        doc.conference.description = doc.conference.description or conference.description
        doc.conference.location = doc.conference.location or conference.location
        doc.conference.starts_on = doc.conference.starts_on or conference.starts_on
        day = Day.objects.filter(conference=conference, number=doc.number).first()
        if day is None:
            continue
        doc.date = doc.date or day.date
        if "title" in doc.absent:
            doc.title = day.title  # an untitled file keeps the day's title (see save_day)
        talks = {talk.slug: talk for talk in Talk.objects.filter(day=day).prefetch_related("tags")}
        kept = [(talks[t.slug].pk, t) for t in doc.talks if t.slug in talks]
        for _, talk_doc in kept:
            talk_doc.tags = talk_doc.tags or [tag.name for tag in talks[talk_doc.slug].tags.all()]
        # A note keeps its tags where it lands on a stored note that says the same, as saving
        # matches them (talks.matching), wherever notes were added or removed around it.
        notes = {
            note.pk: note
            for note in Highlight.objects.filter(talk__day=day).prefetch_related("tags")
        }
        stored = [
            matching.StoredNote(n.pk, n.talk_id, n.parent_id, n.position, n.text)
            for n in notes.values()
        ]
        landing = matching.notes(stored, kept)
        for _, talk_doc in kept:
            for note_doc in matching.depth_first(talk_doc.highlights):
                row = notes.get(landing.get(id(note_doc)))
                if row is not None and not note_doc.tags and note_doc.text == row.text:
                    note_doc.tags = [tag.name for tag in row.tags.all()]
        _keep_languages(day, kept, unstated_languages)


def _keep_languages(day: Day, kept: list[tuple[int, TalkDoc]], unstated: set[int]) -> None:
    """A block whose text does not say its language keeps the stored block's it lands on
    (matched as saving matches them, talks.matching), else stays ``console``."""
    blocks = [doc for _, talk in kept for _, doc in matching.blocks_of(talk) if id(doc) in unstated]
    if not blocks:
        return
    rows = list(Snippet.objects.filter(talk__day=day).prefetch_related("lines"))
    stored = [
        matching.StoredBlock(
            row.pk,
            row.talk_id,
            row.position,
            row.caption,
            tuple(x.command for x in row.lines.all()),
        )
        for row in rows
    ]
    languages = {row.pk: row.language for row in rows}
    landing = matching.blocks(stored, kept)
    for doc in blocks:
        if (pk := landing.get(id(doc))) is not None:
            doc.language = languages[pk]


def read_notes(
    text: str, *, format: str = "auto", filename: str = "", options: ImportOptions | None = None
) -> ParseResult:
    """Parse ``text``, refuse what cannot be imported, and fill in what the database knows.

    Refusals (``NotesInputError``; ``OptionsError`` when options given are involved) come
    before anything is written: an invalid slug, a day number or date given for notes that
    hold several days, a day dated before its conference starts."""
    options = options or ImportOptions()
    result = parse_notes(text, format=format, filename=filename, options=options)
    check_importable(result)
    check_single_day_options(result, options)
    match_conference_by_name(result)
    complete_from_database(result.days, unstated_languages=result.unstated_languages)
    check_dates(result, options)
    check_day_addresses(result)
    return result


def planned_removals(days: list[DayDoc]) -> list[tuple[DayDoc, Removals]]:
    """The days from which saving ``days`` would remove something, with what."""
    planned = []
    for doc in days:
        day = Day.objects.filter(conference__slug=doc.conference.slug, number=doc.number).first()
        found = removals(doc, day)
        if found:
            planned.append((doc, found))
    return planned


def planned_overwrites(days: list[DayDoc]) -> list[tuple[DayDoc, Overwrites]]:
    """The days whose stored texts saving ``days`` would replace, with which (as the admin's
    preview lists them)."""
    planned = []
    for doc in days:
        day = Day.objects.filter(conference__slug=doc.conference.slug, number=doc.number).first()
        if day is None:
            continue
        found = overwrites(doc, day, land(doc, day))
        if found:
            planned.append((doc, found))
    return planned


def save_days(
    result: ParseResult, *, confirm_removal: bool = False, seen_removals: str | None = None
) -> ImportOutcome:
    """Save the days of a parse in one transaction: all of them or nothing.

    Raises ``RemovalNotConfirmed``, having written nothing, when that would remove talks,
    notes or snippets from a stored day and ``confirm_removal`` is not given; with
    ``seen_removals`` (the ``stored_fingerprint`` of the days a preview showed),
    ``RemovalsChanged`` when the stored days changed in any way since (required when the
    import removes something).
    """
    outcome = ImportOutcome(result=result)
    _check_distinct_days(result.days)
    with transaction.atomic():
        if not confirm_removal or seen_removals is not None:  # else: remove whatever it is
            planned = planned_removals(result.days)
            if planned and not confirm_removal:
                raise RemovalNotConfirmed(planned)
            # Without removals, a confirmation that sends no digest is taken as it is.
            checked = bool(planned or seen_removals)
            if checked and stored_fingerprint(result.days) != seen_removals:
                raise RemovalsChanged(planned)
        outcome.conference_changes = planned_conference_changes(result.days)
        for doc in result.days:
            outcome.saved.append(save_day(doc))
    return outcome


def _check_distinct_days(days: list[DayDoc]) -> None:
    """Saving two documents of the same day would leave only the second (``parse_notes``
    refuses such notes; this keeps any other caller from doing it)."""
    seen: set[tuple[str, int]] = set()
    for doc in days:
        key = (doc.conference.slug, doc.number)
        if key in seen:
            raise NotesInputError(
                f"Nothing was imported: these notes hold Day {doc.number} of "
                f"“{doc.conference.name}” more than once. Give each day its own number."
            )
        seen.add(key)


def import_notes(
    text: str,
    *,
    format: str = "auto",
    filename: str = "",
    options: ImportOptions | None = None,
    dry_run: bool = False,
    confirm_removal: bool = False,
) -> ImportOutcome:
    """Parse ``text`` and save its days in one transaction: all of them or nothing.

    Raises ``NotesInputError`` when the text cannot be imported (no conference, nothing found)
    and ``RemovalNotConfirmed`` when it would remove stored notes without ``confirm_removal``.
    """
    result = read_notes(text, format=format, filename=filename, options=options)
    if dry_run:
        changes = planned_conference_changes(result.days)
        return ImportOutcome(result=result, conference_changes=changes)
    return save_days(result, confirm_removal=confirm_removal)
