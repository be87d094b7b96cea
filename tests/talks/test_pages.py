"""Every reader page: status, key content, and constant query counts on the day page."""

import datetime
import itertools
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from runner.models import Run, RunnerStatus
from talks.models import Conference, Day, Highlight, SnippetLine

pytestmark = pytest.mark.django_db

DAY_URL = "/c/dockercon-2016/day-1/"


def test_it_shows_an_empty_home_page_that_says_what_to_do(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"There are no notes yet" in response.content
    assert b"load_demo" in response.content


def test_it_lists_conferences_and_latest_days_on_home(client, demo_day):
    response = client.get("/")
    assert response.status_code == 200
    assert b"DockerCon 2016" in response.content
    assert DAY_URL.encode() in response.content


def test_it_shows_a_conference_page(client, demo_day):
    response = client.get("/c/dockercon-2016/")
    assert response.status_code == 200
    assert b"DockerCon 2016 Highlights Day 1" in response.content
    assert b"4 talks" in response.content


def test_it_shows_the_day_with_summary_talks_and_sign_off(client, demo_day):
    response = client.get(DAY_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Summary") < html.index("Keynote highlights")
    positions = [
        html.index(title)
        for title in (
            'id="talk-keynote"',
            'id="talk-the-golden-ticket"',
            'id="talk-docker-for-developers"',
            'id="talk-immutable-infrastructure"',
        )
    ]
    assert positions == sorted(positions)
    assert "Ryan Walls" in html and "Software Engineering Manager at 3DSIM" in html
    assert "DockerCon 2016 Highlights Day 2" in html and "(not written yet)" in html
    assert 'href="http://dockercon2016.sched.org/event/70Ni"' in html


def test_it_gives_every_highlight_an_anchor(client, demo_day):
    html = client.get(DAY_URL).content.decode()
    for pk in Highlight.objects.filter(talk__day=demo_day).values_list("pk", flat=True):
        assert f'id="h{pk}"' in html
        assert f'href="#h{pk}"' in html


def test_it_shows_snippets_highlighted_with_copy_buttons(client, demo_day):
    html = client.get(DAY_URL).content.decode()
    assert html.count('class="snippet-line"') == 6
    copy = 'data-copy aria-label="Copy: docker service scale vote=6">Copy</button>'
    assert f'<button type="button" class="button button--small" {copy}' in html
    assert '<span class="o">=</span>' in html or 'class="nv"' in html  # Pygments spans
    # Spaces are spaces, not each a span of Pygments' (unstyled here, and a fifth of the markup).
    assert "docker service scale" in html and 'class="w"' not in html
    snippet_index = html.index("Example commands with new built-in orchestration")
    assert snippet_index < html.index("docker service ls") < html.index("Docker for AWS")


def test_it_nests_highlights_as_lists(client, demo_day):
    html = client.get(DAY_URL).content.decode()
    swarm = html.index("Swarm mode. Self forming")
    # Three levels: Success > Docker 1.12 > Swarm mode, each a nested <ul>.
    assert html[:swarm].count('<ul class="notes">') - html[:swarm].count("</ul>") >= 3


def test_it_links_the_next_day_once_it_exists(client, demo_day):
    Day.objects.create(
        conference=demo_day.conference, number=2, title="DockerCon 2016 Highlights Day 2"
    )
    html = client.get(DAY_URL).content.decode()
    assert 'href="/c/dockercon-2016/day-2/"' in html
    assert "(not written yet)" not in html
    day2 = client.get("/c/dockercon-2016/day-2/").content.decode()
    assert 'rel="prev" href="/c/dockercon-2016/day-1/"' in day2
    assert "No talks written for this day yet" in day2


def test_it_shows_a_talk_permalink(client, demo_day):
    response = client.get(DAY_URL + "the-golden-ticket/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "The Golden Ticket: Docker and High Security Microservices" in html
    assert "Pitfalls of seccomp:" in html
    assert 'id="talk-keynote"' not in html  # the other talks are linked (previous, next), not shown


def test_it_shows_tags(client, demo_day):
    response = client.get(reverse("talks:tag_list"))
    assert response.status_code == 200
    assert b"#security" in response.content
    response = client.get(reverse("talks:tag", args=["security"]))
    assert response.status_code == 200
    assert b"The Golden Ticket" in response.content
    assert b"Secure node to node communication." in response.content


@pytest.mark.parametrize(
    "url",
    [
        "/c/nope/",
        "/c/dockercon-2016/day-9/",
        "/c/dockercon-2016/day-1/no-such-talk/",
        "/tags/nope/",
        "/nothing-here/",
    ],
)
def test_it_gives_helpful_404s(client, demo_day, url):
    response = client.get(url)
    assert response.status_code == 404
    assert b"Nothing here" in response.content
    assert b'href="/"' in response.content


def test_it_serves_htmx_from_the_package_not_a_cdn(client, demo_day):
    html = client.get(DAY_URL).content.decode()
    assert 'src="/static/django_htmx/htmx-2.min.js"' in html
    assert "unpkg.com" not in html and "cdn" not in html.lower()


def _day_queries(client, django_assert_max_num_queries, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def test_it_uses_the_same_number_of_queries_for_a_small_and_a_huge_day(
    client, demo_day, big_day, django_assert_num_queries
):
    small = _day_queries(client, None, DAY_URL)
    with django_assert_num_queries(small):
        response = client.get(big_day.get_absolute_url())
    assert response.status_code == 200
    assert response.content.decode().count('<li class="note') == 2000


# -- headings, link names and code blocks that make sense to a screen reader ---------------------

HEADING = re.compile(r"<h([1-6])\b[^>]*>(.*?)</h\1>", re.DOTALL)


def _outline(html: str) -> list[tuple[int, str]]:
    main = html[html.index("<main") : html.index("</main>")]
    return [(int(level), re.sub(r"<[^>]+>", "", text)) for level, text in HEADING.findall(main)]


def _assert_no_skipped_levels(outline: list[tuple[int, str]]) -> None:
    for (before, _), (after, text) in itertools.pairwise(outline):
        assert after <= before + 1, f"<h{after}> {text} comes right under an <h{before}>"


def test_it_gives_the_talk_page_one_h1_the_talk_title_and_an_outline_below_it(client, demo_day):
    outline = _outline(client.get(DAY_URL + "the-golden-ticket/").content.decode())
    assert [text for level, text in outline if level == 1] == [
        "The Golden Ticket: Docker and High Security Microservices"
    ]
    assert outline[0][0] == 1
    assert (2, "Handling secrets") in outline  # the notes' group headings, one level below
    _assert_no_skipped_levels(outline)


def test_it_keeps_the_day_pages_own_outline(client, demo_day):
    outline = _outline(client.get(DAY_URL).content.decode())
    assert [text for level, text in outline if level == 1] == ["DockerCon 2016 Highlights Day 1"]
    assert (2, "The Golden Ticket: Docker and High Security Microservices") in outline
    assert (3, "Handling secrets") in outline
    _assert_no_skipped_levels(outline)


def test_it_nests_group_headings_one_level_below_their_parent_heading(client, demo_day):
    outer = Highlight.objects.get(text="Handling secrets")
    Highlight.objects.create(
        talk=outer.talk, parent=outer, position=99, style="heading", text="Vault"
    )
    day = _outline(client.get(DAY_URL).content.decode())
    talk = _outline(client.get(DAY_URL + "the-golden-ticket/").content.decode())
    assert (3, "Handling secrets") in day and (4, "Vault") in day
    assert (2, "Handling secrets") in talk and (3, "Vault") in talk


def test_it_names_each_note_link_by_its_note(client, demo_day):
    html = client.get(DAY_URL).content.decode()
    note = Highlight.objects.get(text__startswith="Swarm mode. Self forming")
    assert (
        f'<a class="anchor" href="#h{note.pk}" '
        'aria-label="Link to this note: Swarm mode. Self forming…">#</a>'
    ) in html
    assert 'aria-label="Link to this note"' not in html


def test_it_names_notes_in_plain_text_entities_and_all(client, demo_day):
    note = Highlight.objects.get(text__startswith="Swarm mode. Self forming")
    note.text = "Q&A: **<b>tags</b>** & “quotes”"
    note.save()
    html = client.get(DAY_URL).content.decode()
    assert 'aria-label="Link to this note: Q&amp;A: tags &amp; “quotes”">#</a>' in html


def test_it_shows_no_success_badge_under_a_success_heading(client, demo_day):
    html = client.get(DAY_URL).content.decode()
    heading = Highlight.objects.get(text="Success")
    assert (heading.style, heading.kind) == ("heading", "success")
    assert 'class="badge badge--success"' not in html
    bullet = Highlight.objects.get(text__startswith="Swarm mode. Self forming")
    bullet.kind = "success"
    bullet.save()
    html = client.get(DAY_URL).content.decode()
    assert html.count('class="badge badge--success"') == 1


def test_it_says_which_answer_more_is_about(client, demo_day):
    note = Highlight.objects.get(text__startswith="Swarm mode. Self forming")
    note.resolved_at = timezone.now()
    note.resolution = "Raft, built in."
    note.resolution_url = "https://docs.docker.com/engine/swarm/raft/"
    note.save()
    html = client.get(DAY_URL).content.decode()
    assert (
        '<a href="https://docs.docker.com/engine/swarm/raft/" rel="noopener noreferrer nofollow">'
        'More<span class="visually-hidden"> on the answer to “Swarm mode. Self forming, '
        "self-healing. No external data…”</span></a>"
    ) in html


def test_it_names_each_blocks_history_link_and_copy_all_button(client, demo_day):
    html = client.get(DAY_URL).content.decode()
    first = "docker service create --name vote -p 8080:80 instavote/vote"
    assert f'History<span class="visually-hidden"> of runs: {first}</span></a>' in html
    assert f'aria-label="Copy all 6 lines: {first}">Copy all</button>' in html
    assert ">History</a>" not in html


def test_it_makes_each_command_a_named_focusable_group(client, demo_day):
    """Focusable, so the keyboard scrolls a long one, hence a role and a name; a group, not a
    region: a landmark per line would flood the page's list of landmarks."""
    html = client.get(DAY_URL).content.decode()
    blocks = re.findall(r"<pre\b[^>]*>", html)
    assert len(blocks) == 6
    for block in blocks:
        assert 'tabindex="0"' in block and 'role="group"' in block, block
    assert '<pre class="highlight" tabindex="0" role="group" aria-label="Command: docker ' in html
    assert 'aria-label="Command: docker service ls"' in html


def test_it_names_a_recorded_outputs_region_and_its_history_link(client, demo_day):
    RunnerStatus.objects.create(available=True, explanation="Private sandboxes are available.")
    line = SnippetLine.objects.get(snippet__talk__day=demo_day, command="docker service ls")
    now = timezone.now()
    Run.objects.create(
        snippet_line=line,
        line=line.command,
        status=Run.Status.FAILED,
        exit_code=1,
        stdout="ID  NAME",
        stderr="Error: no",
        started_at=now,
        finished_at=now,
    )
    html = client.get(DAY_URL).content.decode()
    assert 'role="group" aria-label="Output of docker service ls">ID  NAME</pre>' in html
    assert 'aria-label="Messages from the engine for docker service ls">Error: no</pre>' in html
    assert (
        'History<span class="visually-hidden"> of runs of the block with docker service ls'
        "</span></a>"
    ) in html


def test_it_names_the_conference_once_in_the_day_header(client, demo_day):
    html = client.get(DAY_URL).content.decode()
    header = html[html.index("<h1>") : html.index("</header>", html.index("<h1>"))]
    assert header.count("DockerCon 2016") == 1  # the title says it; the line under it does not
    assert "<span>Seattle</span>" in header and "<span>by Ryan Walls</span>" in header
    demo_day.title = "Day one"
    demo_day.save()
    header = client.get(DAY_URL).content.decode().split("<h1>", 1)[1].split("</header>")[0]
    assert "<span>DockerCon 2016</span><span>Seattle</span>" in header


def test_it_names_the_conference_of_the_latest_days_only_when_their_title_does_not(
    client, demo_day
):
    Day.objects.create(conference=demo_day.conference, number=2, title="Day two")
    html = client.get("/").content.decode()
    latest = html[html.index('id="latest-heading"') :]
    assert latest.count("DockerCon 2016") == 2  # "…Highlights Day 1", and beside "Day two"
    assert '<span class="meta meta-parts"><span>DockerCon 2016</span></span>' in latest


# -- the conference page without days ---------------------------------------------------------


def test_it_offers_the_admin_to_staff_only_on_a_conference_without_days(client, staff_client):
    Conference.objects.create(name="KubeCon 2017", slug="kubecon-2017")
    html = Client().get("/c/kubecon-2017/").content.decode()
    assert "No days written for KubeCon 2017 yet." in html
    assert "admin" not in html.lower()
    assert '<p class="meta"></p>' not in html and 'class="meta"' not in html
    staff = staff_client.get("/c/kubecon-2017/").content.decode()
    assert "Add one in the <a" in staff and "/admin/talks/day/add/" in staff


def test_it_writes_the_conference_meta_without_a_stray_separator(client, db):
    Conference.objects.create(name="X", slug="x", starts_on=datetime.date(2017, 4, 1))
    assert '<p class="meta">April 2017</p>' in client.get("/c/x/").content.decode()


# -- 404s that say what was not found, in our own words -----------------------------------------


def _reason(html: str) -> str:
    return html.split('<p class="not-found-reason">', 1)[1].split("</p>", 1)[0]


def test_it_lists_the_days_there_are_for_a_wrong_day(client, demo_day):
    Day.objects.create(conference=demo_day.conference, number=2, title="Day two", slug="day-2")
    response = client.get("/c/dockercon-2016/day-9/")
    assert response.status_code == 404
    assert _reason(response.content.decode()) == (
        "DockerCon 2016 has no day called “day-9”; its days are: "
        '<a href="/c/dockercon-2016/day-1/">Highlights Day 1</a>, '
        '<a href="/c/dockercon-2016/day-2/">Day two</a>.'
    )


def test_it_lists_the_talks_there_are_for_a_wrong_talk(client, demo_day):
    html = client.get(DAY_URL + "nope/").content.decode()
    reason = _reason(html)
    assert reason.startswith("DockerCon 2016 Highlights Day 1 has no talk called “nope”; its ")
    assert '<a href="/c/dockercon-2016/day-1/keynote/">Keynote highlights</a>' in reason
    assert reason.count("<a ") == 4


def test_it_links_the_day_when_it_has_too_many_talks_to_list(client, big_day):
    url = big_day.get_absolute_url()
    reason = _reason(client.get(url + "nope/").content.decode())
    assert reason == (
        "A very long generated day has no talk called “nope”; its talks are listed on: "
        f'<a href="{url}">A very long generated day</a>.'
    )


def test_it_names_the_missing_conference_and_tag(client, demo_day):
    assert _reason(client.get("/c/nope/").content.decode()) == (
        'There is no conference called “nope”; the conferences are: <a href="/c/dockercon-2016/">'
        "DockerCon 2016</a>."
    )
    assert _reason(client.get("/tags/nope/").content.decode()).startswith(
        "There is no tag called “nope”"
    )


def test_it_says_so_when_a_conference_has_no_days_at_all(client, db):
    Conference.objects.create(name="KubeCon 2017", slug="kubecon-2017")
    assert _reason(client.get("/c/kubecon-2017/day-1/").content.decode()) == (
        "KubeCon 2017 has no day called “day-1”, nor any other yet; see: "
        '<a href="/c/kubecon-2017/">KubeCon 2017</a>.'
    )


@pytest.mark.parametrize("url", ["/nothing-here/", "/c/%3Cb%3Ex%3C%2Fb%3E/", "/tags/a%20b/"])
def test_it_never_shows_djangos_own_404_messages(client, demo_day, url):
    html = client.get(url).content.decode()
    assert "not-found-reason" not in html
    for internal in ("matches the given query", "tried", "Resolver", "<b>x"):
        assert internal not in html
    assert "There is no page at <code>" in html


def test_it_shows_one_search_landmark_on_the_404_page(client, demo_day):
    html = client.get("/c/nope/").content.decode()
    assert html.count('role="search"') == 1
    assert 'id="not-found-search"' in html
