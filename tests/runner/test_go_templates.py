"""Go templates in `--format`, `--env` and `--hostname`: read as Go does; only safe shapes run.

F1 of the security review: `{{range 999}}{{range 999}}{{range 999}}xxxxx{{end}}{{end}}{{end}}`
made the docker CLI hold 13 GB; swarm expands `--env`/`--hostname` templates on the engine.
"""

from __future__ import annotations

import shlex

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.go_templates import TemplateRefused, Word, read_actions
from runner.policy import check_command

OWNER = "alice"
_LS = "docker service ls --format"
_INSPECT = "docker service inspect vote -f"
_C = "docker service create --name web"
RANGE_ONLY_OVER_DATA = "`range` may walk only a list or map of the data"
NOT_A_LIST = "`range` may walk only the data's lists and maps"
TOO_DEEP = "may nest `range` at most 2 deep"
PLAIN_FIELDS = "they may hold only plain fields such as `{{.Service.Name}}`"


def refusal(line: str) -> str:
    decision = check_command(line, owner=OWNER)
    assert not decision.allowed, decision.argv
    assert decision.code == "go-template", decision.reason
    assert decision.reason.endswith("."), decision.reason
    return decision.reason


# --- what still runs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        f"{_LS} '{{{{.Name}}}}: {{{{.Replicas}}}}'",
        f'{_LS} "{{{{json .}}}}"',
        f"{_LS} 'table {{{{.Name}}}}\\t{{{{.Image}}}}'",
        f"{_INSPECT} '{{{{range .Spec.Labels}}}}x{{{{end}}}}'",
        f"{_INSPECT} '{{{{range $k, $v := .Spec.Labels}}}}{{{{$k}}}}={{{{$v}}}} {{{{end}}}}'",
        f"{_INSPECT} '{{{{range $i, $p := .Endpoint.Ports}}}}{{{{$p.PublishedPort}}}}{{{{end}}}}'",
        f"{_INSPECT} '{{{{- range .Spec.TaskTemplate.ContainerSpec.Env -}}}}{{{{.}}}} {{{{end}}}}'",
        # two deep, and the second `range` walks a field of the root through `$`
        f"{_INSPECT} '{{{{range .Spec.Labels}}}}{{{{range $.Endpoint.VirtualIPs}}}}"
        "{{.Addr}}{{end}}{{end}}'",
        f"{_INSPECT} '{{{{range .Spec.Labels}}}}a{{{{else}}}}none{{{{end}}}}'",
        f"{_INSPECT} '{{{{if .Spec.Labels}}}}{{{{range .Spec.Labels}}}}x{{{{end}}}}{{{{end}}}}'",
        f"{_INSPECT} '{{{{/* a comment */}}}}{{{{.ID}}}}'",
        f"{_INSPECT} '{{{{printf \"%s %3d %-9s\" .ID 999 .ID}}}}'",
        f"{_INSPECT} '{{{{join .Spec.TaskTemplate.ContainerSpec.Args \" \"}}}}'",
        f"{_LS} '{{{{printf \"}}}}\" }}}}{{{{.Name}}}}'",
        f"{_C} -e 'NODE={{{{.Node.Hostname}}}}' nginx",
        f"{_C} -e 'WHO={{{{ .Service.Name }}}}-{{{{- .Task.Slot -}}}}' nginx",
        f"{_C} -e 'TIER={{{{.Service.Labels.tier}}}}' nginx",
        f"{_C} --hostname 'web-{{{{.Task.Slot}}}}' nginx",
        f"{_C} --hostname '{{{{.Node.Hostname}}}}-{{{{.Task.Slot}}}}' nginx",
    ],
)
def test_it_keeps_plain_templates(line: str):
    decision = check_command(line, owner=OWNER)
    assert decision.allowed, decision.reason


# --- `range` in --format -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "shown"),
    [
        ("{{range 999}}{{range 999}}{{range 999}}xxxxx{{end}}{{end}}{{end}}", "`{{range 999}}`"),
        ("{{ range 999 }}x{{end}}", "`{{ range 999 }}`"),
        ("{{- range 999 -}}x{{end}}", "`{{- range 999 -}}`"),
        ("{{range\t999}}x{{end}}", "`{{range\\t999}}`"),
        ("{{range (999)}}x{{end}}", "`{{range (999)}}`"),
        ("{{range $i := 999}}x{{end}}", "`{{range $i := 999}}`"),
        ("{{range $i, $e := 99}}x{{end}}", "`{{range $i, $e := 99}}`"),
        ("{{with 999}}{{range .}}x{{end}}{{end}}", "`{{range .}}`"),
        ("{{$n := 999}}{{range $n}}x{{end}}", "`{{range $n}}`"),
        ("{{range $}}x{{end}}", "`{{range $}}`"),
        ("{{$x := .Spec}}{{range $x.Labels}}x{{end}}", "`{{range $x.Labels}}`"),
        ("{{with $n := 999}}{{range $n}}x{{end}}{{end}}", "`{{range $n}}`"),
        ("{{range slice .Spec.Labels 0}}x{{end}}", "`{{range slice .Spec.Labels 0}}`"),
        ("{{range len .Spec.Labels}}x{{end}}", "`{{range len .Spec.Labels}}`"),
        ('{{range index .Spec.Labels "n"}}x{{end}}', '`{{range index .Spec.Labels "n"}}`'),
        ("{{range .Spec.Labels | len}}x{{end}}", "`{{range .Spec.Labels | len}}`"),
        ("{{range (.Spec.Labels)}}x{{end}}", "`{{range (.Spec.Labels)}}`"),
        ('{{printf "}}"}}{{range 99}}x{{end}}', "`{{range 99}}`"),
        ("{{/* }} */}}{{range 99}}x{{end}}", "`{{range 99}}`"),
    ],
)
def test_it_refuses_range_over_anything_but_the_data(template: str, shown: str):
    reason = refusal(f"{_INSPECT} '{template}'")
    assert RANGE_ONLY_OVER_DATA in reason
    assert f"(-f … {shown})" in reason


def test_it_reads_the_tab_and_line_break_escapes_as_the_list_commands_do():
    # `service ls` turns the two characters `\n` into a line break before Go parses the template.
    reason = refusal(f"{_LS} '{{{{range\\n999}}}}x{{{{end}}}}'")
    assert RANGE_ONLY_OVER_DATA in reason and "`{{range\\n999}}`" in reason


@pytest.mark.parametrize(
    "field",
    [
        ".Spec.TaskTemplate.Resources.Limits.NanoCPUs",
        ".Spec.UpdateConfig.Delay",
        ".Version.Index",
        ".Name",
    ],
)
def test_it_refuses_range_over_a_field_that_is_not_a_list(field: str):
    reason = refusal(f"{_INSPECT} '{{{{range {field}}}}}x{{{{end}}}}'")
    assert NOT_A_LIST in reason
    assert f"`{field}` is not one of them" in reason


def test_it_refuses_range_nested_deeper_than_two():
    three = "{{range .Spec.Labels}}{{range .Env}}{{range .Args}}x{{end}}{{end}}{{end}}"
    reason = refusal(f"{_INSPECT} '{three}'")
    assert reason == (
        "`-f` templates may nest `range` at most 2 deep in the sandbox: every level multiplies "
        "the output again."
    )
    # A `range` inside `with` and `if` still counts; one that has ended no longer does.
    nested = "{{range .Labels}}{{with .X}}{{if .Y}}{{range .Env}}{{range .Args}}"
    assert TOO_DEEP in refusal(f"{_INSPECT} '{nested}'")
    after = "{{range .Labels}}{{end}}{{range .Labels}}{{range .Env}}x{{end}}{{end}}"
    assert check_command(f"{_INSPECT} '{after}'", owner=OWNER).allowed


# --- numbers, calls and what cannot be read ------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "shown"),
    [
        ('{{printf "%0999d" 1}}', "`0999`"),
        ('{{printf "%.99999f" 1.5}}', "`99999`"),
        ("{{pad .Name 1000 0}}", "`1000`"),
        ("{{pad .Name 0x3e7 0}}", "`0x3e7`"),
        ("{{pad .Name 1_000 0}}", "`1_000`"),
        ("{{pad .Name 99.5 0}}", "`99.5`"),
        ("{{pad .Name -1000 0}}", "`-1000`"),
    ],
)
def test_it_refuses_large_numbers_however_written(template: str, shown: str):
    reason = refusal(f"{_LS} '{template}'")
    assert reason.startswith("Numbers in Go templates may have at most 3 digits")
    assert f"(--format … {shown})" in reason


def test_it_refuses_character_constants_which_are_numbers():
    reason = refusal(f"{_LS} \"{{{{pad .Name '\\U0010FFFF' 0}}}}\"")
    assert reason.startswith("Character constants such as `'a'` are not allowed")


def test_it_refuses_template_calls_even_after_a_quoted_delimiter():
    reason = refusal(f'{_LS} \'{{{{printf "}}}}"}}}}{{{{template "x"}}}}\'')
    assert "may not define or call templates" in reason


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{{range .Spec.Labels", "a `{{` that is never closed with `}}`"),
        ('{{printf "x}}', 'a quote (") that is never closed'),
        ("{{.Name \\ .ID}}", "the character `\\` inside `{{ ... }}`"),
        ("{{/* never closed }}", "a comment `/* ... */` that does not end right before `}}`"),
        ("{{-range 9}}", "`-r` where a number should be"),
    ],
)
def test_it_refuses_what_it_cannot_read(template: str, problem: str):
    reason = refusal(f"{_LS} '{template}'")
    assert reason == f"The Go template of `--format` cannot be read: it has {problem}."


# --- --env and --hostname: plain fields only -----------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "template", "shown"),
    [
        ("-e", "X={{range 9}}{{.Service.Name}}{{end}}", "`{{range 9}}`"),
        ("--env", 'X={{index .Service.Labels "a"}}', '`{{index .Service.Labels "a"}}`'),
        ("-e", 'X={{printf "%s" .Node.ID}}', '`{{printf "%s" .Node.ID}}`'),
        ("-e", "X={{.}}", "`{{.}}`"),
        ("-e", "X={{$}}", "`{{$}}`"),
        ("-e", "X={{/* hi */}}", "`{{/* hi */}}`"),
        ("-e", "X={{.Service.Name | len}}", "`{{.Service.Name | len}}`"),
        ("--hostname", "{{range 99}}x{{end}}", "`{{range 99}}`"),
        ("--hostname", "web-{{with .Task}}{{.Slot}}{{end}}", "`{{with .Task}}`"),
    ],
)
def test_it_allows_only_plain_fields_in_templates_swarm_fills_in(
    flag: str, template: str, shown: str
):
    quote = "'" if "'" not in template else '"'
    reason = refusal(f"{_C} {flag} {quote}{template}{quote} nginx")
    assert reason == (
        "Swarm fills in the templates of `--env` values and `--hostname` itself, so in the "
        "sandbox they may hold only plain fields such as `{{.Service.Name}}`, "
        f"`{{{{.Node.Hostname}}}}` or `{{{{.Task.Slot}}}}` ({flag} … {shown})."
    )


def test_update_checks_env_templates_too():
    reason = refusal("docker service update --env-add 'X={{range 9}}x{{end}}' vote")
    assert PLAIN_FIELDS in reason


# --- the reader ----------------------------------------------------------------------------------


def test_it_splits_actions_into_words_as_go_does():
    actions = read_actions(
        '{{- range $k, $v := .Spec.Labels -}} {{printf "%s}}" (len $k)}}{{/* c */}}', "--format"
    )
    assert [a.comment for a in actions] == [False, False, True]
    assert actions[0].words == (
        Word("identifier", "range"),
        Word("variable", "$k"),
        Word("punctuation", ","),
        Word("variable", "$v"),
        Word("punctuation", ":="),
        Word("field", ".Spec.Labels"),
    )
    assert actions[1].words == (
        Word("identifier", "printf"),
        Word("string", '"%s}}"'),
        Word("punctuation", "("),
        Word("identifier", "len"),
        Word("variable", "$k"),
        Word("punctuation", ")"),
    )
    assert actions[1].text == '{{printf "%s}}" (len $k)}}'


def test_it_reads_a_dot_before_a_digit_as_a_number_as_go_does():
    (action,) = read_actions("{{pad .Name.Spec.9e9 0}}", "--format")
    assert action.words[1:3] == (Word("field", ".Name.Spec"), Word("number", ".9e9"))
    reason = refusal(f"{_LS} '{{{{pad .Name.9999 0}}}}'")
    assert reason.startswith("Numbers in Go templates may have at most 3 digits")


def test_it_tells_a_trim_marker_from_a_negative_number():
    trimmed, negative = read_actions("{{- .X -}}{{-3}}", "--format")
    assert trimmed.words == (Word("field", ".X"),)
    assert negative.words == (Word("number", "-3"),)


def test_it_reads_text_without_actions_as_nothing_to_check():
    assert read_actions("table }} plain {text}", "--format") == []


def test_an_unreadable_template_is_a_refusal():
    with pytest.raises(TemplateRefused) as raised:
        read_actions("{{.Name", "--format")
    assert raised.value.code == "go-template"


_PIECES = [
    *("{{", "}}", "{{- ", " -}}", "range", "with", "if", "end", "else", " ", "999", "9", "-"),
    *(".Spec.Labels", ".Name", ".", "$", "$x", ":=", ",", "(", ")", "|", '"', "'", "/*", "*/"),
    *("len", "index", "slice", "printf", "pad", "template", "\\t", "\\n", "x", "0x", "e9", "}"),
]


@settings(max_examples=500, deadline=None, database=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=25).map("".join))
def test_it_decides_every_template_without_raising(template: str):
    decision = check_command(shlex.join([*_LS.split(), template]), owner=OWNER)
    assert decision.allowed or decision.reason.endswith(".")
    if decision.allowed:
        for reading in (template, template.replace("\\t", "\t").replace("\\n", "\n")):
            for action in read_actions(reading, "--format"):
                words = [w for w in action.words if w.kind != "punctuation"]
                if words and words[0].text == "range":
                    assert words[-1].kind == "field", action.text
