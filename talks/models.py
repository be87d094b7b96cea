"""The notes: conference → day → talk → highlight tree, with tags and runnable snippets."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection, Mapping
from types import MappingProxyType

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, URLValidator
from django.db import models, router, transaction
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator, slugify

from .markdown import highlight_shell, render_markdown

# Pages link only to http(s) addresses (markdown.web_link); any other scheme would be stored
# and then silently left off, so the fields refuse it where it is typed.
web_address = URLValidator(
    schemes=["http", "https"],
    code="web_address",  # not "invalid": a ModelForm would show its own "Enter a valid URL."
    message="Enter a web address starting with http:// or https://, "
    "such as https://docs.docker.com/.",
)

# The importer reads day numbers up to talks.importing.parse.MAX_DAY_NUMBER and turns any other
# into Day 1, so a day numbered outside this range would not survive an export and re-import.
# Mirrored, not imported: the importer imports these models. A test keeps the two equal.
MAX_DAY_NUMBER = 999
DAY_NUMBER_RANGE = f"Day numbers go from 1 to {MAX_DAY_NUMBER}: 1 for the first day, and so on."

NOTE_OF_ANOTHER_TALK = (
    "That note is in another talk; pick one of this talk's notes, or leave Highlight empty "
    "to put the block at the end of the talk."
)
OWN_PARENT = "A note can't be its own parent; leave Parent empty to put it at the top level."
REOPEN_NEEDS_CLEARING = (
    "To reopen this follow-up, clear the answer and the link too; "
    "to keep it resolved, leave “Resolved at” set."
)
NOT_A_FOLLOW_UP = (
    "Only a follow-up, question or to-do takes an answer: set Kind to one of them, "
    "or clear the answer, its link and “Resolved at”."
)
ANSWER_NEEDED = (
    "Write a short answer before marking this resolved "
    "(or clear “Resolved at” and the link to leave it open)."
)


def named_note(note: Highlight) -> str:
    """A note as an error names it: by its words, as the talk page's rows show it, and its
    number, as the note's own page shows it."""
    return f"“{Truncator(note.text).chars(60)}” (note {note.pk})"


def other_talk_parent(parent: Highlight) -> str:
    return f"{named_note(parent)} is in another talk (“{parent.talk}”); choose a note of this talk."


def loop_parent(parent: Highlight) -> str:
    return (
        f"{named_note(parent)} is nested under this note, so it can't also be its parent "
        "(that loop would hide both notes)."
    )


def unix_newlines(text: str) -> str:
    """``text`` with Windows (CRLF) and old Mac (CR) line endings turned into LF.

    Browsers send textareas with CRLF; stored as is, an export after an admin edit would mix
    line endings and differ from the same notes imported.
    """
    if "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def leads_back(parents: Mapping[int, int | None], note_id: int) -> bool:
    """Whether following parents up from ``note_id`` comes back to it (a loop in the tree)."""
    seen = {note_id}
    parent_id = parents.get(note_id)
    while parent_id is not None:
        if parent_id == note_id:
            return True
        if parent_id in seen:
            return False  # a loop above, not through note_id
        seen.add(parent_id)
        parent_id = parents.get(parent_id)
    return False


def deleted_with(parents: Mapping[int, int | None], deleted: Collection[int]) -> dict[int, int]:
    """The notes that deleting the notes ``deleted`` takes away (a note's children go with it),
    each mapped to the deleted note it goes with: itself, or the nearest one above it."""
    going: dict[int, int] = {}
    for note_id in set(parents) | set(deleted):
        seen: set[int] = set()
        current: int | None = note_id
        while current is not None and current not in seen:  # seen: a loop must not hang this
            if current in deleted:
                going[note_id] = current
                break
            seen.add(current)
            current = parents.get(current)
    return going


class Conference(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    location = models.CharField(max_length=200, blank=True)
    starts_on = models.DateField(null=True, blank=True)
    description = models.TextField(blank=True, help_text="Markdown.")
    description_html = models.TextField(blank=True, editable=False)

    class Meta:
        ordering = ["-starts_on", "name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if not self.slug:
            self.slug = slugify(self.name)[:200]
        self.description = unix_newlines(self.description)
        self.description_html = render_markdown(self.description)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("talks:conference", args=[self.slug])

    def clean(self) -> None:
        """A start moved after one of the conference's days is refused, as an import refuses
        it (a start left as it is, with such a day already stored, is not this edit's doing)."""
        if self.pk is None or self.starts_on is None:
            return
        stored = Conference.objects.filter(pk=self.pk).values_list("starts_on", flat=True)
        if stored.first() == self.starts_on:
            return
        earlier = self.days.filter(date__lt=self.starts_on).order_by("date", "number").first()
        if earlier is not None:
            raise ValidationError(
                {
                    "starts_on": f"Day {earlier.number} (“{earlier.title}”) is dated "
                    f"{earlier.date.isoformat()}, before this start: start the conference on "
                    "or before its first day, or change that day's date first."
                }
            )


class DayQuerySet(models.QuerySet["Day"]):
    def with_conference(self) -> DayQuerySet:
        return self.select_related("conference")

    def latest_first(self) -> DayQuerySet:
        return self.order_by(models.F("date").desc(nulls_last=True), "-number")


class Day(models.Model):
    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="days")
    number = models.PositiveSmallIntegerField(
        help_text="1 for the first day, and so on.",
        validators=[
            MinValueValidator(1, message=DAY_NUMBER_RANGE),
            MaxValueValidator(MAX_DAY_NUMBER, message=DAY_NUMBER_RANGE),
        ],
    )
    title = models.CharField(max_length=200, help_text="e.g. “DockerCon 2016 Highlights Day 1”.")
    slug = models.SlugField(max_length=60, help_text="Part of the URL, e.g. “day-1”.")
    date = models.DateField(null=True, blank=True)
    intro = models.TextField(blank=True, help_text="Markdown: the opening paragraph(s).")
    intro_html = models.TextField(blank=True, editable=False)
    summary = models.TextField(blank=True, help_text="Markdown: how the day went, in short.")
    summary_html = models.TextField(blank=True, editable=False)
    author = models.CharField(max_length=200, blank=True)
    author_title = models.CharField(max_length=200, blank=True, help_text="Shown under the name.")
    next_day_title = models.CharField(
        max_length=200,
        blank=True,
        help_text="Title of the next day's notes as the author announced it; linked once written.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = DayQuerySet.as_manager()

    class Meta:
        ordering = ["conference", "number"]
        constraints = [
            models.UniqueConstraint(fields=["conference", "number"], name="day_number_unique"),
            models.UniqueConstraint(fields=["conference", "slug"], name="day_slug_unique"),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        if not self.slug:
            self.slug = f"day-{self.number}"
        self.intro = unix_newlines(self.intro)
        self.summary = unix_newlines(self.summary)
        self.intro_html = render_markdown(self.intro)
        self.summary_html = render_markdown(self.summary)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("talks:day", args=[self.conference.slug, self.slug])

    def clean(self) -> None:
        """A date before the conference starts is refused, as an import refuses it (a date
        left as it is, already before the start, is not this edit's doing)."""
        if self.date is None or self.conference_id is None:
            return
        start = Conference.objects.filter(pk=self.conference_id).values_list("starts_on", flat=True)
        start = start.first()
        if start is None or self.date >= start:
            return
        if self.pk is not None:
            stored = Day.objects.filter(pk=self.pk).values_list("date", "conference_id").first()
            if stored == (self.date, self.conference_id):
                return
        raise ValidationError(
            {
                "date": f"This is before the conference starts ({start.isoformat()}): date the "
                "day on or after its start, or change the conference's start date first."
            }
        )

    def neighbours(self) -> tuple[Day | None, Day | None]:
        """The previous and next written days of the same conference (one query)."""
        around = list(
            Day.objects.filter(conference_id=self.conference_id)
            .filter(models.Q(number=self.number - 1) | models.Q(number=self.number + 1))
            .only("id", "number", "title", "slug", "conference_id")
        )
        by_number = {day.number: day for day in around}
        for day in around:
            day.conference = self.conference  # avoid a query per link
        return by_number.get(self.number - 1), by_number.get(self.number + 1)


# Languages of blocks whose lines are commands (a fence's word, as the importers read it); a
# block in another language (say python) is shown as code, without Run.
SHELL_LANGUAGES = frozenset(
    [
        "console",
        "shell",
        "shell-session",
        "shellsession",
        "sh",
        "bash",
        "zsh",
        "terminal",
        "session",
    ]
)
RUNNABLE_LANGUAGES = SHELL_LANGUAGES | {"", "docker"}


def tag_slug(name: str) -> str:
    """A tag's part of its address: its name slugified or, for a name without Latin letters or
    digits (“日本語”, “🐳”), which slugify leaves empty, "tag-" and a digest of the name."""
    digest = hashlib.sha256(name.casefold().encode()).hexdigest()[:10]
    return slugify(name)[:60] or f"tag-{digest}"


class Tag(models.Model):
    name = models.CharField(max_length=60, unique=True)
    slug = models.SlugField(
        max_length=60,
        unique=True,
        blank=True,
        help_text="Part of the tag page's address; made from the name when left empty.",
    )

    class Meta:
        ordering = [Lower("name")]  # "devops" before "Swarm Mode"

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if not self.slug:  # one of its own: "🔥hot" and "hot" both slugify to "hot"
            base = tag_slug(self.name)
            self.slug, n = base, 1
            while Tag.objects.filter(slug=self.slug).exclude(pk=self.pk).exists():
                n += 1
                self.slug = f"{base[: 60 - len(str(n)) - 1]}-{n}"
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("talks:tag", args=[self.slug])


class TalkQuerySet(models.QuerySet["Talk"]):
    def with_notes(self) -> list[Talk]:
        """The talks with their highlight trees and snippets attached, in a fixed number of
        queries whatever the size of the day: ``talk.notes`` holds the top-level highlights,
        ``highlight.notes`` the children, ``.snippet_blocks`` the snippets shown after each."""
        talks = list(self.prefetch_related("tags"))
        ids = [talk.pk for talk in talks]
        highlights = list(
            Highlight.objects.filter(talk_id__in=ids)
            .prefetch_related("tags")
            .order_by("position", "id")
        )
        snippets = list(
            Snippet.objects.filter(talk_id__in=ids)
            .prefetch_related("lines")
            .order_by("position", "id")
        )
        by_id = {h.pk: h for h in highlights}
        for h in highlights:
            h.notes, h.snippet_blocks = [], []
        for talk in talks:
            talk.notes, talk.snippet_blocks = [], []
        talks_by_id = {talk.pk: talk for talk in talks}
        for h in highlights:
            parent = by_id.get(h.parent_id) if h.parent_id else None
            (parent.notes if parent else talks_by_id[h.talk_id].notes).append(h)
            h.talk = talks_by_id[h.talk_id]
        for talk in talks:
            talk.all_snippets = []
        for snippet in snippets:
            owner = by_id.get(snippet.highlight_id) or talks_by_id[snippet.talk_id]
            owner.snippet_blocks.append(snippet)
            talks_by_id[snippet.talk_id].all_snippets.append(snippet)
        return talks


class Talk(models.Model):
    class Kind(models.TextChoices):
        KEYNOTE = "keynote", "Keynote"
        TALK = "talk", "Talk"
        SESSIONS = "sessions", "Several sessions"

    day = models.ForeignKey(Day, on_delete=models.CASCADE, related_name="talks")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.TALK)
    title = models.CharField(max_length=300)
    slug = models.SlugField(max_length=200)
    session_url = models.URLField(blank=True, max_length=500, validators=[web_address])
    tags = models.ManyToManyField(Tag, blank=True, related_name="talks")

    objects = TalkQuerySet.as_manager()

    class Meta:
        ordering = ["day", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["day", "slug"], name="talk_slug_unique_per_day"),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        self.title = unix_newlines(self.title)
        if not self.slug:
            self.slug = slugify(self.title)[:200] or f"talk-{self.position}"
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        day = self.day
        return reverse("talks:talk", args=[day.conference.slug, day.slug, self.slug])

    @property
    def anchor(self) -> str:
        return f"talk-{self.slug}"


class Highlight(models.Model):
    """One note in a talk: a bullet, a paragraph or a group heading; bullets nest."""

    class Style(models.TextChoices):
        BULLET = "bullet", "Bullet"
        PARAGRAPH = "paragraph", "Paragraph"
        HEADING = "heading", "Group heading"

    class Kind(models.TextChoices):
        NOTE = "note", "Note"
        SUCCESS = "success", "Success"
        FOLLOW_UP = "follow-up", "Follow-up"
        QUESTION = "question", "Question"
        TODO = "todo", "To do"

    talk = models.ForeignKey(Talk, on_delete=models.CASCADE, related_name="highlights")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    position = models.PositiveIntegerField(default=0)
    style = models.CharField(max_length=20, choices=Style.choices, default=Style.BULLET)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.NOTE)
    text = models.TextField(help_text="Markdown.")
    text_html = models.TextField(blank=True, editable=False)
    tags = models.ManyToManyField(Tag, blank=True, related_name="highlights")
    # A follow-up is resolved by staff with a short answer and, optionally, a link.
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True, help_text="Markdown: what was found out.")
    resolution_html = models.TextField(blank=True, editable=False)
    resolution_url = models.URLField(blank=True, max_length=500, validators=[web_address])

    # Parents saved together with this note (note id → parent id), such as the other rows of a
    # talk's admin page: the loop check reads them over the stored tree.
    pending_parents: Mapping[int, int | None] = MappingProxyType({})

    class Meta:
        ordering = ["talk", "position", "id"]
        indexes = [models.Index(fields=["talk", "parent", "position"])]

    def __str__(self) -> str:
        return self.text[:80]

    def save(self, *args, **kwargs) -> None:
        """Save the note; moved to another talk, it takes the notes under it and their snippets
        along, as an editor expects (left behind, they would hang from a note of another talk)."""
        self.render()
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        left = self._talk_left(using, kwargs.get("update_fields"))
        if left is None:
            super().save(*args, **kwargs)
        else:
            with transaction.atomic(using=using):
                super().save(*args, **kwargs)
                self._bring_along(left, using=using)
        self._loaded_talk_id = self.talk_id  # as stored now

    @classmethod
    def from_db(cls, db, field_names, values):
        note = super().from_db(db, field_names, values)
        note._loaded_talk_id = note.__dict__.get("talk_id")  # see _talk_left
        return note

    def _talk_left(self, using: str, update_fields: Collection[str] | None) -> int | None:
        """The talk this save takes the note out of, if any: the talk it was loaded with, or
        (an instance not loaded from the database, or loaded without its talk) as stored."""
        if self._state.adding or self.pk is None:
            return None
        if update_fields is not None and "talk" not in update_fields:
            return None
        talk_id = getattr(self, "_loaded_talk_id", None)
        if talk_id is None:
            stored = Highlight.objects.using(using).filter(pk=self.pk).values_list("talk_id")
            talk_id = stored.first()
            talk_id = talk_id[0] if talk_id else None
        return talk_id if talk_id is not None and talk_id != self.talk_id else None

    def _bring_along(self, left: int, *, using: str) -> None:
        """Move the notes under this one, and the snippets of all of them, from the talk
        ``left`` to this note's talk. Bulk updates send no signals, so the search index and
        the day pages' version are brought up to date here."""
        from . import cache, search  # both import these models

        children: dict[int, list[int]] = {}
        for note_id, parent_id in (
            Highlight.objects.using(using).filter(talk_id=left).values_list("id", "parent_id")
        ):
            children.setdefault(parent_id, []).append(note_id)
        below: set[int] = set()
        frontier = [self.pk]
        while frontier:
            frontier = [c for n in frontier for c in children.get(n, ()) if c not in below]
            below.update(frontier)
        notes = Highlight.objects.using(using).filter(pk__in=below)
        notes.update(talk_id=self.talk_id)
        snippets = Snippet.objects.using(using).filter(highlight_id__in=[self.pk, *below])
        snippets.update(talk_id=self.talk_id)
        moved = [*notes.select_related("talk"), *snippets.select_related("talk")]
        if moved:
            search.index_documents(
                [search.document_for(row, using=using) for row in moved], using=using
            )
            cache.bump_notes_version(using=using)

    def clean(self) -> None:
        """Keep the tree a tree and a follow-up's answer consistent (the admin's forms run this)."""
        super().clean()
        self._clean_parent()
        self._clean_resolution()

    def _clean_parent(self) -> None:
        if self.parent_id is None:
            return
        if self.parent_id == self.pk:
            raise ValidationError({"parent": OWN_PARENT})
        parent = self.parent
        if parent.talk_id != self.talk_id:
            raise ValidationError({"parent": other_talk_parent(parent)})
        if self.pk is not None:
            parents = dict(
                Highlight.objects.filter(talk_id=self.talk_id).values_list("id", "parent_id")
            )
            parents.update(self.pending_parents)
            parents[self.pk] = self.parent_id
            if leads_back(parents, self.pk):
                raise ValidationError({"parent": loop_parent(parent)})

    def _clean_resolution(self) -> None:
        self.resolution = self.resolution.strip()
        answered = self.resolution or self.resolution_url or self.resolved_at
        if answered and not self.is_follow_up:  # shown nowhere but under the note: a slip
            raise ValidationError({"resolution": NOT_A_FOLLOW_UP})
        if (self.resolution or self.resolution_url) and self.resolved_at is None:
            if self._stored_resolved_at() is not None:
                # "Resolved at" was cleared but the answer kept: reopen, or a slip?
                raise ValidationError({"resolved_at": REOPEN_NEEDS_CLEARING})
            # Giving the answer is what resolves a follow-up, as on the follow-ups page.
            self.resolved_at = timezone.now()
        if self.resolved_at is not None and not self.resolution:
            raise ValidationError({"resolution": ANSWER_NEEDED})

    def _stored_resolved_at(self) -> dt.datetime | None:
        if self.pk is None:
            return None
        stored = Highlight.objects.filter(pk=self.pk).values_list("resolved_at", flat=True)
        return stored.first()

    def render(self) -> None:
        """Derive the HTML fields from the Markdown ones (bulk writes call this themselves)."""
        self.text = unix_newlines(self.text)
        self.resolution = unix_newlines(self.resolution)
        self.text_html = render_markdown(self.text, inline=self.style != self.Style.PARAGRAPH)
        self.resolution_html = render_markdown(self.resolution, inline=True)

    @property
    def anchor(self) -> str:
        return f"h{self.pk}"

    @property
    def is_follow_up(self) -> bool:
        return self.kind in {self.Kind.FOLLOW_UP, self.Kind.QUESTION, self.Kind.TODO}


class Snippet(models.Model):
    """A block of command lines, shown where it stands among the highlights; each line runs."""

    talk = models.ForeignKey(Talk, on_delete=models.CASCADE, related_name="snippets")
    highlight = models.ForeignKey(
        Highlight,
        null=True,
        blank=True,
        # Deleting the note keeps the block (its lines may have run history): it moves to the
        # end of the talk, as a block of the talk's own.
        on_delete=models.SET_NULL,
        related_name="snippets",
        help_text="The highlight the block follows; empty puts it at the end of the talk "
        "(where the block goes if its highlight is deleted).",
    )
    position = models.PositiveIntegerField(default=0)
    language = models.CharField(max_length=20, default="console")
    caption = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["talk", "position", "id"]

    def __str__(self) -> str:
        first = self.lines.first()
        return first.command if first else f"Snippet {self.pk}"

    def save(self, *args, **kwargs) -> None:
        self.caption = unix_newlines(self.caption)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        """A block follows a note of its own talk: the day page shows it under that note, and
        a block moved to another talk must not keep following a note of the old one."""
        if self.highlight_id is None or self.talk_id is None:
            return
        notes = Highlight.objects.filter(pk=self.highlight_id).values_list("talk_id", flat=True)
        if notes.first() not in {None, self.talk_id}:
            raise ValidationError({"highlight": NOTE_OF_ANOTHER_TALK})

    @property
    def anchor(self) -> str:
        return f"snippet-{self.pk}"

    @property
    def runnable(self) -> bool:
        """Whether its lines are commands to offer Run on (see RUNNABLE_LANGUAGES)."""
        return self.language.lower() in RUNNABLE_LANGUAGES

    @property
    def name(self) -> str:
        """What tells this block from another in the names of its buttons: its caption, or
        its first command (from the lines prefetched on a page), or "Commands" when it has
        none (the admin asks for one; a block without lines must still show)."""
        if self.caption:
            return self.caption
        lines = self.lines.all()
        return lines[0].command if lines else "Commands"


class SnippetLine(models.Model):
    snippet = models.ForeignKey(Snippet, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    command = models.CharField(max_length=1000)
    command_html = models.TextField(blank=True, editable=False)

    class Meta:
        ordering = ["snippet", "position", "id"]

    def __str__(self) -> str:
        return self.command

    def save(self, *args, **kwargs) -> None:
        self.command = unix_newlines(self.command)
        self.command_html = highlight_shell(self.command)
        super().save(*args, **kwargs)

    @property
    def anchor(self) -> str:
        return f"line-{self.pk}"


class NotesVersion(models.Model):
    """One row whose token changes with every edit of the notes; cached pages are keyed on it.

    It lives in the database, beside what it versions, so an edit and its new token commit (or
    roll back) together and every web process sees them at once (see talks.cache).
    """

    token = models.CharField(max_length=32)

    def __str__(self) -> str:
        return self.token
