"""The editors' side: every note editable as Markdown, with inlines, ordering and a preview."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.db import models
from django.db.models import Case, Value, When
from django.forms import CharField, CheckboxInput, CheckboxSelectMultiple
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.utils.text import Truncator
from django.views.decorators.http import require_POST

from . import matching
from .admin_conflicts import EditConflictMixin
from .admin_import import import_notes_confirm, import_notes_view
from .followups import FollowUpStatusFilter
from .markdown import render_markdown
from .models import (
    Conference,
    Day,
    Highlight,
    Snippet,
    SnippetLine,
    Tag,
    Talk,
    deleted_with,
    named_note,
    unix_newlines,
    web_address,
)

admin.site.site_header = f"{settings.SITE_NAME} admin"
admin.site.site_title = f"{settings.SITE_NAME} admin"
admin.site.index_title = f"{settings.SITE_NAME} administration"


class TextareaField(CharField):
    """A textarea's text with LF line endings. Browsers post CRLF: the models store LF anyway
    (see unix_newlines), but compared as posted every multi-line field would count as changed
    on every save, re-saving each such inline row and logging edits nobody made."""

    def to_python(self, value):
        value = super().to_python(value)
        return unix_newlines(value) if value else value


class EditorFieldsMixin:
    """Text areas posting LF; links refused with the same message whatever is wrong; tags as
    a list of checkboxes (Django's filter_horizontal widget puts an aria-label on a <span>,
    which axe counts as a serious fault, and hides a short list behind two boxes)."""

    formfield_overrides = {
        models.TextField: {"form_class": TextareaField},
        models.URLField: {"error_messages": {"invalid": web_address.message}},
        models.ManyToManyField: {"widget": CheckboxSelectMultiple},
    }


class MarkdownPreviewMixin(EditorFieldsMixin):
    """Adds a rendered preview under every Markdown field (see static/js/admin-preview.js)."""

    class Media:
        js = ["js/admin-preview.js"]
        css = {"all": ["css/admin-preview.css"]}


@require_POST
@staff_member_required
def markdown_preview(request: HttpRequest) -> JsonResponse:
    """Render posted Markdown exactly as saving would; staff only, CSRF-protected."""
    text = request.POST.get("text", "")
    if len(text) > 100_000:
        return JsonResponse(
            {"error": "That text is too long to preview (100,000 characters at most)."}, status=413
        )
    return JsonResponse({"html": render_markdown(text)})


class FitInlinesMedia:
    """Narrows the tabular inlines' widgets so a day or talk page fits a 1280 px window, and
    numbers the rows added with "Add another" on from the last (static/js/admin-positions.js)."""

    class Media:
        css = {"all": ["css/admin-inlines.css"]}
        js = ["js/admin-positions.js"]


class NamedRowsFormSet(BaseInlineFormSet):
    """A tabular inline shows each field's label once, in its column's header, so the fields
    of its rows had no name of their own (axe: "Form elements must have labels"). Each gets
    one naming its column and row: "Text of highlight 3", "Delete highlight 3"."""

    def get_form_kwargs(self, index: int | None) -> dict:
        """A row added goes after the rows there are: its position starts one past the
        largest (it started at 0, so a note added at the bottom showed near the top)."""
        kwargs = super().get_form_kwargs(index)
        is_new = index is None or index >= self.initial_form_count()
        if is_new and "position" in self.form.base_fields:
            stored = [row.position for row in self.get_queryset()]  # the rows shown, no query
            kwargs["initial"] = {"position": max(stored, default=-1) + 1}
        return kwargs

    def add_fields(self, form, index: int | None) -> None:
        super().add_fields(form, index)
        noun = self.model._meta.verbose_name
        row = f"{noun} {index + 1}" if index is not None else f"the new {noun}"
        for name, field in form.fields.items():
            if field.widget.is_hidden:
                continue
            label = f"Delete {row}" if name == "DELETE" else f"{field.label} of {row}"
            # The select inside a foreign key's wrapper (its copy's attrs are the original's).
            widget = getattr(field.widget, "widget", field.widget)
            widget.attrs["aria-label"] = label


class TalkInline(EditorFieldsMixin, FitInlinesMedia, admin.TabularInline):
    model = Talk
    formset = NamedRowsFormSet
    fields = ["position", "title", "kind", "session_url", "slug"]
    extra = 0
    show_change_link = True
    ordering = ["position"]


@admin.register(Conference)
class ConferenceAdmin(EditConflictMixin, MarkdownPreviewMixin, admin.ModelAdmin):
    list_display = ["name", "location", "starts_on"]
    search_fields = ["name", "location"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Day)
class DayAdmin(EditConflictMixin, MarkdownPreviewMixin, admin.ModelAdmin):
    list_display = ["title", "conference", "number", "date", "author", "updated_at"]
    list_filter = ["conference", "date"]
    search_fields = ["title", "summary", "intro", "author"]
    list_select_related = ["conference"]
    ordering = ["conference", "number"]
    inlines = [TalkInline]
    fieldsets = [
        (None, {"fields": ["conference", "number", "title", "slug", "date"]}),
        ("Text (Markdown)", {"fields": ["intro", "summary"]}),
        ("Sign-off", {"fields": ["author", "author_title", "next_day_title"]}),
    ]

    def get_urls(self):
        return [
            path(
                "markdown-preview/",
                self.admin_site.admin_view(markdown_preview),
                name="talks_markdown_preview",
            ),
            path("import/", self.admin_site.admin_view(import_notes_view), name="talks_day_import"),
            path(
                "import/confirm/",
                self.admin_site.admin_view(import_notes_confirm),
                name="talks_day_import_confirm",
            ),
            *super().get_urls(),
        ]


PARENT_DELETED = (
    "Its parent note is being deleted in this save; delete this note too, or pick another parent."
)
SNIPPET_NOTE_DELETED = (
    "Its highlight is being deleted in this save; pick another, or leave Highlight empty "
    "to put the block at the end of the talk."
)


def ancestor_deleted(note: Highlight) -> str:
    return (
        f"{named_note(note)} above it is being deleted in this save, and the notes under it "
        "with it; delete this note too, or pick another parent."
    )


# The prefix of the highlight rows on a talk's change page (the inline formset's default).
HIGHLIGHTS_PREFIX = Talk.highlights.rel.get_accessor_name()


def notes_deleted_by(
    talk: Talk, data: Mapping[str, Any], *, prefix: str = HIGHLIGHTS_PREFIX
) -> dict[int, int]:
    """The talk's notes that saving its change page's posted ``data`` deletes, each mapped to
    the note ticked for deletion that it goes with (itself, or the nearest one above it).

    Read from what was posted rather than from the highlight rows' forms, so that the snippet
    rows can check against it too, whichever inline is validated first. Parents posted for
    other rows count: a note moved out from under a deleted one stays (see
    HighlightFormSet.save_existing_objects).
    """
    ticked: set[int] = set()
    posted: dict[int, int | None] = {}
    delete = CheckboxInput()
    rows = (re.fullmatch(rf"({re.escape(prefix)}-\d+)-id", key) for key in data)
    for name in (row.group(1) for row in rows if row is not None):
        raw_id = str(data.get(f"{name}-id"))
        if not raw_id.isdigit():
            continue  # a new row
        note_id = int(raw_id)
        if delete.value_from_datadict(data, {}, f"{name}-DELETE"):
            ticked.add(note_id)
        parent = data.get(f"{name}-parent")
        if parent == "":
            posted[note_id] = None
        elif parent is not None and str(parent).isdigit():
            posted[note_id] = int(parent)
    if not ticked or talk.pk is None:  # a new talk has no notes to delete
        return {}
    parents = dict(Highlight.objects.filter(talk=talk).values_list("id", "parent_id"))
    parents.update((note_id, parent) for note_id, parent in posted.items() if note_id in parents)
    return deleted_with(parents, ticked & parents.keys())


MAX_INDENT = 6  # a note's text is indented this many steps at most (static/css/admin-inlines.css)


class HighlightFormSet(NamedRowsFormSet):
    """A talk's highlights. Each row's parent is checked (Highlight.clean) against the stored
    tree with the parents posted in the other rows laid over it, so rows changed together can
    rearrange the tree but cannot close a loop.

    Rows come in the order of the day page, each note followed by the notes under it, which
    are indented (``depth-N``): ordered by position alone, the children of different notes
    came mixed together."""

    def get_queryset(self):
        if not hasattr(self, "_in_tree_order"):
            queryset = super().get_queryset()
            order = matching.tree_order(queryset.values_list("pk", "parent_id", "position"))
            self.depths = dict(order)
            whens = [When(pk=pk, then=Value(index)) for index, (pk, _) in enumerate(order)]
            self._in_tree_order = queryset.order_by(Case(*whens, default=Value(len(order))))
        return self._in_tree_order

    def _construct_form(self, i: int, **kwargs):
        form = super()._construct_form(i, **kwargs)
        depth = min(getattr(self, "depths", {}).get(form.instance.pk, 0), MAX_INDENT)
        if depth and "text" in form.fields:
            attrs = form.fields["text"].widget.attrs
            attrs["class"] = f"{attrs.get('class', '')} depth-{depth}".strip()
        return form

    def full_clean(self) -> None:
        if self.is_bound:
            pending = self._posted_parents()
            for form in self.initial_forms:
                form.instance.pending_parents = pending
        super().full_clean()

    def _posted_parents(self) -> dict[int, int | None]:
        posted = {}
        for form in self.initial_forms:
            raw = form["parent"].data if "parent" in form.fields else None
            if form.instance.pk is None or raw is None:
                continue
            if raw == "":
                posted[form.instance.pk] = None
            elif str(raw).isdigit():
                posted[form.instance.pk] = int(raw)
        return posted

    def clean(self) -> None:
        """Refuse rows edited or added under a note deleted in the same save: the delete takes
        them with it, so the edit would be lost, or the row saved under a note that is gone."""
        super().clean()
        self.going = going = notes_deleted_by(self.instance, self.data, prefix=self.prefix)
        if not going:
            return
        rows = {form.instance.pk: form.instance for form in self.initial_forms}
        for form in self.forms:
            if self._should_delete_form(form) or not form.has_changed():
                continue  # unchanged rows go with their parent, as deleting a note always did
            parent_id = form.instance.parent_id
            if parent_id in going:
                above = going[parent_id]
                error = PARENT_DELETED if above == parent_id else ancestor_deleted(rows[above])
                form.add_error("parent", error)

    def save_existing_objects(self, commit: bool = True) -> list[Highlight]:
        """Save the changed rows, then delete the ticked ones (Django does both in row order):
        a note moved out from under a deleted one is then moved before the delete's cascade
        could take it, with the notes under it. What the cascade took besides the ticked
        notes is kept in ``taken_along``, for the editor's message (TalkAdmin.save_formset)."""
        self._to_delete: list[Highlight] = []
        saved = super().save_existing_objects(commit)
        self.taken_along = self._taken_along(self._to_delete)
        for note in self._to_delete:
            super().delete_existing(note, commit=commit)
        return saved

    def _taken_along(self, ticked: list[Highlight]) -> list[tuple[str, list[str]]]:
        """The text of each ticked note that has notes under it not ticked themselves, with
        theirs: deleting a note deletes the notes nested under it. From what clean() found
        going (``going``), and one query for the texts, only when there are such notes."""
        tops = {note.pk: note.text for note in ticked}
        nested = {pk: top for pk, top in self.going.items() if pk not in tops}
        if not nested:
            return []
        texts = dict(Highlight.objects.filter(pk__in=nested).values_list("pk", "text"))
        taken: dict[int, list[str]] = {}
        for pk in sorted(nested):
            taken.setdefault(nested[pk], []).append(texts[pk])
        return [(tops[top], under) for top, under in sorted(taken.items())]

    def delete_existing(self, obj: Highlight, commit: bool = True) -> None:
        self._to_delete.append(obj)  # see save_existing_objects


class SnippetFormSet(NamedRowsFormSet):
    """A talk's snippets. A block edited or added in the same save that deletes the note it
    follows is refused: saved as posted, it would point at a note that is gone. Blocks left
    as they are stay, at the end of the talk (Snippet.highlight)."""

    def clean(self) -> None:
        super().clean()
        going = notes_deleted_by(self.instance, self.data)
        if not going:
            return
        for form in self.forms:
            if self._should_delete_form(form) or not form.has_changed():
                continue
            if form.instance.highlight_id in going:
                form.add_error("highlight", SNIPPET_NOTE_DELETED)


class HighlightInline(EditorFieldsMixin, FitInlinesMedia, admin.TabularInline):
    model = Highlight
    formset = HighlightFormSet
    fields = ["position", "parent", "style", "kind", "text"]
    extra = 0
    ordering = ["position"]
    show_change_link = True

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        # A parent must be a highlight of the same talk.
        field = formset.form.base_fields.get("parent")
        if field is not None:
            field.queryset = Highlight.objects.filter(talk=obj) if obj else Highlight.objects.none()
        return formset


class SnippetInline(FitInlinesMedia, admin.TabularInline):
    model = Snippet
    formset = SnippetFormSet
    fields = ["position", "highlight", "caption"]
    extra = 0
    show_change_link = True

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        field = formset.form.base_fields.get("highlight")
        if field is not None:
            field.queryset = Highlight.objects.filter(talk=obj) if obj else Highlight.objects.none()
        return formset


@admin.register(Talk)
class TalkAdmin(EditConflictMixin, MarkdownPreviewMixin, admin.ModelAdmin):
    list_display = ["title", "day", "position", "kind"]
    list_filter = ["kind", "day__conference", "day", "tags"]
    search_fields = ["title", "highlights__text"]
    list_select_related = ["day"]
    inlines = [HighlightInline, SnippetInline]
    ordering = ["day", "position"]

    def save_formset(self, request, form, formset, change) -> None:
        super().save_formset(request, form, formset, change)
        for top, nested in getattr(formset, "taken_along", []):
            messages.warning(request, taken_along_message(top, nested))


def taken_along_message(top: str, nested: list[str]) -> str:
    """Deleting a note deleted the notes under it too: which, so that it is no surprise."""
    shown = ", ".join(f"“{Truncator(text).chars(60)}”" for text in nested[:5])
    more = f" and {len(nested) - 5} more" if len(nested) > 5 else ""
    count = "the note" if len(nested) == 1 else f"the {len(nested)} notes"
    return (
        f"Deleting “{Truncator(top).chars(60)}” also deleted {count} nested under it: "
        f"{shown}{more}."
    )


@admin.register(Highlight)
class HighlightAdmin(EditConflictMixin, MarkdownPreviewMixin, admin.ModelAdmin):
    list_display = ["__str__", "talk", "style", "kind", "position", "resolved_at"]
    list_filter = [FollowUpStatusFilter, "kind", "style", "talk__day", "tags"]
    search_fields = ["text", "resolution"]
    list_select_related = ["talk"]
    raw_id_fields = ["talk", "parent"]
    fieldsets = [
        (None, {"fields": ["talk", "parent", "position", "style", "kind", "text", "tags"]}),
        ("Follow-up", {"fields": ["resolved_at", "resolution", "resolution_url"]}),
    ]


class SnippetLinesFormSet(NamedRowsFormSet):
    """A block is its lines: one left without any would show on the day page as an empty box
    with Run all and Copy all buttons that do nothing."""

    default_error_messages = {
        "too_few_forms": "A block needs at least one command line. To remove the block, "
        "delete it (the Delete link at the bottom of this page) instead."
    }


class SnippetLineInline(FitInlinesMedia, admin.TabularInline):
    model = SnippetLine
    formset = SnippetLinesFormSet
    fields = ["position", "command"]
    extra = 0
    min_num = 1
    ordering = ["position"]

    def get_formset(self, request, obj=None, **kwargs):
        return super().get_formset(request, obj, validate_min=True, **kwargs)


@admin.register(Snippet)
class SnippetAdmin(EditConflictMixin, admin.ModelAdmin):
    list_display = ["__str__", "talk", "position", "caption"]
    list_filter = ["talk__day"]
    search_fields = ["lines__command", "caption"]
    list_select_related = ["talk"]
    raw_id_fields = ["talk", "highlight"]
    inlines = [SnippetLineInline]

    def save_related(self, request, form, formsets, change) -> None:
        """Save the lines; then say which of them the runner would refuse, and why: saved as
        written (they are notes), but Run on them would only give the reason."""
        super().save_related(request, form, formsets, change)
        from runner.runs import refusals  # the runner's policy, as Run applies it

        commands = form.instance.lines.order_by("position", "id").values_list("command", flat=True)
        for command, reason in refusals(list(commands)):
            messages.warning(request, f"The runner would refuse “{command}”: {reason}")


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}
