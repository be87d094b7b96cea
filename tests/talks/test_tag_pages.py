"""A tag's page and the tag list as a reader sees them: notes in document order, talks in the
same order, unused tags out of the way."""

from __future__ import annotations

import datetime
import re

import pytest
from django.test import Client

from talks.models import Day, Highlight, Tag, Talk

pytestmark = pytest.mark.django_db

DAY_URL = "/c/dockercon-2016/day-1/"


def _note_links(html: str) -> list[str]:
    notes = html[html.index('id="tag-notes"') :]
    return re.findall(r'href="[^"#]*#(h\d+)"', notes)


def test_it_lists_notes_in_the_order_of_the_day_page(client, demo_day):
    day = client.get(DAY_URL).content.decode()
    tagged = _note_links(client.get("/tags/orchestration/").content.decode())
    assert len(tagged) == 4
    assert tagged == sorted(tagged, key=lambda anchor: day.index(f'id="{anchor}"'))


def test_it_puts_a_parent_before_its_children_and_siblings_by_position(client, demo_day):
    talk = Talk.objects.get(slug="immutable-infrastructure")
    tag = Tag.objects.create(name="order", slug="order")
    parent = Highlight.objects.create(talk=talk, position=5, text="The parent")
    child = Highlight.objects.create(talk=talk, parent=parent, position=0, text="Its child")
    sibling = Highlight.objects.create(talk=talk, position=1, text="An earlier sibling")
    for note in (parent, child, sibling):
        note.tags.add(tag)
    html = client.get("/tags/order/").content.decode()
    assert _note_links(html) == [sibling.anchor, parent.anchor, child.anchor]


def test_it_orders_talks_and_notes_day_by_day_alike(client, demo_day):
    day2 = Day.objects.create(
        conference=demo_day.conference,
        number=2,
        title="DockerCon 2016 Highlights Day 2",
        date=demo_day.date + datetime.timedelta(days=1),
    )
    later = Talk.objects.create(day=day2, position=0, title="A later talk", slug="later")
    later.tags.add(Tag.objects.get(slug="security"))
    note = Highlight.objects.create(talk=later, text="A later note")
    note.tags.add(Tag.objects.get(slug="security"))
    html = client.get("/tags/security/").content.decode()
    talks = html[html.index('id="tag-talks"') : html.index('id="tag-notes"')]
    assert talks.index("The Golden Ticket") < talks.index("A later talk")
    assert _note_links(html)[-1] == note.anchor
    assert "in the order of the notes: day by day" in html


def test_it_lists_notes_in_plain_words_entities_and_all(client, demo_day):
    note = Highlight.objects.filter(tags__slug="security").get()
    note.text = "Q&A on <em>secrets</em> & more"
    note.save()
    html = client.get("/tags/security/").content.decode()
    assert f'#{note.anchor}">Q&amp;A on secrets &amp; more</a>' in html


def test_it_hides_unused_tags_from_readers(client, demo_day):
    Tag.objects.create(name="kubernetes", slug="kubernetes")
    html = client.get("/tags/").content.decode()
    assert "#kubernetes" not in html
    assert "#security" in html and "Unused" not in html


def test_it_shows_staff_the_unused_tags_marked(staff_client, demo_day):
    Tag.objects.create(name="kubernetes", slug="kubernetes")
    html = staff_client.get("/tags/").content.decode()
    assert (
        '#kubernetes</a> <span class="meta">0 talks, 0 notes</span> <span class="badge">Unused'
    ) in html
    assert "listed for staff only" in html


def test_it_keeps_the_list_to_one_query_for_readers_and_staff(
    staff_client, demo_day, django_assert_num_queries
):
    with django_assert_num_queries(1):
        Client().get("/tags/")
    with django_assert_num_queries(3):  # the session, its user, the tags
        staff_client.get("/tags/")


def test_it_makes_an_unused_tags_page_helpful(staff_client, demo_day):
    Tag.objects.create(name="kubernetes", slug="kubernetes")
    response = Client().get("/tags/kubernetes/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Nothing is tagged #kubernetes yet." in html
    assert 'href="/search/?q=kubernetes"' in html and 'href="/tags/"' in html
    assert 'id="tag-talks"' not in html and "admin" not in html.lower()
    assert "Tag talks and notes in the" in staff_client.get("/tags/kubernetes/").content.decode()


def test_it_does_not_offer_the_admin_to_readers_when_there_are_no_tags(client, db):
    html = client.get("/tags/").content.decode()
    assert "No tags yet." in html and "admin" not in html.lower()


def test_the_excerpt_filter_names_a_note_in_one_short_line():
    from talks.templatetags.notes import excerpt

    assert excerpt("<p>Q&amp;A <strong>after</strong> the talk</p>") == "Q&A after the talk"
    assert excerpt("<p>" + "word " * 30 + "</p>", 20) == "word word word…"
    # Text that ends in its own ellipsis where the cut falls gets one, not two.
    assert excerpt("<p>" + "UI work… " * 10 + "</p>", 20) == "UI work… UI work…"
