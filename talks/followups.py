"""Follow-ups: notes that ask for investigation (follow-up, question, to-do), and resolving them.

Highlight keeps its plain manager, so the follow-up queries live on a queryset of their own:
``follow_ups().in_conference(conf).open()``.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.validators import URLValidator
from django.db import models, transaction
from django.utils import timezone

from .models import Conference, Highlight, unix_newlines, web_address

KINDS = (Highlight.Kind.FOLLOW_UP, Highlight.Kind.QUESTION, Highlight.Kind.TODO)
STATES = {"open": "Open", "resolved": "Resolved", "all": "All"}
MAX_ANSWER_CHARS = 2000


class FollowUpQuerySet(models.QuerySet[Highlight]):
    def open(self) -> FollowUpQuerySet:
        return self.filter(resolved_at__isnull=True)

    def resolved(self) -> FollowUpQuerySet:
        return self.filter(resolved_at__isnull=False)

    def in_state(self, state: str) -> FollowUpQuerySet:
        return {"open": self.open, "resolved": self.resolved}.get(state, self.all)()

    def in_conference(self, conference: Conference | None) -> FollowUpQuerySet:
        return self if conference is None else self.filter(talk__day__conference=conference)

    def for_listing(self) -> FollowUpQuerySet:
        """With the talk, day and conference each item shows, in reading order."""
        return self.select_related("talk__day__conference").order_by(
            "talk__day__conference__name",
            "talk__day__number",
            "talk__position",
            "talk_id",
            "position",
            "id",
        )

    def counts(self) -> dict[str, int]:
        """How many are open, resolved and in all, in one query."""
        counts = self.aggregate(
            open=models.Count("pk", filter=models.Q(resolved_at__isnull=True)),
            all=models.Count("pk"),
        )
        return {**counts, "resolved": counts["all"] - counts["open"]}


def follow_ups() -> FollowUpQuerySet:
    return FollowUpQuerySet(model=Highlight).filter(kind__in=KINDS)


class WebAddressField(forms.URLField):
    default_validators = [URLValidator(schemes=["http", "https"])]


class AnswerField(forms.CharField):
    """Text from a textarea, whose line breaks browsers send as CRLF but count as one
    character against its maxlength: counted here as they count it, and stored with LF."""

    def to_python(self, value: object) -> str:
        return unix_newlines(super().to_python(value))


class ResolveForm(forms.Form):
    """The answer staff give to a follow-up: a short text and, optionally, a link."""

    resolution = AnswerField(
        label="Answer",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=MAX_ANSWER_CHARS,
        help_text="What was found out, in a sentence or two. Markdown.",
        error_messages={
            "required": "Write a short answer before marking this resolved.",
            "max_length": (
                "Keep the answer to %(limit_value)s characters at most (it has %(show_value)s); "
                "link to the details instead."
            ),
        },
    )
    resolution_url = WebAddressField(
        label="Link (optional)",
        required=False,
        max_length=500,
        assume_scheme="https",
        error_messages={
            "invalid": web_address.message,  # as the admin says it
            "max_length": "That link is too long (500 characters at most).",
        },
    )

    @classmethod
    def for_item(cls, item: Highlight) -> ResolveForm:
        """The form beside a follow-up: a resolved one's holds its answer, to change."""
        initial = {}
        if item.resolved_at is not None:
            initial = {"resolution": item.resolution, "resolution_url": item.resolution_url}
        return cls(prefix=item.anchor, initial=initial)

    def clean_resolution(self) -> str:
        answer = self.cleaned_data["resolution"].strip()
        if not answer:
            raise forms.ValidationError("Write a short answer before marking this resolved.")
        return answer


@transaction.atomic
def resolve(
    *, highlight: Highlight, answer: str, url: str = "", user_id: int | None = None
) -> Highlight:
    """Mark ``highlight`` resolved with ``answer``; it then shows as resolved in the notes.

    Resolving again changes the answer and keeps the first resolution time. With ``user_id``
    the change goes into the admin's history of the note, like an edit made there.
    """
    again = highlight.resolved_at is not None
    highlight.resolution = answer
    highlight.resolution_url = url
    highlight.resolved_at = highlight.resolved_at or timezone.now()
    highlight.save()  # renders resolution_html; the search index follows (talks.signals)
    if user_id is not None:
        LogEntry.objects.log_actions(
            user_id=user_id,
            queryset=[highlight],
            action_flag=CHANGE,
            change_message=f"{'Changed the answer' if again else 'Resolved'}: {answer[:180]}",
            single_object=True,
        )
    return highlight


class FollowUpStatusFilter(admin.SimpleListFilter):
    """Admin list filter: open or resolved follow-ups."""

    title = "follow-up"
    parameter_name = "follow_up"

    def lookups(self, request, model_admin):
        return [("open", "Open follow-ups"), ("resolved", "Resolved follow-ups")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(kind__in=KINDS, resolved_at__isnull=True)
        if self.value() == "resolved":
            return queryset.filter(kind__in=KINDS, resolved_at__isnull=False)
        return queryset
