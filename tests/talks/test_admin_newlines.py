"""Browsers post text areas with CRLF line endings; the notes keep LF whoever writes them."""

import pytest
from django.contrib.admin.models import LogEntry

from talks.models import Highlight, Snippet, SnippetLine, Talk
from tests.talks.admin_forms import inline_form

pytestmark = pytest.mark.django_db

DAY_URL = "/c/dockercon-2016/day-1/"


def day_form(day, **changes) -> dict:
    """What the day's change page posts (its talks left out: an inline posting no rows)."""
    data = {
        "conference": day.conference_id,
        "number": day.number,
        "title": day.title,
        "slug": day.slug,
        "date": day.date.isoformat() if day.date else "",
        "intro": day.intro,
        "summary": day.summary,
        "author": day.author,
        "author_title": day.author_title,
        "next_day_title": day.next_day_title,
        "talks-TOTAL_FORMS": 0,
        "talks-INITIAL_FORMS": 0,
        "talks-MIN_NUM_FORMS": 0,
        "talks-MAX_NUM_FORMS": 1000,
    }
    return data | changes


def test_it_stores_a_days_text_with_lf_and_exports_it_so(staff_client, demo_day, client):
    summary = "Good first day.\r\n\r\nSwarm mode\r\nis the highlight."
    intro = "Old Mac line\rends."
    response = staff_client.post(
        f"/admin/talks/day/{demo_day.pk}/change/", day_form(demo_day, summary=summary, intro=intro)
    )
    assert response.status_code == 302
    demo_day.refresh_from_db()
    assert demo_day.summary == "Good first day.\n\nSwarm mode\nis the highlight."
    assert demo_day.intro == "Old Mac line\nends."
    exported = client.get(f"{DAY_URL}export.md").content.decode()
    assert "Swarm mode\nis the highlight." in exported
    assert "\r" not in exported


def test_it_logs_no_change_when_the_same_text_comes_back_with_crlf(staff_client, demo_day):
    demo_day.summary = "Good first day.\n\nSwarm mode is the highlight."
    demo_day.save()
    url = f"/admin/talks/day/{demo_day.pk}/change/"
    posted = day_form(demo_day, summary=demo_day.summary.replace("\n", "\r\n"))
    assert staff_client.post(url, posted).status_code == 302
    assert LogEntry.objects.latest("pk").get_change_message() == "No fields changed."


def test_it_stores_a_notes_text_and_answer_with_lf(staff_client, demo_day):
    note = Highlight.objects.filter(talk__day=demo_day, kind=Highlight.Kind.FOLLOW_UP).first()
    data = {
        "talk": note.talk_id,
        "parent": note.parent_id or "",
        "position": note.position,
        "style": Highlight.Style.PARAGRAPH,
        "kind": note.kind,
        "text": "First line\r\nsecond line",
        "resolved_at_0": "",
        "resolved_at_1": "",
        "resolution": "Use the\r\nremote API.",
        "resolution_url": "",
    }
    response = staff_client.post(f"/admin/talks/highlight/{note.pk}/change/", data)
    assert response.status_code == 302
    note.refresh_from_db()
    assert (note.text, note.resolution) == ("First line\nsecond line", "Use the\nremote API.")
    assert note.text_html == "<p>First line<br>\nsecond line</p>"


def test_it_stores_notes_edited_in_the_talks_inline_with_lf(staff_client, demo_day):
    talk = Talk.objects.get(slug="keynote")
    note = talk.highlights.order_by("position", "id").first()
    data = inline_form(talk, [(note, note.parent)]) | {"highlights-0-text": "One\r\ntwo"}
    response = staff_client.post(f"/admin/talks/talk/{talk.pk}/change/", data)
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.text == "One\ntwo"


def test_other_writers_get_lf_too(demo_day):
    talk = Talk.objects.get(slug="keynote")
    talk.title = "Keynote\r\nhighlights"
    talk.save()
    snippet = Snippet.objects.create(talk=talk, caption="Scale\r\nit")
    line = SnippetLine.objects.create(snippet=snippet, command="docker service ls\r")
    note = Highlight(talk=talk, text="a\r\nb", resolution="c\rd")
    note.render()  # what bulk writers call instead of save()
    talk.refresh_from_db()
    snippet.refresh_from_db()
    line.refresh_from_db()
    assert talk.title == "Keynote\nhighlights"
    assert snippet.caption == "Scale\nit"
    assert line.command == "docker service ls\n"
    assert (note.text, note.resolution) == ("a\nb", "c\nd")
