"""Exporting notes: a day or a whole conference as Markdown (which imports back) or JSON.

Both exporters read the database into ``DayDoc``s first (``day_document``, a fixed number of
queries per day), so they write exactly what an import would save. Snippet outputs come from
the caller as ``{snippet_line_id: text}``: the runner records them; this module never imports it
(``last_outputs`` asks Django's app registry for its model, the way talks.cache does).
The Markdown format is described in docs/export-schema.md, next to the JSON schema.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.text import Truncator, slugify

from .documents import ConferenceDoc, DayDoc, HighlightDoc, SnippetDoc, TalkDoc
from .importing.detect import (
    SlugAllocator,
    classify_talk_heading,
    day_marker,
    format_attrs,
    infer_highlight_kind,
    is_heading_like,
    is_summary_marker,
    next_day_title,
    short_slug,
    split_attrs,
    strip_prompt,
    url_only,
)
from .importing.markdown_text import (
    ends_like_attrs,
    fence_info,
    note_lines,
    reads_as_code_text,
    reads_as_paragraph,
)
from .models import Conference, Day, Highlight, Snippet, SnippetLine, Talk
from .views import NotFound

SCHEMA_VERSION = 1


@dataclass
class ExportedSnippet(SnippetDoc):
    """A snippet as stored: with the ids a runner keys its outputs by."""

    id: int | None = None
    line_ids: list[int] = field(default_factory=list)


@dataclass
class ExportedHighlight(HighlightDoc):
    """A highlight as stored: with its id (its answer, if any, is a ``HighlightDoc`` field)."""

    id: int | None = None


def _snippet_doc(snippet: Snippet) -> ExportedSnippet:
    lines = list(snippet.lines.all())
    return ExportedSnippet(
        lines=[line.command for line in lines],
        caption=snippet.caption,
        language=snippet.language,
        id=snippet.pk,
        line_ids=[line.pk for line in lines],
    )


def _highlight_doc(highlight: Highlight) -> ExportedHighlight:
    return ExportedHighlight(
        text=highlight.text,
        style=highlight.style,
        kind=highlight.kind,
        tags=[tag.name for tag in highlight.tags.all()],
        children=[_highlight_doc(child) for child in highlight.notes],
        snippets=[_snippet_doc(s) for s in highlight.snippet_blocks],
        id=highlight.pk,
        resolved_at=highlight.resolved_at,
        resolution=highlight.resolution,
        resolution_url=highlight.resolution_url,
    )


def conference_document(conference: Conference) -> ConferenceDoc:
    return ConferenceDoc(
        name=conference.name,
        slug=conference.slug,
        location=conference.location,
        starts_on=conference.starts_on,
        description=conference.description,
    )


def day_document(day: Day) -> DayDoc:
    """The day as stored, as a ``DayDoc`` (with ids), in a fixed number of queries."""
    talks = Talk.objects.filter(day=day).with_notes()
    return DayDoc(
        conference=conference_document(day.conference),
        number=day.number,
        title=day.title,
        date=day.date,
        intro=day.intro,
        summary=day.summary,
        author=day.author,
        author_title=day.author_title,
        next_day_title=day.next_day_title,
        talks=[
            TalkDoc(
                title=talk.title,
                kind=talk.kind,
                session_url=talk.session_url,
                tags=[tag.name for tag in talk.tags.all()],
                highlights=[_highlight_doc(h) for h in talk.notes],
                snippets=[_snippet_doc(s) for s in talk.snippet_blocks],
                slug=talk.slug,
            )
            for talk in talks
        ],
    )


def last_outputs(days: Iterable[Day]) -> dict[int, str]:
    """The last recorded output of each snippet line of ``days``, as ``{line_id: text}``.

    It is what the day page shows under the line, "Last run by a reader": the line's latest
    finished run that printed something (``Run.objects.last_per_line``), its output then its
    messages from the engine (stdout, then stderr). Empty without the runner app.
    """
    if not apps.is_installed("runner"):
        return {}
    run_model = apps.get_model("runner", "Run")
    line_ids = list(
        SnippetLine.objects.filter(snippet__talk__day__in=list(days)).values_list("pk", flat=True)
    )
    outputs = {}
    for line_id, run in run_model.objects.last_per_line(line_ids).items():
        text = "\n".join(part.rstrip("\n") for part in (run.stdout, run.stderr) if part.strip())
        if run.finished and text:
            outputs[line_id] = text
    return outputs


# --- Markdown ------------------------------------------------------------------------------


class MarkdownExporter:
    """Notes as a readable Markdown document that ``import_notes`` reads back unchanged.

    Facts the text would not make obvious are written as attribute blocks
    (``{#slug .kind tags=a,b}``), and only then: a note reading "Need to figure out details"
    needs no ``.follow-up``. A follow-up's answer is one too:
    ``{resolved=2016-06-21T09:30:00+00:00 resolution="It is." resolution-url=https://...}``.
    """

    content_type = "text/markdown; charset=utf-8"
    extension = "md"

    def __init__(self, *, outputs: Mapping[int, str] | None = None) -> None:
        self.outputs = outputs or {}

    def export_day(self, day: Day) -> str:
        return self.render_day(day_document(day))

    def export_conference(self, conference: Conference) -> str:
        days = [day_document(day) for day in conference.days.select_related("conference")]
        return self.render_conference(conference_document(conference), days)

    def render_day(self, doc: DayDoc) -> str:
        front = {**_conference_front_matter(doc.conference), "day": str(doc.number)}
        if doc.date:
            front["date"] = doc.date.isoformat()
        return _join([_front_matter(front), *self._day(doc, title_attrs="")])

    def render_conference(self, conference: ConferenceDoc, days: list[DayDoc]) -> str:
        parts = [_front_matter(_conference_front_matter(conference))]
        for doc in days:
            values = {}
            if _title_day_number(doc.title) != doc.number:
                values["day"] = str(doc.number)
            if doc.date:
                values["date"] = doc.date.isoformat()
            parts += self._day(doc, title_attrs=format_attrs(values=values))
        return _join(parts)

    # --- day and talks --------------------------------------------------------------------

    def _day(self, doc: DayDoc, *, title_attrs: str) -> list[str]:
        reads_as_talk = classify_talk_heading(doc.title).explicit
        if not title_attrs and reads_as_talk and _title_day_number(doc.title) is None:
            title_attrs = format_attrs(values={"day": str(doc.number)})  # "Keynote day"
        if not title_attrs and split_attrs(_heading_text(doc.title))[1] is not None:
            # The title ends like an attribute block ("… {day=3}"): a real one after it keeps
            # the importer from taking the title's own for it.
            title_attrs = format_attrs(values={"day": str(doc.number)})
        parts = [f"# {_heading_text(doc.title)}{title_attrs}"]
        if doc.intro.strip():
            parts.append(doc.intro.strip())
        slugs = SlugAllocator()
        for talk in doc.talks:
            parts += self._talk(talk, slugs)
        if doc.summary.strip():
            parts += ["## Summary", doc.summary.strip()]
        if doc.next_day_title:
            parts.append(f"See my day {doc.number + 1} notes here: {doc.next_day_title}")
        if doc.author:
            parts += ["---", doc.author]
            if doc.author_title:
                parts.append(doc.author_title)
        return parts

    def _talk(self, talk: TalkDoc, slugs: SlugAllocator) -> list[str]:
        heading = talk.title
        read = classify_talk_heading(heading)
        if read.title != talk.title or day_marker(heading) or is_summary_marker(heading):
            heading = f"“{talk.title}”"
            read = classify_talk_heading(heading)
        classes = [talk.kind] if talk.kind != read.kind else []
        expected = read.slug if talk.kind == read.kind else short_slug(read.title, kind=talk.kind)
        slug = ""
        if slugs.peek(expected) == talk.slug:
            slugs.take(expected)
        else:
            slug = talk.slug
            slugs.take(talk.slug)
        parts = [f"## {heading}{format_attrs(slug=slug, classes=classes, tags=talk.tags)}"]
        if talk.session_url:
            parts.append(f"<{talk.session_url}>")
        parts += self._top_level(talk.highlights, session_url=bool(talk.session_url))
        if talk.snippets:
            if talk.highlights:
                parts.append("<!-- -->")  # commands of the talk, not of its last note
            parts += [self._fence(snippet) for snippet in talk.snippets]
        return parts

    def _top_level(self, highlights: list[HighlightDoc], *, session_url: bool) -> list[str]:
        """Top-level notes: paragraphs, ### group headings and lists, each as the importer
        will read it back; ``<!-- -->`` keeps a list from nesting under what precedes it."""
        forms = [self._form(h) for h in highlights]
        parts: list[str] = []
        items: list[str] = []
        absorbing = False  # would a list starting here nest under (or join) the last block?
        for index, highlight in enumerate(highlights):
            form = forms[index]
            if form == "item":
                if not items and absorbing:
                    parts.append("<!-- -->")
                items += self._item(highlight, depth=0)
                continue
            if items:
                parts.append("\n".join(items))
                items = []
            text = highlight.text.strip()
            list_follows = bool(highlight.children) or (
                not highlight.snippets and index + 1 < len(forms) and forms[index + 1] == "item"
            )
            # A code block is read as code whatever follows it (see _form); prose may not be.
            misread = (
                form == "paragraph"
                and not reads_as_code_text(text)
                and (
                    bool(next_day_title(text))
                    or (index == 0 and not session_url and bool(url_only(text)))
                    or (list_follows and is_heading_like(text))
                )
            )
            attrs = self._attrs(highlight, written_style=form, misread=misread)
            if form == "heading":
                parts.append(f"### {text}{attrs}")
            else:
                parts.append(text + attrs)
            if highlight.children:
                children: list[str] = []
                for child in highlight.children:
                    children += self._item(child, depth=0)
                parts.append("\n".join(children))
            parts += [self._fence(s) for s in highlight.snippets]
            nests = form == "heading" or _nests(text) or bool(highlight.children)
            absorbing = nests and not highlight.snippets
        if items:
            parts.append("\n".join(items))
        return parts

    def _form(self, highlight: HighlightDoc) -> str:
        """How a top-level note is written: "heading", "paragraph" or "item"."""
        text = highlight.text.strip()
        if highlight.style == "heading":
            single = "\n" not in text and not text.endswith("#") and not _fenced_only(text)
            return "heading" if single else "item"
        if highlight.style == "paragraph":
            if highlight.children and not _nests(text):
                return "item"  # a list after it would not nest: say so on an item instead
            if reads_as_paragraph(text):
                return "paragraph"
            if reads_as_code_text(text) and not self._attrs(highlight, written_style="paragraph"):
                return "paragraph"  # a code block, as the importer keeps it (it has no attrs)
            # Two paragraphs would read as two notes, a list as notes, a line "# x" as a talk:
            # in a list item, all of these are the note's text (see note_lines).
            return "item"
        return "item"

    def _attrs(self, highlight: HighlightDoc, *, written_style: str, misread: bool = False) -> str:
        """The attribute block a note needs so the importer reads it as it is."""
        style = highlight.style
        text = highlight.text.strip()
        classes = []
        if (written_style == "item" and style != "bullet") or misread:
            classes.append(style)
        if highlight.kind != infer_highlight_kind(text, style=style):
            classes.append(highlight.kind)
        values = _resolution_values(highlight)
        if not (classes or highlight.tags or values) and ends_like_attrs(text):
            classes.append(style)  # the text ends like an attribute block: add a real one
        return format_attrs(classes=classes, tags=highlight.tags, values=values)

    def _item(self, highlight: HighlightDoc, *, depth: int) -> list[str]:
        pad = "  " * depth
        lines = note_lines(highlight.text, attrs=self._attrs(highlight, written_style="item"))
        out = [f"{pad}- {lines[0]}"]
        out += [f"{pad}  {line}" if line else "" for line in lines[1:]]
        for snippet in highlight.snippets:
            fence = self._fence(snippet).split("\n")
            out += ["", *(f"{pad}  {line}" if line else "" for line in fence), ""]
        for child in highlight.children:
            out += self._item(child, depth=depth + 1)
        return out

    def _fence(self, snippet: SnippetDoc) -> str:
        """A code block in the snippet's language (``console``, ``bash``…; see ``fence_info``):
        each command after ``$ ``, then its output if one was given.

        An output line is kept from reading as a command or a caption (a space before ``$ ``
        or ``#``), and the fence is longer than any run of backticks in the block, so output
        holding a fence of its own cannot end it. Outputs are not imported (the importer
        reports them as lines of output left out).
        """
        body = [f"# {snippet.caption}"] if snippet.caption else []
        ids = getattr(snippet, "line_ids", [])
        for index, command in enumerate(snippet.lines):
            body.append(f"$ {command}")
            output = self.outputs.get(ids[index]) if index < len(ids) else None
            if output:
                # The importer ends a line at "\r" too: a line after one must be guarded.
                for line in re.split(r"\r\n|\r|\n", output.rstrip("\r\n")):
                    body.append(
                        " " + line if strip_prompt(line)[1] or line.startswith("#") else line
                    )
        longest = max((len(run) for run in re.findall(r"`{3,}", "\n".join(body))), default=0)
        ticks = "`" * max(3, longest + 1)
        return "\n".join([ticks + fence_info(snippet.language), *body, ticks])


def _resolution_values(highlight: HighlightDoc) -> dict[str, str]:
    """A follow-up's answer as attribute values, which the importer reads back."""
    values = {}
    if highlight.resolved_at:
        values["resolved"] = highlight.resolved_at.isoformat()
    if highlight.resolution:
        values["resolution"] = highlight.resolution
    if highlight.resolution_url:
        values["resolution-url"] = highlight.resolution_url
    return values


def _title_day_number(title: str) -> int | None:
    match = re.search(r"\bday\s+(\d{1,3})\b", title, re.IGNORECASE)
    return int(match.group(1)) if match else None


def _conference_front_matter(conference: ConferenceDoc) -> dict[str, str]:
    front = {"conference": conference.name}
    if conference.slug != slugify(conference.name):
        front["conference-slug"] = conference.slug
    if conference.location:
        front["location"] = conference.location
    if conference.starts_on:
        front["starts-on"] = conference.starts_on.isoformat()
    return front


def _front_matter(values: dict[str, str]) -> str:
    return "\n".join(
        ["---", *(f"{key}: {' '.join(v.split())}" for key, v in values.items()), "---"]
    )


def _join(parts: list[str]) -> str:
    return "\n\n".join(part for part in parts if part) + "\n"


def _heading_text(text: str) -> str:
    return " ".join(text.split())


def _nests(text: str) -> bool:
    """A paragraph ending with ":" takes the list that follows it as its children."""
    return text.rstrip().endswith(":")


def _fenced_only(text: str) -> bool:
    return text.startswith(("```", "~~~")) and text.rstrip().endswith(("```", "~~~"))


def _misread_paragraph(text: str) -> bool:
    """Would this paragraph, written plainly, be read as something else?"""
    return bool(url_only(text) or next_day_title(text) or is_heading_like(text))


# --- JSON ----------------------------------------------------------------------------------


class JsonExporter:
    """Notes as JSON following docs/export-schema.md (``format: confnotes``, version 1)."""

    content_type = "application/json; charset=utf-8"
    extension = "json"

    def __init__(self, *, outputs: Mapping[int, str] | None = None, base_url: str = "") -> None:
        self.outputs = outputs or {}
        self.base_url = base_url.rstrip("/")

    def export_day(self, day: Day) -> str:
        return self._dump(day.conference, [day])

    def export_conference(self, conference: Conference) -> str:
        return self._dump(conference, list(conference.days.select_related("conference")))

    def _dump(self, conference: Conference, days: list[Day]) -> str:
        data = {
            "format": "confnotes",
            "version": SCHEMA_VERSION,
            "conference": {
                **_conference_json(conference_document(conference)),
                "url": self.base_url + conference.get_absolute_url(),
            },
            "days": [self._day(day) for day in days],
        }
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"

    def _day(self, day: Day) -> dict[str, Any]:
        doc = day_document(day)
        return {
            "number": doc.number,
            "slug": day.slug,
            "title": doc.title,
            "date": doc.date.isoformat() if doc.date else None,
            "url": self.base_url + day.get_absolute_url(),
            "intro": doc.intro,
            "summary": doc.summary,
            "author": doc.author,
            "author_title": doc.author_title,
            "next_day_title": doc.next_day_title,
            "updated_at": day.updated_at.isoformat(),
            "talks": [self._talk(talk) for talk in doc.talks],
        }

    def _talk(self, talk: TalkDoc) -> dict[str, Any]:
        return {
            "title": talk.title,
            "slug": talk.slug,
            "kind": talk.kind,
            "session_url": talk.session_url,
            "tags": talk.tags,
            "highlights": [self._highlight(h) for h in talk.highlights],
            "snippets": [self._snippet(s) for s in talk.snippets],
        }

    def _highlight(self, highlight: HighlightDoc) -> dict[str, Any]:
        exported = highlight if isinstance(highlight, ExportedHighlight) else None
        resolution = None
        if exported and exported.resolved_at:
            resolution = {
                "resolved_at": exported.resolved_at.isoformat(),
                "text": exported.resolution,
                "url": exported.resolution_url,
            }
        return {
            "id": exported.id if exported else None,
            "style": highlight.style,
            "kind": highlight.kind,
            "text": highlight.text,
            "tags": highlight.tags,
            "resolution": resolution,
            "snippets": [self._snippet(s) for s in highlight.snippets],
            "children": [self._highlight(h) for h in highlight.children],
        }

    def _snippet(self, snippet: SnippetDoc) -> dict[str, Any]:
        ids: list[int | None] = list(getattr(snippet, "line_ids", []))
        ids += [None] * (len(snippet.lines) - len(ids))
        return {
            "id": getattr(snippet, "id", None),
            "caption": snippet.caption,
            "language": snippet.language,
            "lines": [
                {
                    "id": line_id,
                    "command": command,
                    "last_output": self.outputs.get(line_id) if line_id is not None else None,
                }
                for line_id, command in zip(ids, snippet.lines, strict=True)
            ],
        }


def _conference_json(conference: ConferenceDoc) -> dict[str, Any]:
    return {
        "name": conference.name,
        "slug": conference.slug,
        "location": conference.location,
        "starts_on": conference.starts_on.isoformat() if conference.starts_on else None,
        "description": conference.description,
    }


EXPORTERS: dict[str, type[MarkdownExporter] | type[JsonExporter]] = {
    "md": MarkdownExporter,
    "json": JsonExporter,
}


# --- views -------------------------------------------------------------------------------


def _check_format(request: HttpRequest, fmt: str) -> None:
    """A format there is no exporter for: a 404 naming the ones there are, with their links."""
    if fmt in EXPORTERS:
        return
    base = request.path.removesuffix(f".{fmt}")
    raise NotFound(
        f"There is no “.{Truncator(fmt).chars(20)}” export of these notes",
        others_label="they export as",
        others=[("Markdown (.md)", f"{base}.md"), ("JSON (.json)", f"{base}.json")],
    )


def _exporter(request: HttpRequest, fmt: str, days: list[Day]) -> MarkdownExporter | JsonExporter:
    """The exporter for ``fmt``, given the last recorded outputs when ``?outputs=1`` asks."""
    outputs = last_outputs(days) if request.GET.get("outputs") == "1" else None
    if fmt == "md":
        return MarkdownExporter(outputs=outputs)
    return JsonExporter(outputs=outputs, base_url=request.build_absolute_uri("/"))


def _response(
    content: str, *, exporter: MarkdownExporter | JsonExporter, name: str
) -> HttpResponse:
    response = HttpResponse(content, content_type=exporter.content_type)
    response["Content-Disposition"] = f'inline; filename="{name}.{exporter.extension}"'
    return response


def export_day_view(
    request: HttpRequest, conference_slug: str, day_slug: str, fmt: str
) -> HttpResponse:
    """GET /c/<conference>/<day>/export.md (or .json): one day of notes; ``?outputs=1`` adds
    each command's last recorded output."""
    day = get_object_or_404(
        Day.objects.with_conference(), conference__slug=conference_slug, slug=day_slug
    )
    _check_format(request, fmt)
    exporter = _exporter(request, fmt, [day])
    return _response(
        exporter.export_day(day), exporter=exporter, name=f"{conference_slug}-{day_slug}"
    )


def export_conference_view(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
    """GET /c/<conference>/export.md (or .json): every day of a conference; ``?outputs=1``
    adds each command's last recorded output."""
    conference = get_object_or_404(Conference, slug=slug)
    _check_format(request, fmt)
    exporter = _exporter(request, fmt, list(conference.days.all()))
    return _response(exporter.export_conference(conference), exporter=exporter, name=slug)
