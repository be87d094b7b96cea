"""Keep the search index in step with the notes, on every save and delete.

``post_delete`` also fires for rows removed by a cascade (Django collects them one by one when
a receiver is connected), so deleting a conference empties its part of the index, and so does
``QuerySet.delete()`` in talks.documents.save_day. Writes that send no signals (``bulk_create``,
``QuerySet.update``, raw SQL, ``loaddata``) need ``manage.py rebuild_search_index`` afterwards.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.db.models.signals import post_delete, post_save

from . import search
from .models import Day, Highlight, Snippet, SnippetLine, Talk

INDEXED = {Day: search.Kind.DAY, Talk: search.Kind.TALK, Highlight: search.Kind.HIGHLIGHT}
INDEXED[Snippet] = search.Kind.SNIPPET


def note_saved(sender: type, instance: Any, created: bool, raw: bool, using: str, **kwargs) -> None:
    if raw:  # loaddata: related rows may not exist yet
        return
    if sender is Talk and not created:
        search.move_talk(talk_id=instance.pk, day_id=instance.day_id, using=using)
    search.index_documents([search.document_for(instance, using=using)], using=using)


def note_deleted(sender: type, instance: Any, using: str, **kwargs) -> None:
    search.remove_from_index([search.make_key(INDEXED[sender], instance.pk)], using=using)


def line_saved(sender: type, instance: SnippetLine, raw: bool, using: str, **kwargs) -> None:
    if not raw:
        _reindex_snippet(instance.snippet_id, using)


def line_deleted(sender: type, instance: SnippetLine, using: str, origin: Any = None, **kw) -> None:
    # Lines are only ever cascaded from their snippet, which then leaves the index itself;
    # re-index only when lines alone were deleted.
    if isinstance(origin, SnippetLine) or (
        isinstance(origin, QuerySet) and origin.model is SnippetLine
    ):
        _reindex_snippet(instance.snippet_id, using)


def _reindex_snippet(snippet_id: int, using: str) -> None:
    snippet = Snippet.objects.using(using).filter(pk=snippet_id).first()
    if snippet is not None:
        search.index_documents([search.document_for(snippet, using=using)], using=using)


def connect() -> None:
    """Called from TalksConfig.ready()."""
    for model in INDEXED:
        post_save.connect(note_saved, sender=model, dispatch_uid=f"search-save-{model.__name__}")
        post_delete.connect(
            note_deleted, sender=model, dispatch_uid=f"search-delete-{model.__name__}"
        )
    post_save.connect(line_saved, sender=SnippetLine, dispatch_uid="search-save-SnippetLine")
    post_delete.connect(line_deleted, sender=SnippetLine, dispatch_uid="search-delete-SnippetLine")
