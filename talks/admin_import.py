"""The admin's "Import notes": upload or paste, see the structure found, then confirm.

The preview keeps the text on the server (in the session, under a random token); confirming
re-reads that text from scratch, so nothing the browser sends back but the token is trusted.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views import defaults
from django.views.decorators.http import require_POST

from .importing import (
    FORMATS,
    MAX_IMPORT_BYTES,
    DecodedText,
    ImportOptions,
    MissingConference,
    NotesInputError,
    OptionsError,
    ParseResult,
    ParseWarning,
    RemovalNotConfirmed,
    decode_notes,
    read_notes,
    save_days,
)
from .importing.checks import slug_problem
from .importing.decoding import check_size, check_text, describe_size
from .importing.overwrites import IMPORT_LOG_PREFIX
from .importing.parse import MAX_DAY_NUMBER
from .importing.preview import NOTES_PER_TALK, DayPreview, day_previews
from .importing.removals import stored_fingerprint
from .models import Day, unix_newlines

log = logging.getLogger(__name__)

SESSION_KEY = "talks_import_previews"
KEPT_PREVIEWS = 3
TEMPLATE = "admin/talks/import_notes.html"


def _max_paste_characters() -> int:
    """As many characters as a browser's form can always send within Django's limit on a
    request's form fields (DATA_UPLOAD_MAX_MEMORY_SIZE; files do not count, so larger notes
    go through the upload). A character is up to 3 bytes of UTF-8 (an accented letter 2, a
    line break 2 once the browser sends it as CRLF), and the form's other fields need a few
    hundred bytes."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is None:
        return 2_000_000
    return max(0, (limit - 16_384) // 3) // 1000 * 1000


MAX_PASTE_CHARACTERS = _max_paste_characters()


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
        help_text=f"Up to {MAX_PASTE_CHARACTERS:,} characters; upload longer notes as a file.",
        strip=False,
        # No maxlength: a browser would cut a longer paste there without a word, and the
        # notes imported would end mid-line. Too long, the form says so, naming the limit.
        widget=forms.Textarea(attrs={"rows": 14, "cols": 100}),
    )
    format = forms.ChoiceField(choices=list(FORMATS.items()), initial="auto")
    conference = forms.CharField(
        required=False,
        max_length=200,
        help_text="Leave empty to read it from the title, e.g. “DockerCon 2016 Highlights Day 1”.",
    )
    conference_slug = forms.CharField(
        required=False,
        max_length=200,
        label="Conference slug",
        help_text="The conference’s part of web addresses (letters, digits, - and _), e.g. "
        "“dockercon-2016”. Leave empty for the stored conference of that name, or one made "
        "from the name.",
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
        length = len(unix_newlines(text))  # a line break as one character, as the box shows it
        if length > MAX_PASTE_CHARACTERS:
            raise forms.ValidationError(
                f"The pasted notes are too long ({length:,} characters); paste at most "
                f"{MAX_PASTE_CHARACTERS:,}, or upload them as a file (up to "
                f"{describe_size(MAX_IMPORT_BYTES)})."
            )
        return text

    def clean_conference_slug(self) -> str:
        slug = self.cleaned_data["conference_slug"].strip()
        if slug and (problem := slug_problem(slug)):
            raise forms.ValidationError(problem)
        return slug

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
            # About the file or the text: shown at that field (aria-invalid, aria-describedby).
            self.add_error(self.source_field(), str(error))
        return cleaned

    def source_field(self) -> str:
        """The field the notes came from: "file" or "text"."""
        return "file" if self.files.get("file") else "text"

    def import_options(self) -> ImportOptions:
        data = self.cleaned_data
        return ImportOptions(
            conference=data["conference"].strip(),
            conference_slug=data["conference_slug"],
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
        "conference_slug": options.conference_slug,
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
        conference_slug=payload.get("conference_slug", ""),  # previews stored before it
        location=payload["location"],
        starts_on=day(payload["starts_on"]),
        day=payload["day"],
        date=day(payload["date"]),
    )


# --- permissions ---------------------------------------------------------------------------
#
# Importing writes through the same permissions as editing by hand: a new conference needs
# talks.add_conference, a new day talks.add_day, updating a stored day talks.change_day (its
# new talks, notes and snippets come with it), and removing what the notes no longer hold the
# delete permission of each kind removed: talks.delete_talk, talks.delete_highlight,
# talks.delete_snippet (command lines go with their snippet's).

_PERMISSION_WORDS = {
    "talks.add_conference": "add conferences",
    "talks.change_conference": "change conferences",
    "talks.add_day": "add days",
    "talks.change_day": "change days",
    "talks.delete_talk": "delete talks",
    "talks.delete_highlight": "delete highlights",
    "talks.delete_snippet": "delete snippets",
}


def may_import(user) -> bool:
    """Can this user import anything at all (a new day or an update of one)?"""
    return user.has_perm("talks.add_day") or user.has_perm("talks.change_day")


# The import's options (ImportOptions' attributes) as this form labels them, for messages.
FIELD_WORDS = {
    "conference": "the “Conference”",
    "conference_slug": "the “Conference slug”",
    "starts_on": "the “Conference starts on” date",
    "day": "the “Day number”",
    "date": "the “Date of the day”",
}

WARNINGS_SHOWN = 3  # in the message after an import; the preview lists them all


def _needed_permissions(day: DayPreview) -> list[str]:
    needed = []
    if not day.conference_exists:
        needed.append("talks.add_conference")
    elif day.conference_changes:
        needed.append("talks.change_conference")
    needed.append("talks.change_day" if day.existing else "talks.add_day")
    found = day.removals
    if found.talks:
        needed.append("talks.delete_talk")
    if found.notes:
        needed.append("talks.delete_highlight")
    if found.snippets or found.lines:
        needed.append("talks.delete_snippet")
    return needed


def _check_permissions(user, days: list[DayPreview]) -> list[str]:
    """Note on each day the permissions it lacks; returns them all, in words."""
    missing: dict[str, None] = {}
    for day in days:
        day.missing_permissions = [
            _PERMISSION_WORDS[perm] for perm in _needed_permissions(day) if not user.has_perm(perm)
        ]
        missing.update(dict.fromkeys(day.missing_permissions))
    return list(missing)


def _not_allowed_message(missing: list[str]) -> str:
    words = ", ".join(missing[:-1]) + " and " + missing[-1] if len(missing) > 1 else missing[0]
    return (
        f"You may not import these notes: that needs permission to {words}, which your account "
        "does not have. Ask an administrator to give you the permission, or to import them."
    )


def _forbidden(request: HttpRequest) -> HttpResponse:
    message = (
        "You may not import notes: that needs permission to add or change days, which your "
        "account does not have. Ask an administrator."
    )
    return _render(request, {"error": message, "title": "Import not allowed"}, status=403)


# --- pages ---------------------------------------------------------------------------------


def _render(request: HttpRequest, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    if "title" not in context:
        context["title"] = "Import failed" if status >= 400 else "Import notes"
    base = {
        **admin.site.each_context(request),  # the admin's title, header, user links and menu
        "opts": Day._meta,
        "has_view_permission": request.user.has_perm("talks.view_day"),
        "may_import": may_import(request.user),
        "max_size": describe_size(MAX_IMPORT_BYTES),
        "max_paste": MAX_PASTE_CHARACTERS,
        "shown_per_talk": NOTES_PER_TALK,
    }
    return render(request, TEMPLATE, {**base, **context}, status=status)


def _preview_title(days: list[DayPreview]) -> str:
    if len(days) == 1:
        return f"Preview import: {days[0].doc.title}"
    return f"Preview import: {len(days)} days of {days[0].doc.conference.name}"


def _render_preview(
    request: HttpRequest,
    *,
    form: ImportNotesForm,
    token: str,
    result: ParseResult,
    payload: dict[str, Any],
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    """The preview of what the notes hold, what importing them changes, and the confirm form."""
    days = day_previews(result)
    missing = _check_permissions(request.user, days)
    if missing:
        error, status = _not_allowed_message(missing), 403
    decoded_warnings = [ParseWarning(line, message) for line, message in payload["warnings"]]
    return _render(
        request,
        {
            "form": form,
            "token": token,
            "result": result,
            "days": days,
            "removing": [day for day in days if day.removals],
            "overwriting": [day for day in days if day.overwrites],
            "overwritten_edits": sum(day.overwrites.edited for day in days),
            # The stored days as this preview shows them: confirming asks again if they
            # changed in any way meanwhile (see save_days).
            "removals_seen": stored_fingerprint([day.doc for day in days]),
            "allowed": not missing,
            "warnings": [*decoded_warnings, *result.warnings],
            "encoding": payload["encoding"],
            "source_name": payload["filename"] or "pasted text",
            "preview_error": error,
            "title": "Import not allowed" if missing else _preview_title(days),
        },
        status=status,
    )


# Each imported day is one entry in the admin's log of edits (who, when, from what, how much,
# starting with IMPORT_LOG_PREFIX), which is also what the per-editor rate limit counts: in the
# database, so every process agrees; and the preview marks the texts edited since.
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


def _request_too_big(request: HttpRequest) -> HttpResponse:
    message = (
        f"The notes sent are too large for one request (over "
        f"{describe_size(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0)}). Paste at most "
        f"{MAX_PASTE_CHARACTERS:,} characters, or upload the notes as a file (up to "
        f"{describe_size(MAX_IMPORT_BYTES)})."
    )
    return _render(request, {"form": ImportNotesForm(), "error": message}, status=400)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The site's 400 page (``handler400``): for a paste too large for Django's limit on form
    fields (DATA_UPLOAD_MAX_MEMORY_SIZE), the import form again with a message saying what to
    do; Django's own page otherwise. The CSRF middleware reads the body before any view runs,
    so only a handler400 can answer that case."""
    user = getattr(request, "user", None)
    if (
        isinstance(exception, RequestDataTooBig)
        and request.path == reverse("admin:talks_day_import")
        and user is not None
        and user.is_active
        and user.is_staff
        and may_import(user)
    ):
        page = _request_too_big(request)
        page.site_own_answer = True  # given with DEBUG on too (notes_site.middleware)
        return page
    return defaults.bad_request(request, exception)


@staff_member_required
def import_notes_view(request: HttpRequest) -> HttpResponse:
    """Step 1 (GET): the form. Step 2 (POST): the preview of what the notes hold."""
    if not may_import(request.user):
        return _forbidden(request)
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
        result = read_notes(decoded.text, format=fmt, filename=filename, options=options)
    except OptionsError as error:
        # At the first field given that it names, else at the notes themselves.
        field = next((name for name in error.options if name in form.fields), "")
        form.add_error(field or form.source_field(), error.describe(FIELD_WORDS))
        return _render(request, {"form": form}, status=400)
    except NotesInputError as error:
        field = "conference" if isinstance(error, MissingConference) else form.source_field()
        form.add_error(field, str(error))
        return _render(request, {"form": form}, status=400)
    payload = {
        "text": decoded.text,
        "format": result.format,
        "filename": filename,
        "options": _options_payload(options),
        "encoding": decoded.encoding,
        "warnings": [[w.line, w.message] for w in decoded.warnings],
    }
    token = _store(request, payload)
    return _render_preview(request, form=form, token=token, result=result, payload=payload)


@require_POST
@staff_member_required
def import_notes_confirm(request: HttpRequest) -> HttpResponse:
    """Step 3: import the previewed text, read again on the server, atomically."""
    if not may_import(request.user):
        return _forbidden(request)
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
    payload.setdefault("encoding", "UTF-8")
    payload.setdefault("warnings", [])
    try:
        result = read_notes(
            payload["text"],
            format=payload["format"],
            filename=payload["filename"],
            options=_options_from(payload["options"]),
        )
    except NotesInputError as error:
        message = error.describe(FIELD_WORDS) if isinstance(error, OptionsError) else str(error)
        return _render(request, {"form": ImportNotesForm(), "error": message}, status=400)
    days = day_previews(result)
    if missing := _check_permissions(request.user, days):
        context = {"error": _not_allowed_message(missing), "title": "Import not allowed"}
        return _render(request, context, status=403)
    try:
        outcome = save_days(
            result,
            confirm_removal=request.POST.get("confirm_removal") == "yes",
            seen_removals=request.POST.get("removals", ""),  # what the preview listed
        )
    except RemovalNotConfirmed as error:
        return _render_preview(
            request,
            form=ImportNotesForm(),
            token=token,
            result=result,
            payload=payload,
            error=str(error).replace("Confirm that", "Tick “Yes, remove these” below if"),
            status=400,
        )
    except NotesInputError as error:
        return _render(request, {"form": ImportNotesForm(), "error": str(error)}, status=400)
    except DatabaseError as error:
        log.exception("Import of notes failed")
        message = f"Nothing was saved: the database refused the import ({error})."
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
    for conference, changes in outcome.conference_changes:
        messages.info(
            request, f"Changed the stored conference “{conference.name}”: {'; '.join(changes)}."
        )
    decoded_warnings = [ParseWarning(line, message) for line, message in payload["warnings"]]
    if warnings := [*decoded_warnings, *outcome.result.warnings]:
        # The preview is gone by now: the message names them (the first few) itself.
        shown = "; ".join(str(warning).rstrip(".") for warning in warnings[:WARNINGS_SHOWN])
        more = len(warnings) - WARNINGS_SHOWN
        messages.warning(
            request,
            f"{len(warnings)} line{'s' if len(warnings) != 1 else ''} needed a guess or could "
            f"not be placed: {shown}" + (f"; and {more} more." if more > 0 else "."),
        )
    if len(outcome.saved) == 1:
        day = outcome.saved[0][0]
        return HttpResponseRedirect(reverse("admin:talks_day_change", args=[day.pk]))
    return HttpResponseRedirect(reverse("admin:talks_day_changelist"))
