"""What the admin's pages post: change pages built from stored rows, for tests to change a field
of, and the hidden fields of an import's preview to confirm it with."""

from __future__ import annotations

import re

from talks.models import Highlight, Snippet, Talk


def note_form(note: Highlight, **changes) -> dict:
    """What the note's change page posts, with ``changes``."""
    data = {
        "talk": note.talk_id,
        "parent": note.parent_id or "",
        "position": note.position,
        "style": note.style,
        "kind": note.kind,
        "text": note.text,
        "resolved_at_0": "",
        "resolved_at_1": "",
        "resolution": note.resolution,
        "resolution_url": note.resolution_url,
    }
    return data | changes


def inline_form(talk: Talk, rows: list[tuple[Highlight, Highlight | None]]) -> dict:
    """The talk's change page posting ``rows`` of its highlights with the parents given."""
    data = {
        "day": talk.day_id,
        "position": talk.position,
        "kind": talk.kind,
        "title": talk.title,
        "slug": talk.slug,
        "session_url": talk.session_url,
        "highlights-TOTAL_FORMS": len(rows),
        "highlights-INITIAL_FORMS": len(rows),
        "highlights-MIN_NUM_FORMS": 0,
        "highlights-MAX_NUM_FORMS": 1000,
        "snippets-TOTAL_FORMS": 0,
        "snippets-INITIAL_FORMS": 0,
        "snippets-MIN_NUM_FORMS": 0,
        "snippets-MAX_NUM_FORMS": 1000,
    }
    for i, (note, parent) in enumerate(rows):
        data.update(
            {
                f"highlights-{i}-id": note.pk,
                f"highlights-{i}-talk": talk.pk,
                f"highlights-{i}-position": note.position,
                f"highlights-{i}-parent": parent.pk if parent else "",
                f"highlights-{i}-style": note.style,
                f"highlights-{i}-kind": note.kind,
                f"highlights-{i}-text": note.text,
            }
        )
    return data


def snippet_form(snippet: Snippet, commands: list[str]) -> dict:
    """The block's change page posting ``commands`` as its lines, in order: the stored lines
    rewritten in place, more added, and those left over ticked for deletion."""
    stored = list(snippet.lines.order_by("position", "id"))
    rows = max(len(stored), len(commands))
    data = {
        "talk": snippet.talk_id,
        "highlight": snippet.highlight_id or "",
        "position": snippet.position,
        "caption": snippet.caption,
        "language": snippet.language,
        "lines-TOTAL_FORMS": rows,
        "lines-INITIAL_FORMS": len(stored),
        "lines-MIN_NUM_FORMS": 0,
        "lines-MAX_NUM_FORMS": 1000,
    }
    for i in range(rows):
        line = stored[i] if i < len(stored) else None
        command = commands[i] if i < len(commands) else line.command
        data |= {f"lines-{i}-snippet": snippet.pk, f"lines-{i}-position": i}
        data |= {f"lines-{i}-command": command, f"lines-{i}-id": line.pk if line else ""}
        if i >= len(commands):
            data[f"lines-{i}-DELETE"] = "on"
    return data


def token_of(response) -> str:
    """The import preview's token, sent back on confirm."""
    return re.search(r'name="token" value="([^"]+)"', response.content.decode()).group(1)


def seen_of(response) -> str:
    """The digest of the removals the preview showed, sent back on confirm."""
    return re.search(r'name="removals" value="([0-9a-f]+)"', response.content.decode()).group(1)
