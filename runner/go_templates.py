"""Go templates in command values, read the way Go's text/template reads them.

The docker CLI runs `--format` templates, and swarm fills in `--env` and `--hostname` templates
on the engine; neither bounds what a template may build. `{{range 999}}{{range 999}}...` is a
few characters that make gigabytes, and a regular expression over `{{ ... }}` can be dodged (a
`}}` inside a quoted string, trim markers, parentheses, a number hidden in a variable). So this
module splits a template into its actions and their words as text/template's lexer does
(text/template/parse/lex.go) and checks the words, not the characters.

Where Go would refuse a template anyway, reading it differently does no harm (the template never
runs); where Go accepts one, the words here are the words Go sees. What this module cannot read
(an unclosed action, a character no action may hold) is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# At most two `range` inside one another: the data's own lists are short (labels, networks,
# ports), and every further level multiplies the output again.
MAX_RANGE_DEPTH = 2

# The fields that hold lists or maps in what the swarm commands format (Docker's api/types/swarm
# Service, Task and Node, mount.Mount), by their last name: `range` may walk only these. A plain
# field can be a number too (`.Spec.TaskTemplate.Resources.Limits.NanoCPUs` is 250,000,000,
# `.Description.Resources.MemoryBytes` the node's memory), and Go's `range` counts up to it.
RANGE_FIELDS = frozenset(
    {
        *("Addresses", "Aliases", "Args", "CapabilityAdd", "CapabilityDrop", "Command"),
        *("Configs", "Constraints", "CSIInfo", "DriverOpts", "Env", "GenericResources"),
        *("Groups", "Hosts", "Labels", "Mounts", "Nameservers", "Networks"),
        *("NetworksAttachments", "Options", "Platforms", "Plugins", "Ports", "Preferences"),
        *("Search", "Secrets", "Sysctls", "Test", "Ulimits", "VirtualIPs", "Volumes"),
    }
)
_SPACE = " \t\r\n"  # the only spaces text/template knows
_IDENT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_DIGITS = frozenset("0123456789")
_FIELD_STARTS = _IDENT_CHARS - _DIGITS
_KEYWORDS_THAT_NEST = ("if", "with", "range", "define", "block")
_TEMPLATE_CALLS = ("define", "template", "block")
# A number as the sandbox allows it: at most 3 digits, so `pad` and `printf` widths stay small.
_SMALL_NUMBER_RE = re.compile(r"[+-]?[0-9]{1,3}", re.ASCII)
# Digits inside quoted strings, such as the width in `printf "%0999d"`.
_DIGITS_IN_TEXT_RE = re.compile(r"[0-9]+", re.ASCII)
# The CLI's list formatters turn the two characters `\t` and `\n` into a tab and a line break
# before parsing (cli/command/formatter: Context.preFormat); `inspect -f` does not.
_FORMAT_ESCAPES_RE = re.compile(r"\\([tn])")


class TemplateRefused(Exception):
    """A template the sandbox will not run; carries a short code and a plain reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.code = "go-template"
        self.reason = reason


@dataclass(frozen=True)
class Word:
    """One word of an action: its kind and its text as written."""

    kind: str  # field, variable, dot, number, string, char, identifier or punctuation
    text: str


@dataclass(frozen=True)
class Action:
    """One `{{ ... }}` of a template."""

    text: str  # as written, delimiters included (for messages)
    words: tuple[Word, ...]
    comment: bool = False


class _Unreadable(Exception):
    """The template cannot be split into actions; the message names what was found."""


def read_actions(template: str, flag: str) -> list[Action]:
    """Split a template into its actions, as text/template's lexer does; text between is skipped.

    Raises `TemplateRefused` for a template that cannot be read.
    """
    try:
        return _read_actions(template)
    except _Unreadable as problem:
        raise TemplateRefused(
            f"The Go template of `{flag}` cannot be read: it has {problem}."
        ) from None


def check_format(value: str, flag: str) -> None:
    """A `--format` template: `range` only over a list or map, 2 deep at most, no template calls.

    The CLI's list commands read `\\t` and `\\n` as a tab and a line break, and `inspect` does
    not: both readings must pass.
    """
    unescaped = _FORMAT_ESCAPES_RE.sub(lambda m: "\t" if m[1] == "t" else "\n", value)
    for reading in dict.fromkeys((unescaped, value)):
        _check_format_reading(reading, flag)


def check_swarm_template(value: str, flag: str) -> None:
    """A value swarm fills in (`--env`, `--hostname`): plain fields such as `{{.Task.Slot}}`."""
    for action in read_actions(value, flag):
        _check_words(action, flag)
        words = action.words
        if action.comment or len(words) != 1 or words[0].kind != "field":
            raise TemplateRefused(
                "Swarm fills in the templates of `--env` values and `--hostname` itself, so in "
                "the sandbox they may hold only plain fields such as `{{.Service.Name}}`, "
                "`{{.Node.Hostname}}` or `{{.Task.Slot}}` "
                f"({flag} … {_shown(action.text)})."
            )


# --- the rules -----------------------------------------------------------------------------------


def _check_format_reading(template: str, flag: str) -> None:
    nesting: list[str] = []
    for action in read_actions(template, flag):
        _check_words(action, flag)
        if action.comment or not action.words:
            continue
        first = action.words[0]
        if first.kind != "identifier":
            continue
        if first.text == "end":
            if nesting:
                nesting.pop()
        elif first.text in _KEYWORDS_THAT_NEST:
            if first.text == "range":
                _check_range(action, flag)
            nesting.append(first.text)
            if nesting.count("range") > MAX_RANGE_DEPTH:
                raise TemplateRefused(
                    f"`{flag}` templates may nest `range` at most {MAX_RANGE_DEPTH} deep in the "
                    "sandbox: every level multiplies the output again."
                )
        # `else`, `else if` and `else with` continue the action they belong to.


def _check_range(action: Action, flag: str) -> None:
    """`range` walks a list or map of the data, optionally into variables: `{{range $k, $v :=
    .Spec.Labels}}`; `$.Spec.Labels` (the same field of the root) is fine too."""
    rest = list(action.words[1:])
    for shape in (("$", ":="), ("$", ",", "$", ":=")):
        head = rest[: len(shape)]
        if len(head) == len(shape) and all(map(_is, head, shape)):
            rest = rest[len(shape) :]
            break
    if len(rest) == 2 and rest[0] == Word("variable", "$"):
        rest = rest[1:]  # `$` is the root, where the template started
    if len(rest) != 1 or rest[0].kind != "field":
        raise TemplateRefused(
            f"In `{flag}` templates, `range` may walk only a list or map of the data, such as "
            "`{{range .Spec.Labels}}` or `{{range $k, $v := .Spec.Labels}}`; not a number, a "
            f"variable or what a function returns ({flag} … {_shown(action.text)})."
        )
    field = rest[0].text
    if field.rpartition(".")[2] not in RANGE_FIELDS:
        raise TemplateRefused(
            f"In `{flag}` templates, `range` may walk only the data's lists and maps, such as "
            "`.Spec.Labels`, `.Endpoint.Ports` or `.Spec.TaskTemplate.ContainerSpec.Env`; "
            f"{_shown(field, 60)} is not one of them, and over a number it would repeat the output "
            "millions of times."
        )


def _is(word: Word, want: str) -> bool:
    """Does word fit one place of a `range` declaration: `$` a variable, `:=` either `:=` or `=`."""
    if want == "$":
        return word.kind == "variable"
    if want == ":=":
        return word.kind == "punctuation" and word.text in (":=", "=")
    return word.kind == "punctuation" and word.text == want


def _check_words(action: Action, flag: str) -> None:
    """What no template may hold: template calls, large numbers, character constants."""
    for word in action.words:
        if word.kind == "identifier" and word.text in _TEMPLATE_CALLS:
            raise TemplateRefused(
                "Go templates may not define or call templates (`define`, `template`, `block`) "
                f"in the sandbox: they can loop without end ({flag})."
            )
        if word.kind == "number" and not _SMALL_NUMBER_RE.fullmatch(word.text):
            raise _large_number(word.text, flag)
        if word.kind == "string":
            for number in _DIGITS_IN_TEXT_RE.findall(word.text):
                if not _SMALL_NUMBER_RE.fullmatch(number):
                    raise _large_number(number, flag)
        if word.kind == "char":
            raise TemplateRefused(
                "Character constants such as `'a'` are not allowed in Go templates in the "
                f"sandbox: Go reads them as numbers, which can be large ({flag} … "
                f"{_shown(word.text)})."
            )


def _large_number(number: str, flag: str) -> TemplateRefused:
    return TemplateRefused(
        "Numbers in Go templates may have at most 3 digits in the sandbox: larger ones can make "
        f"the output huge ({flag} … `{number[:19] + '…' if len(number) > 20 else number}`)."
    )


def _shown(text: str, limit: int = 40) -> str:
    """Quote part of a template for a reason, on one line (tabs and line breaks escaped)."""
    text = text.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"`{text}`"


# --- the reader ----------------------------------------------------------------------------------


def _read_actions(template: str) -> list[Action]:
    actions: list[Action] = []
    at = 0
    while (start := template.find("{{", at)) >= 0:
        i = start + 2
        if template.startswith("-", i) and template[i + 1 : i + 2] in tuple(_SPACE):
            i += 2  # a left trim marker: `{{- `
        if template.startswith("/*", i):
            end = template.find("*/", i + 2)
            close = _right_delimiter(template, end + 2) if end >= 0 else None
            if close is None:
                raise _Unreadable("a comment `/* ... */` that does not end right before `}}`")
            actions.append(Action(template[start:close], (), comment=True))
            at = close
            continue
        words, at = _read_words(template, i)
        actions.append(Action(template[start:at], tuple(words)))
    return actions


def _right_delimiter(text: str, i: int) -> int | None:
    """Where the action ends, past `}}` or a trim-marked ` -}}` starting at i; None if neither."""
    if text[i : i + 1] in tuple(_SPACE) and text.startswith("-}}", i + 1):
        return i + 4
    if text.startswith("}}", i):
        return i + 2
    return None


def _read_words(text: str, i: int) -> tuple[list[Word], int]:
    """The words of one action from i on, and the index just past its closing delimiter."""
    words: list[Word] = []
    while True:
        if i >= len(text):
            raise _Unreadable("a `{{` that is never closed with `}}`")
        close = _right_delimiter(text, i)
        if close is not None:
            return words, close
        char = text[i]
        following = text[i + 1 : i + 2]
        if char in _SPACE:
            i += 1
            continue
        if char in "\"'`":
            end = _end_of_quote(text, i)
            words.append(Word({"'": "char"}.get(char, "string"), text[i:end]))
            i = end
        elif char == "$":
            end = _end_of_identifier(text, i + 1)
            words.append(Word("variable", text[i:end]))
            i = end
        elif char == "." and following not in _DIGITS:
            # A chain of fields (`.Spec.Labels`); as in Go, a `.` before a digit starts a number.
            end = i
            while text[end : end + 1] == "." and text[end + 1 : end + 2] in _FIELD_STARTS:
                end = _end_of_identifier(text, end + 1)
            if end == i:
                words.append(Word("dot", "."))
                i += 1
            else:
                words.append(Word("field", text[i:end]))
                i = end
        elif char in "+-." or char in _DIGITS:
            end = _end_of_number(text, i)
            words.append(Word("number", text[i:end]))
            i = end
        elif char in _IDENT_CHARS:
            end = _end_of_identifier(text, i)
            words.append(Word("identifier", text[i:end]))
            i = end
        elif char == ":" and following == "=":
            words.append(Word("punctuation", ":="))
            i += 2
        elif char in "=|,()":
            words.append(Word("punctuation", char))
            i += 1
        else:
            raise _Unreadable(f"the character `{char}` inside `{{{{ ... }}}}`")


def _end_of_identifier(text: str, i: int) -> int:
    while i < len(text) and text[i] in _IDENT_CHARS:
        i += 1
    return i


def _end_of_quote(text: str, i: int) -> int:
    quote = text[i]
    j = i + 1
    while j < len(text):
        char = text[j]
        if char == "\\" and quote != "`":
            j += 2
            continue
        if char == quote:
            return j + 1
        j += 1
    raise _Unreadable(f"a quote ({quote}) that is never closed")


def _end_of_number(text: str, i: int) -> int:
    """As text/template's scanNumber, followed by the imaginary part of a complex number."""
    end = _scan_number(text, i)
    if text[end : end + 1] in ("+", "-"):
        end = _scan_number(text, end)
    number = text[i:end]
    if not any(char in _DIGITS for char in number) or text[end : end + 1] in _IDENT_CHARS:
        raise _Unreadable(f"{_shown(text[i : end + 1], 20)} where a number should be")
    return end


def _scan_number(text: str, i: int) -> int:
    def run(j: int, allowed: str) -> int:
        while j < len(text) and text[j] in allowed:
            j += 1
        return j

    digits = "0123456789_"
    if text[i : i + 1] in ("+", "-"):
        i += 1
    if text[i : i + 1] == "0":
        i += 1
        prefix = text[i : i + 1].lower()
        digits = {"x": "0123456789abcdefABCDEF_", "o": "01234567_", "b": "01_"}.get(prefix, digits)
        if prefix in ("x", "o", "b"):
            i += 1
    i = run(i, digits)
    if text[i : i + 1] == ".":
        i = run(i + 1, digits)
    exponent = {"0123456789_": "eE", "0123456789abcdefABCDEF_": "pP"}.get(digits, "")
    if exponent and text[i : i + 1] and text[i] in exponent:
        i += 1
        if text[i : i + 1] in ("+", "-"):
            i += 1
        i = run(i, "0123456789_")
    if text[i : i + 1] == "i":
        i += 1
    return i
