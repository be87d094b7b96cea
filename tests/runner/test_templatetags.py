"""The runner's template filters: its own sentences, with `backticks` shown as code."""

from __future__ import annotations

import pytest
from django.template import Context, Template
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
