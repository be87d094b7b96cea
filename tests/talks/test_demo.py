"""The demo day carries the seed notes without loss, and loading it twice changes nothing."""

import pytest
from django.core.management import call_command

from talks.models import Conference, Day, Highlight, Snippet, SnippetLine, Talk

pytestmark = pytest.mark.django_db


def _texts(highlights):
    return [h.text for h in highlights]


def test_it_loads_the_conference_and_day(demo_day):
    assert demo_day.conference.name == "DockerCon 2016"
    assert demo_day.conference.location == "Seattle"
    assert demo_day.number == 1
    assert demo_day.title == "DockerCon 2016 Highlights Day 1"
    assert demo_day.author == "Ryan Walls"
    assert demo_day.author_title == "Software Engineering Manager at 3DSIM"
    assert demo_day.next_day_title == "DockerCon 2016 Highlights Day 2"
    assert demo_day.summary.startswith("Good first day. Highlight for me is Docker 1.12")
    assert demo_day.intro.startswith("At 3DSIM we believe in continuing education")


def test_it_keeps_every_talk_in_order(demo_day):
    titles = list(demo_day.talks.values_list("title", flat=True))
    assert titles == [
        "Keynote highlights",
        "The Golden Ticket: Docker and High Security Microservices",
        "Docker for Developers 1 and 2",
        "Immutable Infrastructure",
    ]
    golden = demo_day.talks.get(slug="the-golden-ticket")
    assert golden.session_url == "http://dockercon2016.sched.org/event/70Ni"
    assert demo_day.talks.get(slug="keynote").kind == Talk.Kind.KEYNOTE


def test_it_keeps_the_keynote_nesting(demo_day):
    keynote = demo_day.talks.get(slug="keynote")
    top = keynote.highlights.filter(parent=None).order_by("position")
    assert _texts(top)[0] == "Success"
    success = top[0]
    assert success.style == Highlight.Style.HEADING
    assert success.kind == Highlight.Kind.SUCCESS
    under_success = success.children.order_by("position")
    assert len(under_success) == 3
    orchestration = under_success[2]
    assert orchestration.text.startswith("Docker 1.12 will have orchestration features built-in.")
    assert _texts(orchestration.children.order_by("position")) == [
        "Swarm mode. Self forming, self-healing. No external data store required (e.g. Consul "
        "or etcd)",
        "Secure node to node communication.",
        "There is now a docker service API that handles scaling, rolling updates, scheduling, "
        "application specific health checks, rescheduling on node failure. This look amazing…",
        "Built in routing. Load balancing, DNS based service discovery, no separate cluster to "
        "setup.",
    ]
    aws = top.get(text__startswith="Docker for AWS")
    assert _texts(aws.children.order_by("position"))[0].startswith("“Seamless”")


def test_it_keeps_the_seccomp_pitfalls_three_levels_deep(demo_day):
    pitfalls = Highlight.objects.get(talk__day=demo_day, text="Pitfalls of seccomp:")
    assert pitfalls.parent.text.startswith("Use Mandatory Access Control")
    assert pitfalls.parent.parent is None
    assert _texts(pitfalls.children.order_by("position")) == ["Fragile", "Libseccomp - go library"]


def test_it_has_the_six_commands_as_one_block(demo_day):
    snippets = Snippet.objects.filter(talk__day=demo_day)
    assert snippets.count() == 1
    snippet = snippets.get()
    assert snippet.highlight.text == "Example commands with new built-in orchestration:"
    assert list(snippet.lines.values_list("command", flat=True)) == [
        "docker service create --name vote -p 8080:80 instavote/vote",
        "docker service ls",
        "docker service tasks vote",
        "docker service scale vote=6",
        "docker service update vote --image instavote/vote:movies",
        "docker service update vote --image instavote/vote:indent --update-parallelism 2 "
        "--update-delay 10s",
    ]


def test_it_marks_the_follow_ups(demo_day):
    follow_ups = Highlight.objects.filter(talk__day=demo_day, kind=Highlight.Kind.FOLLOW_UP)
    texts = sorted(follow_ups.values_list("text", flat=True))
    assert len(texts) == 3
    assert any("(Need to figure out details)" in t for t in texts)
    assert any(t.startswith("Will have to find more links") for t in texts)
    assert any("will have to investigate what APIs are available" in t for t in texts)


def test_it_keeps_every_link(demo_day):
    html = " ".join(
        Highlight.objects.filter(talk__day=demo_day).values_list("text_html", flat=True)
    )
    assert 'href="https://www.docker.com/products/docker#/mac"' in html
    assert 'href="https://blog.docker.com/2016/06/docker-1-12-built-in-orchestration/"' in html


def test_it_is_idempotent():
    call_command("load_demo", stdout=None)
    counts = [m.objects.count() for m in (Conference, Day, Talk, Highlight, Snippet, SnippetLine)]
    call_command("load_demo")
    assert [
        m.objects.count() for m in (Conference, Day, Talk, Highlight, Snippet, SnippetLine)
    ] == counts
    assert counts[:3] == [1, 1, 4]
