"""A block of commands as a screen reader meets it on the day page: the figure named by its
caption's text alone, "Copy all" saying how many lines it copies, and each command a named
group, not a landmark."""

import re

import pytest

from talks.models import Snippet, SnippetLine

pytestmark = pytest.mark.django_db

DAY_URL = "/c/dockercon-2016/day-1/"
FIRST = "docker service create --name vote -p 8080:80 instavote/vote"


def _figure(html: str, snippet: Snippet) -> str:
    start = html.index(f'<figure class="snippet" id="{snippet.anchor}"')
    return html[start : html.index("</figure>", start)]


def test_it_names_the_block_by_its_caption_text_not_its_buttons(client, demo_day):
    snippet = Snippet.objects.get()
    figure = _figure(client.get(DAY_URL).content.decode(), snippet)
    assert figure.startswith(
        f'<figure class="snippet" id="{snippet.anchor}" aria-labelledby="{snippet.anchor}-name">'
    )
    label = re.search(rf'<span id="{snippet.anchor}-name">(.*?)</span></span>', figure)
    assert label, figure[:400]
    assert re.sub(r"<[^>]+>", "", label.group(1)) == "Commands (6 lines)"  # no button's name


def test_it_says_copy_all_copies_every_line_of_the_block(client, demo_day):
    first = Snippet.objects.get()
    nodes = Snippet.objects.create(talk=first.talk, position=first.position + 1, caption="Nodes")
    SnippetLine.objects.create(snippet=nodes, position=0, command="docker node ls")
    SnippetLine.objects.create(snippet=nodes, position=1, command="docker node ps")
    single = Snippet.objects.create(talk=first.talk, position=first.position + 2)
    SnippetLine.objects.create(snippet=single, command="docker service ls")
    html = client.get(DAY_URL).content.decode()
    assert f'aria-label="Copy all 6 lines: {FIRST}">Copy all</button>' in _figure(html, first)
    assert 'aria-label="Copy all 2 lines: Nodes">Copy all</button>' in _figure(html, nodes)
    one = 'aria-label="Copy all 1 line: docker service ls">Copy all</button>'
    assert one in _figure(html, single)
    assert 'aria-label="Copy all: ' not in html


def test_it_makes_no_command_a_landmark(client, demo_day):
    html = client.get(DAY_URL).content.decode()
    commands = re.findall(r'<pre class="highlight"[^>]*>', html)
    assert len(commands) == 6
    for command in commands:
        assert 'tabindex="0" role="group" aria-label="Command: ' in command, command
    assert 'role="region"' not in html


def test_a_block_in_another_language_is_code_to_read_not_to_run(client, demo_day):
    """A ```console {language=python} block got a `$ ` prompt, Run, Run all and a swarm."""
    from django.utils import timezone

    from runner.models import RunnerStatus

    RunnerStatus.objects.create(pk=1, available=True, checked_at=timezone.now())  # Run shown
    shell = Snippet.objects.get()
    talk = shell.talk
    python = Snippet.objects.create(talk=talk, position=99, language="python")
    SnippetLine.objects.create(snippet=python, position=0, command='print("hi")')
    html = client.get(DAY_URL).content.decode()
    code = _figure(html, python)
    assert "print(&quot;hi&quot;)" in code
    assert 'class="prompt"' not in code
    assert "Run" not in code.replace("Run history", "") and "swarm-slot" not in code
    assert 'aria-label="Run all' in _figure(html, shell)  # a shell block still runs
    assert python.runnable is False and shell.runnable is True
