"""Two editors on one admin page: the second to save must not silently undo the first.

A talk's change page posts every note of the talk, so an editor who opened it, changed only the
title and saved, used to put back every note as it was when the page was opened, undoing a
colleague's fix made meanwhile. Each change page now carries a digest of what it shows (the
object's row, its many-to-many choices and the rows of its inlines); a save whose page was
opened before another save is refused, saving nothing, with what the editor typed still in the
form. Saving that form again replaces the other changes on purpose (the page then carries the
new digest), the way a second click means "yes, mine".
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Model

CONFLICT = (
    "Someone saved changes to this {what} after you opened this page, so nothing was saved: "
    "saving your version now would have undone theirs. To see their changes, open this page "
    "again in another tab. What you typed is still below: save again to replace their changes "
    "with yours."
)


def _rows(queryset: Any) -> list:
    fields = [field.attname for field in queryset.model._meta.concrete_fields]
    return list(queryset.order_by("pk").values_list(*fields))


def edit_digest(obj: Model, related: list[tuple[type[Model], str]]) -> str:
    """A digest of ``obj`` as its change page shows it: its row, its many-to-many choices
    and the rows of ``related`` (model, name of its foreign key to ``obj``), one query each."""
    model = type(obj)
    state: list = [_rows(model._default_manager.filter(pk=obj.pk))]
    for field in model._meta.many_to_many:
        state.append(sorted(getattr(obj, field.name).values_list("pk", flat=True)))
    for related_model, fk_name in related:
        state.append(_rows(related_model._default_manager.filter(**{fk_name: obj.pk})))
    return hashlib.sha256(json.dumps(state, default=str).encode()).hexdigest()


class ConflictCheckedForm(forms.ModelForm):
    """A ModelForm that remembers, in a hidden field, the digest of what its page showed."""

    seen = forms.CharField(widget=forms.HiddenInput, required=False)
    related: list[tuple[type[Model], str]] = []  # set by EditConflictMixin.get_form

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None and not self.is_bound:
            self.initial["seen"] = edit_digest(self.instance, self.related)

    @cached_property
    def changed_data(self) -> list[str]:
        """The digest is no field of the object: never "changed" in the admin's history."""
        return [name for name in super().changed_data if name != "seen"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        seen = cleaned.get("seen")
        if self.instance.pk is None or not seen:
            return cleaned
        now = edit_digest(self.instance, self.related)
        if seen != now:
            # The form shown again carries the new digest: saving it again is deliberate.
            self.data = self.data.copy()
            self.data[self.add_prefix("seen")] = now
            what = self.instance._meta.verbose_name
            raise ValidationError(CONFLICT.format(what=what), code="edit_conflict")
        return cleaned


class EditConflictMixin:
    """For a ModelAdmin: refuse a save whose page is older than the object's last change."""

    form = ConflictCheckedForm

    def get_form(self, request: Any, obj: Model | None = None, change: bool = False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.related = [
            (inline.model, _foreign_key_to(inline.model, self.model)) for inline in self.inlines
        ]
        return form

    def get_fieldsets(self, request: Any, obj: Model | None = None):
        """Declared fieldsets name the fields shown; the hidden digest goes in the first."""
        fieldsets = super().get_fieldsets(request, obj)
        if any("seen" in options["fields"] for _, options in fieldsets):
            return fieldsets
        (name, options), *rest = fieldsets
        return [(name, {**options, "fields": [*options["fields"], "seen"]}), *rest]


def _foreign_key_to(model: type[Model], parent: type[Model]) -> str:
    (field,) = [
        field
        for field in model._meta.get_fields()
        if field.many_to_one and field.concrete and field.related_model is parent
    ]
    return field.name
