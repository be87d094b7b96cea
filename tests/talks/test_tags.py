"""Tags: the list with counts, a tag's page with its talks and notes, editing in the admin."""

import pytest

from talks.models import Highlight, Tag, Talk, tag_slug

pytestmark = pytest.mark.django_db

DAY_URL = "/c/dockercon-2016/day-1/"


def test_it_lists_tags_with_their_counts(client, demo_day):
    html = client.get("/tags/").content.decode()
    assert '<a class="tag" href="/tags/networking/">#networking</a>' in html
    networking = Tag.objects.get(slug="networking")
    talks, notes = networking.talks.count(), networking.highlights.count()
    assert (talks, notes) == (0, 5)
    assert '#networking</a> <span class="meta">0 talks, 5 notes</span>' in html
    assert '#security</a> <span class="meta">1 talk, 1 note</span>' in html


def test_it_says_how_to_add_tags_when_there_are_none(client, db):
    assert "No tags yet." in client.get("/tags/").content.decode()


def test_it_lists_a_tags_talks_and_notes_with_links(client, demo_day):
    html = client.get("/tags/orchestration/").content.decode()
    assert "<h1>#orchestration</h1>" in html
    assert '<a href="/c/dockercon-2016/day-1/keynote/">Keynote highlights</a>' in html
    for note in Highlight.objects.filter(tags__slug="orchestration"):
        assert f'href="{DAY_URL}#h{note.pk}"' in html
    assert "No note is tagged" not in html
    security = client.get("/tags/security/").content.decode()
    assert "The Golden Ticket" in security and "Secure node to node communication." in security


def test_it_answers_404_for_an_unknown_tag(client, demo_day):
    response = client.get("/tags/kubernetes/")
    assert response.status_code == 404
    assert 'role="search"' in response.content.decode()


def test_it_pins_the_queries_of_the_tag_pages(client, demo_day, django_assert_num_queries):
    with django_assert_num_queries(1):
        client.get("/tags/")
    with django_assert_num_queries(4):  # the tag, its talks, its notes, their tags
        client.get("/tags/networking/")


def test_it_lets_editors_tag_talks_and_notes_in_the_admin(staff_client, demo_day):
    talk = Talk.objects.get(slug="keynote")
    page = staff_client.get(f"/admin/talks/talk/{talk.pk}/change/").content.decode()
    assert 'name="tags"' in page
    response = staff_client.post(
        "/admin/talks/tag/add/", {"name": "Swarm mode", "slug": "swarm-mode"}
    )
    assert response.status_code == 302
    tag = Tag.objects.get(slug="swarm-mode")
    talk.tags.add(tag)
    note = Highlight.objects.get(text__startswith="Swarm mode.")
    note.tags.add(tag)
    html = staff_client.get("/tags/swarm-mode/").content.decode()
    assert "Keynote highlights" in html and f'href="{DAY_URL}#h{note.pk}"' in html


def test_it_orders_tags_regardless_of_case(staff_client, db):
    for name in ("Swarm Mode", "devops", "Apple", "networking"):
        Tag.objects.create(name=name)
    expected = ["Apple", "devops", "networking", "Swarm Mode"]
    assert [tag.name for tag in Tag.objects.all()] == expected
    listing = staff_client.get("/admin/talks/tag/")
    assert [tag.name for tag in listing.context["cl"].result_list] == expected
    # The tags page too (staff see unused tags, so all four are listed).
    page = staff_client.get("/tags/").content.decode()
    places = [page.index(f">#{name}</a>") for name in expected]
    assert places == sorted(places)


@pytest.mark.parametrize("name", ["日本語", "🐳", "Ünïcode"])
def test_any_name_can_be_a_tag_made_in_the_admin(staff_client, demo_day, name):
    """slugify leaves nothing of a name without Latin letters: the admin said only "This
    field is required" about a slug field the editor never filled in."""
    response = staff_client.post("/admin/talks/tag/add/", {"name": name, "slug": ""})
    assert response.status_code == 302, response.content.decode()
    tag = Tag.objects.get(name=name)
    assert tag.slug and tag.slug == tag_slug(name)
    talk = Talk.objects.filter(day=demo_day).first()
    talk.tags.add(tag)
    page = staff_client.get(tag.get_absolute_url())
    assert page.status_code == 200 and name in page.content.decode()


def test_tag_slugs_stay_readable_where_they_can():
    assert tag_slug("Swarm Mode") == "swarm-mode"
    assert tag_slug("日本語").startswith("tag-") and tag_slug("日本語") != tag_slug("中文")


def test_an_import_keeps_tags_of_any_script(db):
    from talks.importing import import_notes

    outcome = import_notes(
        "---\nconference: Tag Conf 2026\n---\n# Tag Conf 2026 Day 1\n"
        "## Keynote {tags=日本語,🐳}\n- A note {tags=Ünïcode}\n"
    )
    assert not [w for w in outcome.result.warnings if "tag" in str(w).lower()], (
        outcome.result.warnings
    )
    talk = Talk.objects.get(title="Keynote")
    assert sorted(talk.tags.values_list("name", flat=True)) == ["日本語", "🐳"]
    assert Highlight.objects.get(text="A note").tags.get().slug == "unicode"
    long_name = "x" * 61
    refused = import_notes(
        "---\nconference: Tag Conf 2026\n---\n# Tag Conf 2026 Day 2\n"
        f"## Talk {{tags={long_name}}}\n"
    )
    assert any("longer than 60 characters" in str(w) for w in refused.result.warnings)


def test_a_tag_is_not_taken_for_another_whose_address_is_the_same(db):
    """ "hot" was imported as the tag "🔥hot" (both slugify to "hot"), without a word."""
    from talks.importing import import_notes

    import_notes(
        "---\nconference: Tag Conf 2026\n---\n# Tag Conf 2026 Day 1\n## Keynote\n"
        '- fire {tags="🔥hot"}\n- spaced {tags="a b"}\n'
    )
    import_notes(
        "---\nconference: Tag Conf 2026\n---\n# Tag Conf 2026 Day 2\n## Keynote\n"
        "- plain {tags=hot}\n- hyphened {tags=a-b}\n"
    )
    assert Highlight.objects.get(text="plain").tags.get().name == "hot"
    assert Highlight.objects.get(text="fire").tags.get().name == "🔥hot"
    assert len({tag.slug for tag in Tag.objects.all()}) == Tag.objects.count()  # each its own
    # Case, spaces and hyphens aside, a name is the same tag.
    assert Highlight.objects.get(text="hyphened").tags.get().name == "a b"


def test_a_renamed_tag_is_still_found_by_its_slug(db):
    from talks.documents import _TagCache

    renamed = Tag.objects.create(name="swarm")
    Tag.objects.filter(pk=renamed.pk).update(name="Swarm Mode")  # the slug stays "swarm"
    assert _TagCache().ids(["swarm"]) == {renamed.pk}
