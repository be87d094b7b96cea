"""The admin's "Import notes": upload or paste, see the structure found, then confirm.

The preview keeps the text on the server (in the session, under a random token); confirming
re-reads that text from scratch, so nothing the browser sends back but the token is trusted.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.admin.views.decorators import staff_member_required
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from .documents import DayDoc, HighlightDoc, SnippetDoc, TalkDoc
from .importing import (
    FORMATS,
    MAX_IMPORT_BYTES,
    DecodedText,
    ImportOptions,
    NotesInputError,
    ParseResult,
    check_importable,
    day_stats,
    decode_notes,
    import_notes,
    parse_notes,
)
from .importing.decoding import check_size, check_text, describe_size
from .importing.detect import find_links
from .importing.parse import MAX_DAY_NUMBER
from .importing.service import complete_from_database
from .models import Conference, Day

log = logging.getLogger(__name__)

SESSION_KEY = "talks_import_previews"
KEPT_PREVIEWS = 3
# A paste travels as a form field, and Django refuses form fields over 2.5 MB
# (DATA_UPLOAD_MAX_MEMORY_SIZE); larger notes go through the file upload.
MAX_PASTE_CHARACTERS = 2_000_000
TEMPLATE = "admin/talks/import_notes.html"


class ImportNotesForm(forms.Form):
    file = forms.FileField(
        required=False,
        label="Notes file",
        help_text=f"Plain text or Markdown, up to {describe_size(MAX_IMPORT_BYTES)}; "
        "UTF-8, UTF-16 or Latin-1.",
    )
    text = forms.CharField(
        required=False,
        label="Or paste the notes",
        strip=False,
        widget=forms.Textarea(attrs={"rows": 14, "cols": 100, "maxlength": MAX_PASTE_CHARACTERS}),
    )
    format = forms.ChoiceField(choices=list(FORMATS.items()), initial="auto")
    conference = forms.CharField(
        required=False,
        max_length=200,
        help_text="Leave empty to read it from the title, e.g. “DockerCon 2016 Highlights Day 1”.",
    )
    location = forms.CharField(required=False, max_length=200)
    starts_on = forms.DateField(
        required=False, label="Conference starts on", widget=forms.DateInput(attrs={"type": "date"})
    )
    day = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_DAY_NUMBER,
        label="Day number",
        help_text="Leave empty to read it from the text (“Day 1”).",
    )
    date = forms.DateField(
        required=False, label="Date of the day", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Pasted NUL bytes get the binary-file explanation from check_text, not Django's terse one.
        self.fields["text"].validators = []

    def clean_text(self) -> str:
        text = self.cleaned_data["text"]
        if len(text) > MAX_PASTE_CHARACTERS:
            raise forms.ValidationError(
                f"The pasted notes are too long ({len(text):,} characters); paste at most "
                f"{MAX_PASTE_CHARACTERS:,}, or upload them as a file (up to "
                f"{describe_size(MAX_IMPORT_BYTES)})."
            )
        return text

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        upload = cleaned.get("file")
        text = cleaned.get("text", "")
        if self.errors:
            return cleaned
        if upload and text.strip():
            raise forms.ValidationError("Upload a file or paste the notes, not both.")
        if not upload and not text:
            raise forms.ValidationError("Upload a file or paste the notes.")
        try:
            if upload:
                check_size(upload.size)
                cleaned["decoded"] = decode_notes(upload.read())
                cleaned["filename"] = upload.name
            else:
                check_size(len(text.encode("utf-8")))
                check_text(text)
                cleaned["decoded"] = DecodedText(text, "UTF-8")
                cleaned["filename"] = ""
        except NotesInputError as error:
            raise forms.ValidationError(str(error)) from None
        return cleaned

    def import_options(self) -> ImportOptions:
        data = self.cleaned_data
        return ImportOptions(
            conference=data["conference"].strip(),
            location=data["location"].strip(),
            starts_on=data["starts_on"],
            day=data["day"],
            date=data["date"],
        )


# --- session storage of previews -----------------------------------------------------------


def _store(request: HttpRequest, payload: dict[str, Any]) -> str:
    previews = dict(request.session.get(SESSION_KEY, {}))
    while len(previews) >= KEPT_PREVIEWS:
        previews.pop(next(iter(previews)))
    token = secrets.token_urlsafe(16)
    previews[token] = payload
    request.session[SESSION_KEY] = previews
    return token


def _options_payload(options: ImportOptions) -> dict[str, Any]:
    return {
        "conference": options.conference,
        "location": options.location,
        "starts_on": options.starts_on.isoformat() if options.starts_on else "",
        "day": options.day,
        "date": options.date.isoformat() if options.date else "",
    }


def _options_from(payload: dict[str, Any]) -> ImportOptions:
    def day(value: str) -> dt.date | None:
        return dt.date.fromisoformat(value) if value else None

    return ImportOptions(
        conference=payload["conference"],
        location=payload["location"],
        starts_on=day(payload["starts_on"]),
        day=payload["day"],
        date=day(payload["date"]),
    )


# --- preview -------------------------------------------------------------------------------


@dataclass
class NotePreview:
    """A highlight as the preview shows it: with the links found in it."""

    text: str
    style: str
    kind: str
    line: int | None
    links: list[str]
    snippets: list[SnippetDoc]
    children: list[NotePreview]


@dataclass
class DayPreview:
    doc: DayDoc
    stats: str
    existing: Day | None
    conference_exists: bool
    talks: list[tuple[TalkDoc, list[NotePreview]]]


def _notes(highlights: list[HighlightDoc]) -> list[NotePreview]:
    return [
        NotePreview(
            text=h.text,
            style=h.style,
            kind=h.kind,
            line=h.source_line,
            links=find_links(h.text),
            snippets=h.snippets,
            children=_notes(h.children),
        )
        for h in highlights
    ]


def _day_previews(result: ParseResult) -> list[DayPreview]:
    previews = []
    for doc in result.days:
        conference = Conference.objects.filter(slug=doc.conference.slug).first()
        existing = conference.days.filter(number=doc.number).first() if conference else None
        talks = [(talk, _notes(talk.highlights)) for talk in doc.talks]
        previews.append(
            DayPreview(doc, str(day_stats(doc)), existing, conference is not None, talks)
        )
    return previews


def _render(request: HttpRequest, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    base = {
        "title": "Import notes",
        "opts": Day._meta,
        "has_view_permission": True,
        "max_size": describe_size(MAX_IMPORT_BYTES),
    }
    return render(request, TEMPLATE, {**base, **context}, status=status)


# Each imported day is one entry in the admin's log of edits (who, when, from what, how much),
# which is also what the per-editor rate limit counts: in the database, so every process agrees.
IMPORT_LOG_PREFIX = "Imported from "
IMPORTS_PER_HOUR = 30


def _too_many_imports(request: HttpRequest) -> HttpResponse | None:
    since = timezone.now() - dt.timedelta(hours=1)
    recent = LogEntry.objects.filter(
        user_id=request.user.pk,
        action_time__gte=since,
        change_message__startswith=IMPORT_LOG_PREFIX,
    ).count()
    if recent < IMPORTS_PER_HOUR:
        return None
    message = (
        f"Too many imports: at most {IMPORTS_PER_HOUR} days an hour per editor. Try again later."
    )
    return _render(request, {"form": ImportNotesForm(), "error": message}, status=429)


@staff_member_required
def import_notes_view(request: HttpRequest) -> HttpResponse:
    """Step 1 (GET): the form. Step 2 (POST): the preview of what the notes hold."""
    if request.method != "POST":
        return _render(request, {"form": ImportNotesForm()})
    if limited := _too_many_imports(request):
        return limited
    form = ImportNotesForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render(request, {"form": form}, status=400)
    decoded: DecodedText = form.cleaned_data["decoded"]
    options = form.import_options()
    fmt = form.cleaned_data["format"]
    filename = form.cleaned_data["filename"]
    try:
        result = parse_notes(decoded.text, format=fmt, filename=filename, options=options)
        check_importable(result)
    except NotesInputError as error:
        form.add_error(None, str(error))
        return _render(request, {"form": form}, status=400)
    complete_from_database(result.days)
    token = _store(
        request,
        {
            "text": decoded.text,
            "format": result.format,
            "filename": filename,
            "options": _options_payload(options),
        },
    )
    return _render(
        request,
        {
            "form": form,
            "token": token,
            "result": result,
            "days": _day_previews(result),
            "warnings": [*decoded.warnings, *result.warnings],
            "encoding": decoded.encoding,
            "source_name": filename or "pasted text",
        },
    )


@require_POST
@staff_member_required
def import_notes_confirm(request: HttpRequest) -> HttpResponse:
    """Step 3: import the previewed text, read again on the server, atomically."""
    if limited := _too_many_imports(request):
        return limited
    token = request.POST.get("token", "")
    previews = dict(request.session.get(SESSION_KEY, {}))
    payload = previews.get(token)
    if payload is None:
        message = (
            "This preview has expired or was already imported. Upload or paste the notes again."
        )
        return _render(request, {"form": ImportNotesForm(), "error": message}, status=400)
    try:
        outcome = import_notes(
            payload["text"],
            format=payload["format"],
            filename=payload["filename"],
            options=_options_from(payload["options"]),
        )
    except (NotesInputError, DatabaseError) as error:
        if isinstance(error, DatabaseError):
            log.exception("Import of notes failed")
            message = f"Nothing was saved: the database refused the import ({error})."
        else:
            message = str(error)
        return _render(request, {"form": ImportNotesForm(), "error": message}, status=400)
    previews.pop(token, None)
    request.session[SESSION_KEY] = previews
    source = payload["filename"] or "pasted text"
    for day, report in outcome.saved:
        LogEntry.objects.log_actions(
            user_id=request.user.pk,
            queryset=[day],
            action_flag=CHANGE,
            change_message=f"{IMPORT_LOG_PREFIX}{source}: {report.created} created, "
            f"{report.updated} updated, {report.unchanged} unchanged, {report.deleted} removed.",
        )
        messages.success(
            request,
            f"Imported “{day.title}”: {report.created} created, {report.updated} updated, "
            f"{report.unchanged} unchanged, {report.deleted} removed.",
        )
    if outcome.result.warnings:
        count = len(outcome.result.warnings)
        messages.warning(
            request,
            f"{count} line{'s' if count != 1 else ''} needed a guess or could not be placed; "
            "see the preview's warnings.",
        )
    if len(outcome.saved) == 1:
        day = outcome.saved[0][0]
        return HttpResponseRedirect(reverse("admin:talks_day_change", args=[day.pk]))
    return HttpResponseRedirect(reverse("admin:talks_day_changelist"))
