"""Which stored texts importing a day would replace with the file's, found before anything is
written, for the preview to list beside what the import would remove.

A re-import makes the day what the file holds: a note that lands on a stored one
(``talks.matching``) takes the file's text, kind and style, and so do the talks' titles, the
day's texts (those the file holds), the blocks' captions and each command line. A typo an
editor fixed in the admin is such a text: the preview lists each one (the first
``MAX_SHOWN`` of the day), grouped by talk, as a short "before → after" around the words that
change, and marks those edited in the admin after the day was last imported there (the admin's
history, ``LogEntry``: one query).
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils.text import capfirst

from .. import matching
from ..documents import DayDoc, HighlightDoc
from ..models import Day, Highlight, Snippet, Talk
from .landing import Landing

# The admin's log entry of each import (talks.admin_import): what "since the last import" counts
# from. Imports by the command leave none.
IMPORT_LOG_PREFIX = "Imported from "

MAX_SHOWN = 20  # changes listed per day; the rest are counted
CONTEXT = 4  # unchanged words shown either side of a change
CHANGED_WORDS = 20  # of a longer changed run, the first shown
SIDE_CHARACTERS = 240  # of each side, about this much is shown once a change is
LONG_WORD = 60  # a longer word (a link) is cut, around where it changes
MIDDLE_WORDS = 400  # texts that differ over more than this are not diffed word by word

_DAY_LABELS = {
    "title": "Title",
    "intro": "Intro",
    "summary": "Summary",
    "author": "Sign-off",
    "next_day_title": "Next day’s title",
}


@dataclass(frozen=True)
class Part:
    """A run of words of one side; ``changed``: words the other side does not have there."""

    text: str
    changed: bool = False


@dataclass(frozen=True)
class AdminEdit:
    """A change saved in the admin (its history): when, by whom."""

    when: dt.datetime
    who: str


@dataclass
class FieldChange:
    """One text of a stored row the import replaces: before → after."""

    name: str  # "" for the row's text; else which: "kind", "style", "answer"
    before: list[Part]  # the stored text, shortened around the change
    after: list[Part]  # the file's
    spacing_only: bool = False  # the words are the same: only spaces or line breaks differ


@dataclass
class Overwrite:
    """A stored note, title, day text, caption or command line the import rewrites."""

    label: str  # what it is: "Note #24", "Talk title", "Intro", "Command line #7"
    admin_url: str  # its change page
    changes: list[FieldChange]
    edited: AdminEdit | None = None  # last edited in the admin after the day's last import


@dataclass
class OverwriteGroup:
    heading: str  # the stored talk's title, or "The day"
    items: list[Overwrite]


@dataclass
class Overwrites:
    """The stored texts an import would replace in one day (the first ``MAX_SHOWN``)."""

    groups: list[OverwriteGroup] = field(default_factory=list)
    count: int = 0  # in all, shown or not
    edited: int = 0  # of them all, those edited in the admin after the day's last import
    imported_before: bool = False  # whether the admin's history holds an import of the day

    @property
    def shown(self) -> int:
        return sum(len(group.items) for group in self.groups)

    @property
    def hidden(self) -> int:
        return self.count - self.shown

    def __bool__(self) -> bool:
        return bool(self.count)


# --- the changes ---------------------------------------------------------------------------


@dataclass
class _Change:
    group: str
    label: str
    page: tuple[str, int]  # model and pk of its change page
    marks: tuple[tuple, ...]  # what in the admin's history is an edit of it (see _History)
    fields: list[tuple[str, str, str, bool]]  # name, stored, the file's, whether words


def overwrites(doc: DayDoc, day: Day | None, landing: Landing | None) -> Overwrites:
    """The stored texts of ``day`` that saving ``doc`` would replace (nothing for a new day);
    ``landing`` is ``land(doc, day)``. One query (the admin's history), and none when
    nothing would be replaced."""
    if day is None or landing is None:
        return Overwrites()
    changes = [*_day_changes(doc, day), *_talk_changes(landing, day.pk)]
    found = Overwrites(count=len(changes))
    if not changes:
        return found
    history = _History.of(day)
    found.imported_before = history.imported
    groups: dict[str, OverwriteGroup] = {}
    for index, change in enumerate(changes):
        edited = history.edit(change.marks)
        found.edited += edited is not None
        if index >= MAX_SHOWN:
            continue  # counted, not shown: nor diffed
        model, pk = change.page
        item = Overwrite(
            label=change.label,
            admin_url=reverse(f"admin:talks_{model}_change", args=[pk]),
            changes=[_field(*fields) for fields in change.fields],
            edited=edited,
        )
        groups.setdefault(change.group, OverwriteGroup(change.group, [])).items.append(item)
    found.groups = list(groups.values())
    return found


def _field(name: str, old: str, new: str, words: bool) -> FieldChange:
    if not words:  # a choice (a note's kind or style): both whole
        return FieldChange(name, [Part(old, True)], [Part(new, True)])
    before, after = before_after(old, new)
    return FieldChange(name, before, after, spacing_only=old.split() == new.split())


def _field_label(name: str) -> str:
    """The label the admin's history names a day's field by (its form field's)."""
    return capfirst(Day._meta.get_field(name).verbose_name)


def _day_changes(doc: DayDoc, day: Day) -> list[_Change]:
    """The day's texts the file holds and says otherwise (an empty one is filled, not lost)."""
    changes = []
    for name, label in _DAY_LABELS.items():
        names = ("author", "author_title") if name == "author" else (name,)
        if any(part in doc.absent for part in names):
            continue
        old = ", ".join(text for part in names if (text := getattr(day, part)))
        new = ", ".join(text for part in names if (text := getattr(doc, part)))
        if old and old != new:
            marks = [("day", day.pk, "added")]
            marks += [("day", day.pk, "field", _field_label(part)) for part in names]
            fields = [("", old, new, True)]
            changes.append(_Change("The day", label, ("day", day.pk), tuple(marks), fields))
    return changes


def _talk_changes(landing: Landing, day_pk: int) -> list[_Change]:
    """Talk by talk, in the file's order: its title, its notes (depth first), then its
    blocks' captions and command lines."""
    changes: list[_Change] = []
    lines = {line.pk: line for line in landing.lines}
    captions = {block.pk: block.caption for block in landing.blocks}
    for talk_pk, doc in landing.kept_talks:
        group = title = landing.talks[doc.slug][1]  # as stored
        if title != doc.title:
            marks = (
                ("talk", talk_pk, "added"),
                ("talk", talk_pk, "field", "Title"),
                ("day", day_pk, "talk", title),  # the day's page lists its talks' titles
            )
            fields = [("", title, doc.title, True)]
            changes.append(_Change(group, "Talk title", ("talk", talk_pk), marks, fields))
        for note in matching.depth_first(doc.highlights):
            pk = landing.note_landing.get(id(note))
            if pk is not None and (change := _note_change(group, landing, pk, note)):
                changes.append(change)
        for _, block in matching.blocks_of(doc):
            block_pk = landing.block_landing.get(id(block))
            caption = captions.get(block_pk, "")
            if caption and caption != block.caption:
                marks = (("snippet", block_pk, "added"), ("snippet", block_pk, "field", "Caption"))
                fields = [("caption", caption, block.caption, True)]
                page = ("snippet", block_pk)
                changes.append(_Change(group, f"Block #{block_pk}", page, marks, fields))
            for position, command in enumerate(block.lines):
                line = lines.get(landing.line_landing.get((id(block), position)))
                if line is None or line.command == command:
                    continue
                marks = (
                    ("snippet", line.snippet_id, "added"),
                    ("snippet", line.snippet_id, "snippet line", line.command),
                )
                fields = [("", line.command, command, True)]
                page = ("snippet", line.snippet_id)
                changes.append(_Change(group, f"Command line #{line.pk}", page, marks, fields))
    return changes


def _note_change(group: str, landing: Landing, pk: int, doc: HighlightDoc) -> _Change | None:
    stored, details = landing.notes[pk], landing.details[pk]
    fields = []
    if stored.text != doc.text:
        fields.append(("", stored.text, doc.text, True))
    if details.kind != doc.kind:
        fields.append(("kind", details.kind, doc.kind, False))
    if details.style != doc.style:
        fields.append(("style", details.style, doc.style, False))
    if doc.gives_resolution and details.resolution and details.resolution != doc.resolution:
        fields.append(("answer", details.resolution, doc.resolution, True))
    if not fields:
        return None
    marks = (
        ("highlight", pk),
        # The talk's page lists its notes; its history names a note by str(note).
        ("talk", stored.talk_id, "highlight", str(Highlight(text=stored.text))),
    )
    return _Change(group, f"Note #{pk}", ("highlight", pk), marks, fields)


# --- the admin's history -------------------------------------------------------------------


class _History:
    """What was edited in the admin since the day was last imported there: each change page's
    entries (a note's, a talk's, a block's, the day's), and on the pages that list rows of
    another kind (a talk's notes, a block's lines, the day's talks), which rows."""

    def __init__(self) -> None:
        self.imported = False
        self.edits: dict[tuple, AdminEdit] = {}

    @classmethod
    def of(cls, day: Day) -> _History:
        """One query: the entries of the day's rows, oldest first."""
        history = cls()
        entries = (
            LogEntry.objects.filter(
                Q(content_type__model="day", object_id=str(day.pk))
                | Q(content_type__model="talk", object_id__in=_keys(Talk.objects.filter(day=day)))
                | Q(
                    content_type__model="highlight",
                    object_id__in=_keys(Highlight.objects.filter(talk__day=day)),
                )
                | Q(
                    content_type__model="snippet",
                    object_id__in=_keys(Snippet.objects.filter(talk__day=day)),
                ),
                content_type__app_label="talks",
                action_flag__in=(ADDITION, CHANGE),
            )
            .order_by("action_time", "pk")
            .values_list(
                "content_type__model",
                "object_id",
                "action_time",
                "change_message",
                "user__username",
            )
        )
        for model, object_id, when, message, who in entries:
            history.add(model, int(object_id), message, AdminEdit(when, who))
        return history

    def add(self, model: str, pk: int, message: str, edit: AdminEdit) -> None:
        if model == "day" and message.startswith(IMPORT_LOG_PREFIX):
            self.imported = True
            self.edits.clear()  # what the import did not replace is no longer at stake
            return
        try:
            parts = json.loads(message)
        except ValueError:
            parts = None  # a message in words (an answer given on the site): the row changed
        if not isinstance(parts, list):
            self.edits[(model, pk)] = edit
            return
        for part in parts:
            if not isinstance(part, dict):
                continue
            for action in ("added", "changed"):
                about = part.get(action)
                if not isinstance(about, dict):
                    continue
                if "name" in about:  # a row listed on the page
                    self.edits[(model, pk, about["name"], str(about.get("object", "")))] = edit
                    continue
                self.edits[(model, pk)] = edit
                if action == "added":
                    self.edits[(model, pk, "added")] = edit
                for label in about.get("fields", ()):
                    self.edits[(model, pk, "field", str(label))] = edit

    def edit(self, marks: Iterable[tuple]) -> AdminEdit | None:
        """The latest edit among ``marks`` (keys as ``add`` files them), if any."""
        found = [edit for mark in marks if (edit := self.edits.get(mark)) is not None]
        return max(found, key=lambda edit: edit.when, default=None)


def _keys(rows: QuerySet) -> QuerySet:
    """The pks of ``rows`` as the admin's history stores them (text), for a subquery."""
    return rows.order_by().annotate(key=Cast("pk", CharField())).values("key")


# --- before → after ------------------------------------------------------------------------


def before_after(old: str, new: str) -> tuple[list[Part], list[Part]]:
    """Both texts on one line, shortened to the words that change (marked ``changed``) with a
    few unchanged words either side, "…" where something is left out."""
    a, b = old.split(), new.split()
    if a == b:  # only spaces or line breaks differ: the start of it, to recognise it by
        return _start(a), _start(b)
    prefix = 0
    while prefix < min(len(a), len(b)) and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(a), len(b)) - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    ops = [("equal", 0, prefix, 0, prefix)] if prefix else []
    a_mid, b_mid = a[prefix : len(a) - suffix], b[prefix : len(b) - suffix]
    if len(a_mid) > MIDDLE_WORDS or len(b_mid) > MIDDLE_WORDS:
        middle = [("replace", 0, len(a_mid), 0, len(b_mid))]  # rewritten, as far as shown
    else:
        middle = difflib.SequenceMatcher(None, a_mid, b_mid, autojunk=False).get_opcodes()
    ops += [
        (tag, i1 + prefix, i2 + prefix, j1 + prefix, j2 + prefix) for tag, i1, i2, j1, j2 in middle
    ]
    if suffix:
        ops.append(("equal", len(a) - suffix, len(a), len(b) - suffix, len(b)))
    return _side(a, b, ops, 0), _side(b, a, ops, 1)


def _start(words: list[str]) -> list[Part]:
    shown = 2 * CONTEXT
    text = " ".join(_clip(word) for word in words[:shown])
    return [Part(text + (" …" if len(words) > shown else ""))]


def _side(words: list[str], other: list[str], ops: list[tuple], side: int) -> list[Part]:
    """One side's parts: unchanged runs cut to ``CONTEXT`` words next to a change, changed
    runs to ``CHANGED_WORDS``; once a change is shown, about ``SIDE_CHARACTERS`` in all."""
    parts: list[Part] = []
    length, shown_change = 0, False
    for index, (tag, *bounds) in enumerate(ops):
        lo, hi = bounds[2 * side], bounds[2 * side + 1]
        run = words[lo:hi]
        if not run:
            continue
        if tag == "equal":
            first, last = index == 0, index == len(ops) - 1
            if first and len(run) > CONTEXT:
                text = "… " + " ".join(_clip(word) for word in run[-CONTEXT:])
            elif last and len(run) > CONTEXT:
                text = " ".join(_clip(word) for word in run[:CONTEXT]) + " …"
            elif not first and not last and len(run) > 2 * CONTEXT + 1:
                head = " ".join(_clip(word) for word in run[:CONTEXT])
                tail = " ".join(_clip(word) for word in run[-CONTEXT:])
                text = f"{head} … {tail}"
            else:
                text = " ".join(_clip(word) for word in run)
            part = Part(text)
        else:
            # Where a word changes inside (a link), its cut shows the place that differs.
            counterpart = (
                other[bounds[2 * (1 - side)]] if bounds[2 * (1 - side)] < len(other) else ""
            )
            at = _common_prefix(run[0], counterpart) if tag == "replace" else 0
            shown = [_clip(run[0], at), *(_clip(word) for word in run[1:CHANGED_WORDS])]
            part = Part(" ".join(shown) + (" …" if len(run) > CHANGED_WORDS else ""), True)
        if shown_change and length > SIDE_CHARACTERS:
            parts.append(Part("…"))
            break
        parts.append(part)
        length += len(part.text) + 1
        shown_change |= part.changed
    return parts


def _common_prefix(one: str, other: str) -> int:
    count = 0
    for x, y in zip(one, other, strict=False):
        if x != y:
            break
        count += 1
    return count


def _clip(word: str, at: int = 0) -> str:
    """``word``, or ``LONG_WORD`` characters of it from a little before ``at``."""
    if len(word) <= LONG_WORD:
        return word
    start = max(0, min(at - LONG_WORD // 3, len(word) - LONG_WORD))
    end = start + LONG_WORD
    return ("…" if start else "") + word[start:end] + ("…" if end < len(word) else "")
