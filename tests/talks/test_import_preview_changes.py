"""The import preview lists the stored texts a re-import would replace with the file's (notes,
talk titles, the day's texts, captions, command lines), each as a short "before → after"
grouped by talk, marks those edited in the admin since the day's last import, and still asks
again when the stored day changed after the preview."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.utils.html import escape

from talks.documents import save_day
from talks.exporting import MarkdownExporter
from talks.importing import read_notes
from talks.importing.overwrites import IMPORT_LOG_PREFIX, MAX_SHOWN, Part, before_after
from talks.importing.preview import day_previews
from talks.models import Day, Highlight, Snippet, SnippetLine, Talk
from tests.factories import big_day_doc
from tests.talks.admin_forms import inline_form, note_form, seen_of, snippet_form, token_of
from tests.talks.test_import_seed import SEED

URL = "/admin/talks/day/import/"
CONFIRM = "/admin/talks/day/import/confirm/"
FIXED = "Docker for Mac beta is now open to anyone at https://www.docker.com/products/docker#/mac"


def preview(client, text: str):
    response = client.post(URL, {"format": "auto", "text": text})
    assert response.status_code == 200, response.content.decode()[:2000]
    return response


def confirm(client, response, **more):
    data = {"token": token_of(response), "removals": seen_of(response), **more}
    return client.post(CONFIRM, data)


def listed(response) -> str:
    """The list of stored texts replaced (one day's), as HTML; "" when there is none."""
    found = re.search(
        r'<section class="import-overwrites".*?</section>', response.content.decode(), re.S
    )
    return found[0] if found else ""


def items(response) -> list[str]:
    """Each listed stored text, as its text: "Note #24 edited in the admin … “…” → “…”"."""
    return [
        " ".join(re.sub(r"<[^>]+>", "", item).split())
        for item in re.findall(r"<li>(.*?)</li>", listed(response), re.S)
    ]


def the_fixed_note(day: Day) -> Highlight:
    return Highlight.objects.get(talk__day=day, text__startswith="Docker for Mac Beta")


def fix_in_the_admin(client, note: Highlight, text: str) -> None:
    """An editor fixes the note's text on its own change page, as QA did."""
    page = f"/admin/talks/highlight/{note.pk}/change/"
    tags = list(note.tags.values_list("pk", flat=True))
    assert client.post(page, note_form(note, text=text, tags=tags)).status_code == 302


def test_it_lists_a_note_fixed_in_the_admin_that_the_import_would_replace(staff_client, demo_day):
    note = the_fixed_note(demo_day)
    fix_in_the_admin(staff_client, note, FIXED)

    response = preview(staff_client, SEED.read_text())
    page = response.content.decode()
    assert "Removes nothing" in page  # the removals, as before...
    assert "<strong>Rewrites</strong> 1 stored text with the notes’" in page  # ...and this
    section = listed(response)
    assert '<h4 id="overwrites-1">This stored text will be replaced by the one in these notes' in (
        section
    )
    assert "<h5>Keynote highlights</h5>" in section
    assert f'<a href="/admin/talks/highlight/{note.pk}/change/">Note #{note.pk}</a>' in section
    assert "“Docker for Mac <del>beta</del> is now open to …”" in section
    assert "“Docker for Mac <ins>Beta</ins> is now open to …”" in section
    [item] = items(response)
    assert re.match(rf"Note #{note.pk} edited in the admin on .* by editor Stored:", item)
    assert "It was edited in the admin</strong>: importing undoes that edit." in section
    assert "1 of them was edited in the admin (marked above): that edit is lost on import." in page
    assert "confirm_removal" not in page  # the import button covers what it lists

    confirmed = confirm(staff_client, response)
    assert confirmed.status_code == 302
    note.refresh_from_db()
    assert note.text.startswith("Docker for Mac Beta")  # the file's, as the preview said


def test_an_identical_file_says_it_rewrites_nothing(staff_client, demo_day):
    response = preview(staff_client, MarkdownExporter().export_day(demo_day))
    assert "Rewrites no stored text: where these notes and the stored day meet" in (
        response.content.decode()
    )
    assert listed(response) == ""


def test_a_new_day_lists_nothing_replaced(staff_client, db):
    response = preview(staff_client, SEED.read_text())
    page = response.content.decode()
    assert "a new day." in page
    assert "Rewrites" not in page and listed(response) == ""


def test_it_lists_titles_day_texts_captions_commands_kinds_and_answers(staff_client, demo_day):
    snippet = Snippet.objects.get(talk__day=demo_day)
    snippet.caption = "Try these"
    snippet.save()
    follow_up = Highlight.objects.get(talk__day=demo_day, text__startswith="Docker for Mac allows")
    follow_up.resolution = "Use the volume mounts."
    follow_up.save()
    markdown = MarkdownExporter().export_day(demo_day)
    edited = (
        markdown.replace("## Keynote highlights {", "## Keynote Highlights! {#keynote ")
        .replace("Here are some running higlights…", "Here are some running highlights…")
        .replace("Good first day.", "A good first day.")
        .replace("\nRyan Walls\n", "\nR. Walls\n")
        .replace("$ docker service ls\n", "$ docker service ls --filter name=vote\n")
        .replace("- Use TLS {tags=networking}", "- Use TLS {.follow-up tags=networking}")
        .replace("Use the volume mounts.", "Use bind mounts.")
        .replace("# Try these\n", "# Try this\n")
    )
    assert "Try this" in edited and "Use bind mounts." in edited  # the export writes both
    response = preview(staff_client, edited)
    found = items(response)
    section = listed(response)
    assert re.findall(r"<h5>(.*?)</h5>", section) == [
        "The day",
        "Keynote highlights",
        "The Golden Ticket: Docker and High Security Microservices",
    ]
    assert f'<a href="/admin/talks/day/{demo_day.pk}/change/">Intro</a>' in section
    texts = [item.split(" Stored: ", 1)[1] for item in found]
    assert texts == [
        "“… Here are some running higlights…” → becomes: “… Here are some running highlights…”",
        "“Good first day. Highlight for …” → becomes: “A good first day. Highlight for …”",
        "“Ryan Walls, Software Engineering Manager …” → becomes: “R. Walls, Software Engineering "
        "Manager …”",
        "“Keynote highlights” → becomes: “Keynote Highlights!”",
        "“Use the volume mounts.” → becomes: “Use bind mounts.”",
        "“Try these” → becomes: “Try this”",
        "“docker service ls” → becomes: “docker service ls --filter name=vote”",
        "“note” → becomes: “follow-up”",
    ]
    labels = [item.split(" Stored: ", 1)[0] for item in found]
    line = SnippetLine.objects.get(snippet=snippet, command="docker service ls")
    tls = Highlight.objects.get(talk__day=demo_day, text="Use TLS")
    assert labels == [
        "Intro",
        "Summary",
        "Sign-off",
        "Talk title",
        f"Note #{follow_up.pk} Answer:",
        f"Block #{snippet.pk} Caption:",
        f"Command line #{line.pk}",
        f"Note #{tls.pk} Kind:",
    ]
    assert "<del>higlights…</del>" in section and "<ins>highlights…</ins>" in section
    assert "<ins>--filter name=vote</ins>" in section
    assert "edited in the admin" not in section  # saved in code, not in the admin


def test_it_escapes_what_it_shows(staff_client, demo_day):
    note = the_fixed_note(demo_day)
    note.text = 'Docker for Mac <script>alert("x")</script> is now open'
    note.save()
    text = SEED.read_text().replace(
        "Docker for Mac Beta is now", 'Docker for Mac <img src=x onerror="alert(1)"> is now'
    )
    section = listed(preview(staff_client, text))
    assert "<script>" not in section and "<img" not in section
    script, image = '<script>alert("x")</script>', '<img src=x onerror="alert(1)">'
    assert f"<del>{escape(script)}</del>" in section
    assert f"<ins>{escape(image)}</ins>" in section


def test_it_shows_the_changed_words_of_a_long_note_and_a_short_context(staff_client, demo_day):
    note = the_fixed_note(demo_day)
    words = [f"word{i}" for i in range(300)]
    note.text = " ".join(words)
    note.save()
    words[150] = "CHANGED"
    text = SEED.read_text().replace(
        "Docker for Mac Beta is now open to anyone at https://www.docker.com/products/docker#/mac",
        " ".join(words),
    )
    [item] = items(preview(staff_client, text))
    assert "“… word146 word147 word148 word149 word150 word151 word152 word153 word154 …”" in (
        item.replace("<del>", "")
    )
    assert "word149 CHANGED word151" in item
    assert "word10 " not in item and "word200" not in item
    assert len(item) < 300


def test_it_lists_the_first_twenty_and_counts_the_rest(staff_client, demo_day):
    notes = list(Highlight.objects.filter(talk__day=demo_day).order_by("pk")[:25])
    for note in notes:
        note.text += " (edited)"
        note.save()
    response = preview(staff_client, SEED.read_text())
    page = response.content.decode()
    assert "These 25 stored texts will be replaced by the ones in these notes" in page
    assert "; the first 20 are listed." in page
    assert len(items(response)) == MAX_SHOWN == 20
    assert "… and 5 more stored texts replaced, not listed here." in page


def test_it_marks_edits_made_on_a_talks_page_and_not_those_before_the_last_import(
    staff_client, demo_day
):
    talk = Talk.objects.get(day=demo_day, slug="keynote")
    rows = [(note, note.parent) for note in talk.highlights.order_by("position", "pk")]
    form = inline_form(talk, rows)
    fixed = next(i for i, (note, _) in enumerate(rows) if note.text.startswith("Docker for Mac B"))
    form[f"highlights-{fixed}-text"] = FIXED
    assert staff_client.post(f"/admin/talks/talk/{talk.pk}/change/", form).status_code == 302
    response = preview(staff_client, SEED.read_text())
    [item] = items(response)
    assert "edited in the admin on" in item  # the talk's page named the note it changed
    assert "after this day was last imported" not in listed(response)  # none is recorded

    # An import through the admin after that edit (which kept it): no longer marked.
    LogEntry.objects.log_actions(
        user_id=LogEntry.objects.latest("pk").user_id,
        queryset=[demo_day],
        action_flag=CHANGE,
        change_message=f"{IMPORT_LOG_PREFIX}day1.md: 0 created, 1 updated, 61 unchanged.",
    )
    response = preview(staff_client, SEED.read_text())
    [item] = items(response)
    assert "edited in the admin" not in listed(response)

    # A line of a block fixed on the block's page after that import is.
    snippet = Snippet.objects.get(talk=talk)
    commands = list(snippet.lines.order_by("position").values_list("command", flat=True))
    commands[1] = "docker service ls --quiet"
    page = f"/admin/talks/snippet/{snippet.pk}/change/"
    assert staff_client.post(page, snippet_form(snippet, commands)).status_code == 302
    response = preview(staff_client, SEED.read_text())
    section = listed(response)
    assert "These 2 stored texts" in section
    assert "1 of them was edited in the admin after this day was last imported" in section
    marked = [item for item in items(response) if "edited in the admin" in item]
    assert len(marked) == 1 and "docker service ls --quiet" in marked[0]
    page = response.content.decode()
    assert "<strong>Rewrites</strong> 2 stored texts with the notes’" in page
    assert "1 of them was edited in the admin since the last import." in page


def test_it_asks_again_when_a_listed_text_changed_after_the_preview(staff_client, demo_day):
    note = the_fixed_note(demo_day)
    fix_in_the_admin(staff_client, note, FIXED)
    response = preview(staff_client, SEED.read_text())
    assert "<del>beta</del>" in listed(response)
    fix_in_the_admin(staff_client, note, FIXED.replace("open", "free"))  # meanwhile

    refused = confirm(staff_client, response)
    assert refused.status_code == 400
    page = refused.content.decode()
    assert "the stored day changed after the preview (someone edited it meanwhile)" in page
    assert "<del>beta</del> is now <del>free</del> to" in listed(refused)  # as it is now
    note.refresh_from_db()
    assert note.text == FIXED.replace("open", "free")  # nothing written

    assert confirm(staff_client, refused).status_code == 302
    note.refresh_from_db()
    assert note.text.startswith("Docker for Mac Beta is now open")


def _every_note_changed(markdown: str) -> str:
    """Each bullet of an exported day, with " (changed)" at the end of its text."""
    return re.sub(r"^(\s*- [^{\n]*?)( \{[^}\n]*\})?$", r"\1 (changed)\2", markdown, flags=re.M)


def test_the_preview_page_takes_a_fixed_number_of_queries(
    staff_client, demo_day, django_assert_num_queries
):
    text = _every_note_changed(MarkdownExporter().export_day(demo_day))
    # The session and its user, the rate limit (3); what read_notes reads of the stored
    # conference, day, talks, notes and tags, and of the conference's days (9); the preview's
    # own (7, below); the digest of the stored day (8); the session saved (3).
    with django_assert_num_queries(3 + 9 + 7 + 8 + 3):
        response = preview(staff_client, text)
    assert len(items(response)) == MAX_SHOWN


def test_the_preview_reads_the_stored_day_in_a_fixed_number_of_queries(
    demo_day, django_assert_num_queries
):
    small = read_notes(_every_note_changed(MarkdownExporter().export_day(demo_day)))
    day, _ = save_day(big_day_doc(talks=100, highlights_per_talk=10))
    large = read_notes(_every_note_changed(MarkdownExporter().export_day(day)))
    same = read_notes(MarkdownExporter().export_day(day))
    # The conference, the day, its talks, notes, lines and blocks, the admin's history.
    with django_assert_num_queries(7):
        [shown] = day_previews(small)
    assert shown.overwrites.count == 39  # every bullet
    with django_assert_num_queries(7):
        [shown] = day_previews(large)
    assert (shown.overwrites.count, shown.overwrites.shown) == (1000, MAX_SHOWN)
    with django_assert_num_queries(6):  # nothing replaced: no history to read
        [shown] = day_previews(same)
    assert not shown.overwrites


@pytest.mark.parametrize(
    ("old", "new", "before", "after"),
    [
        ("a b c", "a x c", [Part("a"), Part("b", True), Part("c")], None),
        ("same words", "same\n\nwords", [Part("same words")], [Part("same words")]),
    ],
)
def test_before_after_marks_the_changed_words(old, new, before, after):
    shown = before_after(old, new)
    assert shown[0] == before
    if after is not None:
        assert shown[1] == after


def test_before_after_cuts_a_long_word_where_it_changes():
    link = "https://example.com/" + "a" * 400 + "/old/" + "b" * 400
    before, after = before_after(f"See {link} now", f"See {link.replace('/old/', '/new/')} now")
    [changed] = [part.text for part in before if part.changed]
    assert "/old/" in changed and len(changed) < 70
    assert "/new/" in next(part.text for part in after if part.changed)
