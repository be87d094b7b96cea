"""The runner's template filters: its own sentences, with `backticks` shown as code."""

from __future__ import annotations

import re

import pytest
from django.template import Context, Template
from django.test import Client
from django.utils.safestring import mark_safe

from runner.templatetags.runner import code_spans


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("Run `docker service ps` now.", "Run <code>docker service ps</code> now."),
        ("`a` and `b`", "<code>a</code> and <code>b</code>"),
        ("No code here.", "No code here."),
        ("", ""),
        # Visitor text quoted in a reason is escaped, inside the code as outside it.
        (
            '`<script>` is not allowed & `"x"`',
            "<code>&lt;script&gt;</code> is not allowed &amp; <code>&quot;x&quot;</code>",
        ),
        # A lone backtick, an empty pair and a pair across lines stay as written.
        (
            "Command substitution (`$(...)` or a lone `) is refused",
            "Command substitution (<code>$(...)</code> or a lone `) is refused",
        ),
        ("``", "``"),
        ("`one\ntwo`", "`one\ntwo`"),
    ],
)
def test_code_spans_escapes_then_marks_backtick_pairs_as_code(text, html):
    assert code_spans(text) == html


def test_code_spans_keeps_html_that_is_already_safe():
    assert code_spans(mark_safe("<em>`x`</em>")) == "<em><code>x</code></em>"


def test_code_spans_output_is_not_escaped_again_in_a_template():
    rendered = Template("{% load runner %}{{ reason|code_spans }}").render(
        Context({"reason": "Remove one with `docker service rm NAME` <now>."})
    )
    assert rendered == "Remove one with <code>docker service rm NAME</code> &lt;now&gt;."


# -- why Run is not offered: plain words for readers, the setting for staff ----------------------

DAY_URL = "/c/dockercon-2016/day-1/"


def _notices(html: str) -> list[str]:
    return re.findall(r'<p class="notice">(.*?)</p>', html, re.DOTALL)


@pytest.mark.django_db
def test_it_tells_readers_in_plain_words_that_running_is_off(client, demo_day, settings):
    settings.RUNNER_MODE = "off"
    notices = _notices(client.get(DAY_URL).content.decode())
    assert notices  # one per block
    # No output is shown yet, so the notice does not speak of any.
    assert notices[0] == "Running commands is switched off on this site."
    assert all("RUNNER_MODE" not in notice for notice in notices)


@pytest.mark.django_db
def test_it_names_the_setting_for_staff(staff_client, demo_day, settings):
    settings.RUNNER_MODE = "off"
    notices = _notices(staff_client.get(DAY_URL).content.decode())
    assert notices[0] == (
        'Running commands is switched off on this site. <span class="staff-detail">(The '
        "setting is <code>RUNNER_MODE=off</code>.)</span>"
    )


@pytest.mark.django_db
def test_it_tells_only_staff_how_to_start_a_worker(client, staff_client, demo_day):
    reader = _notices(Client().get(DAY_URL).content.decode())[0]
    assert reader.startswith("No runner worker is running, so commands cannot run right now.")
    assert "run_worker" not in reader and "make run" not in reader
    staff = _notices(staff_client.get(DAY_URL).content.decode())[0]
    assert "<code>python manage.py run_worker</code>" in staff


@pytest.mark.django_db
def test_the_staff_detail_is_for_staff_only_even_in_development(demo_day, settings):
    # `make run` serves with DEBUG on, and a demo served so has readers who are not staff.
    settings.DEBUG = True
    reader = _notices(Client().get(DAY_URL).content.decode())[0]
    assert "run_worker" not in reader and "staff-detail" not in reader
    settings.RUNNER_MODE = "off"
    reader = _notices(Client().get(DAY_URL).content.decode())[0]
    assert "RUNNER_MODE" not in reader and "staff-detail" not in reader
