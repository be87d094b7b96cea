"""The command policy: decide whether a snippet line may run in a sandbox, and exactly how.

A line is never given to a shell. It is split with `shlex` and checked against an allowlist of
`docker service` / `docker node` subcommands and their flags; what comes out is the argv to
execute, with the sandbox's own flags added (owner labels, resource limits, `--detach`).

The flag parser mirrors the Docker CLI's (spf13/pflag): `--flag value`, `--flag=value`, `-f value`,
`-fvalue`, `-f=value` and grouped booleans like `-dq`, with interspersed flags except for
`service create`, whose arguments after the image belong to the container. Every value is checked
as the CLI will read it, and the user's tokens are passed on unchanged, so what we checked is what
runs.
"""

from __future__ import annotations

import re
import shlex
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from runner import policy_data as data
from runner.policy_data import Refused, show

ALLOWED_SUMMARY = (
    "only `docker service create|ls|ps|scale|update|rollback|inspect|logs|rm` and "
    "`docker node ls|ps|inspect|update --availability` run in the sandbox"
)
MAX_LINE = 2000
MAX_TOKENS = 80
MAX_TARGETS = 20  # services or nodes named in one command
MAX_COMMAND_ARGS = 20  # the container command after the image in `service create`
MAX_COMMAND_ARG_LENGTH = 500
OWNER_LABEL = "confnotes.owner"
_DETACH_NOTE = (
    "Added `--detach` so the command returns at once; the swarm picture shows the rollout."
)
_OWNER_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", re.ASCII)
_OPERATOR_TOKEN_RE = re.compile(r"[;|&<>()]+")
_VARIABLE_START_RE = re.compile(r"[A-Za-z_0-9@*#?$!-]")
_MANAGEMENT_COMMANDS = frozenset(
    {
        *("builder", "buildx", "checkpoint", "compose", "config", "container", "context"),
        *("image", "manifest", "network", "plugin", "secret", "stack", "swarm", "system"),
        *("trust", "volume"),
    }
)


@dataclass(frozen=True)
class PolicyLimits:
    """The bounds a sandbox enforces on each command."""

    max_replicas: int = 10  # per command (scale / --replicas)
    max_update_delay_seconds: int = 60
    max_log_tail: int = 500
    memory_limit: str = "64M"  # added to every service the runner creates
    cpu_limit: str = "0.25"
    pids_limit: int = 128  # processes per task: a fork bomb stops there
    # Every task's root file system is read-only (a container's writable layer lives on the
    # host's disk, which nothing else bounds); it writes to a tmpfs at /tmp of this size instead,
    # which counts against its memory limit.
    tmp_size: str = "16M"
    # Registries a `service create`/`--image` may name; plain `vote` or `instavote/vote` always
    # mean Docker Hub. Other hosts are refused so a line cannot make the engine call them.
    image_registries: tuple[str, ...] = ("docker.io",)


@dataclass(frozen=True)
class Decision:
    """What the policy decided about one line, and the argv to run when allowed."""

    line: str  # the line as written
    allowed: bool
    argv: tuple[str, ...]  # what will be executed, starting with "docker" (empty when refused)
    reason: str  # when refused: one sentence naming the offending part
    note: str  # when allowed but rewritten: what was changed, and why
    subcommand: str  # e.g. "service create", "node ls"; "" if unparseable
    creates_service: bool  # True for service create
    service_name: str | None  # the one service the command targets or creates, when known
    replicas: int | None  # replicas asked for by create (default 1), --replicas or scale
    code: str = ""  # when refused: a short machine-readable reason, e.g. "bind-mount"
    services: tuple[str, ...] = ()  # every service the command names
    replica_targets: tuple[tuple[str, int], ...] = ()  # (service, replicas) pairs, for quotas


def check_command(line: str, *, owner: str, limits: PolicyLimits = PolicyLimits()) -> Decision:
    """Decide whether `line` may run in `owner`'s sandbox; never raises for any line.

    Raises ValueError only for an invalid `owner`, which comes from our own code.
    """
    if not _OWNER_RE.fullmatch(owner):
        raise ValueError(f"owner must match {_OWNER_RE.pattern}, got {owner!r}")
    state = _State()
    try:
        return _check(line, owner=owner, limits=limits, state=state)
    except Refused as refusal:
        return Decision(
            line=line,
            allowed=False,
            argv=(),
            reason=refusal.reason,
            note="",
            subcommand=state.subcommand,
            creates_service=state.subcommand == "service create",
            service_name=None,
            replicas=None,
            code=refusal.code,
        )


@dataclass
class _State:
    """How far a line got, so a refusal can still name its subcommand."""

    subcommand: str = ""


@dataclass
class _Outcome:
    """What a subcommand handler worked out."""

    args: list[str]  # the tokens after the subcommand word, as they will run
    notes: list[str] = field(default_factory=list)
    services: tuple[str, ...] = ()
    service_name: str | None = None
    replicas: int | None = None
    replica_targets: tuple[tuple[str, int], ...] = ()


def _check(line: str, *, owner: str, limits: PolicyLimits, state: _State) -> Decision:
    text, notes = _strip_comment(_check_characters(line))
    try:
        tokens = shlex.split(text, posix=True)
    except ValueError:
        raise Refused(
            "unbalanced-quotes",
            "The line has an unclosed quote or a trailing backslash, so it cannot be split "
            "into words.",
        ) from None
    if not tokens:
        raise Refused("empty", "There is nothing to run: the line is empty or only a comment.")
    _check_tokens(tokens)
    group, word = _command_words(tokens)
    name = _ALIASES.get((group, word), word)
    state.subcommand = f"{group} {name}"
    handler = _HANDLERS[(group, name)]
    outcome = handler(tokens[3:], owner, limits)
    argv = ("docker", group, name, *outcome.args)
    if (group, word) in _LEGACY:
        notes.insert(
            0,
            f"`docker {group} tasks` is the Docker 1.12 release-candidate name of "
            f"`docker {group} ps`; it runs as `{shlex.join(argv)}`.",
        )
    elif word != name:
        argv = ("docker", group, word, *outcome.args)  # a real alias of the CLI: keep it
    return Decision(
        line=line,
        allowed=True,
        argv=argv,
        reason="",
        note=" ".join(notes + outcome.notes),
        subcommand=state.subcommand,
        creates_service=state.subcommand == "service create",
        service_name=outcome.service_name,
        replicas=outcome.replicas,
        services=outcome.services,
        replica_targets=outcome.replica_targets,
    )


# --- the line as text ----------------------------------------------------------------------------


def _check_characters(line: str) -> str:
    """Refuse what no single, shell-free command line needs; return the line trimmed."""
    text = line.strip()
    if not text:
        raise Refused("empty", "There is nothing to run: the line is empty.")
    if len(text) > MAX_LINE:
        raise Refused("too-long", f"The line is longer than {MAX_LINE} characters.")
    for char in text:
        if char in "\n\r\u2028\u2029\x85":
            raise Refused(
                "newline", "A snippet line must be a single line; this one contains a line break."
            )
        # Control and invisible format characters (bidi overrides, zero-width spaces) would
        # make the line run differently from how it reads.
        if char != "\t" and unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            raise Refused(
                "control-char",
                f"The line contains an invisible control character (U+{ord(char):04X}); "
                "retype it as plain text.",
            )
    _check_pasted_typography(text)
    if "`" in text or "$(" in text:
        raise Refused(
            "substitution",
            "Command substitution (`$(...)` or backquotes) is not allowed: the sandbox runs no "
            "shell, and each line runs one docker command.",
        )
    if "${" in text:
        raise Refused(
            "variable",
            "Shell variables (`${...}`) are not allowed: the sandbox runs no shell, so nothing "
            "would expand them; write the value itself.",
        )
    return text


# What a web page or a word processor makes of "--" and " ": dashes (hyphen, non-breaking
# hyphen, figure dash, en and em dashes, horizontal bar, minus sign, small and full-width
# hyphen-minus) and spaces other than the plain one.
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_LONG_DASHES = "\u2013\u2014\u2015\u2212\ufe58"  # what "--" becomes as one typed character
_DASH = re.compile(f"[{_DASHES}]")
_ODD_SPACE = re.compile(r"[^\S \t]")  # whitespace, but not a space or a tab
_QUOTED = re.compile(r"'[^']*'|\"(?:[^\"\\]|\\.)*\"")


def _check_pasted_typography(text: str) -> None:
    """Refuse, saying what they are, the characters a copy from a web page puts in place of
    hyphens and spaces: the engine would read "—filter" as an argument, not an option, and a
    non-breaking space as part of a word, and its refusal would not say why. Quoted text is
    the visitor's own (a dash in an --env value is fine)."""
    if match := _ODD_SPACE.search(text):
        raise Refused(
            "typography",
            f"The line contains a special space (U+{ord(match.group()):04X}), perhaps pasted "
            "from a web page, which would join the words around it: retype it as a plain space.",
        )
    unquoted = _QUOTED.sub(lambda m: " " * len(m.group()), text)
    for word in unquoted.split():
        if word[0] in f"-{_DASHES}" and (dash := _DASH.search(word)):
            raise Refused(
                "typography",
                f"{show(word)} holds a typographic dash (U+{ord(dash.group()):04X}), perhaps "
                f"pasted from a web page: type options with hyphens, as in "
                f"{show(_with_hyphens(word))}.",
            )


def _with_hyphens(word: str) -> str:
    """``word`` as typed with hyphens: a lone long dash in front stands for "--"."""
    rest = word.lstrip(f"-{_DASHES}")
    lead = word[: len(word) - len(rest)]
    lead = "--" if len(lead) == 1 and lead in _LONG_DASHES else "-" * len(lead)
    return lead + _DASH.sub("-", rest)


def _strip_comment(text: str) -> tuple[str, list[str]]:
    """Find shell syntax outside quotes; drop a trailing `# comment` as a shell would.

    The quote tracking follows POSIX (and shlex): nothing is special inside single quotes, and
    inside double quotes only `\\`, `"` and `$` are.
    """
    quote = ""
    word_start = True
    i = 0
    while i < len(text):
        char = text[i]
        following = text[i + 1] if i + 1 < len(text) else ""
        if quote == "'":
            quote = "" if char == "'" else quote
        elif quote == '"':
            if char == "\\":
                i += 1
            elif char == '"':
                quote = ""
            elif char == "$" and _VARIABLE_START_RE.match(following):
                raise _variable(char + following)
        elif char == "\\":
            i += 1
            word_start = False
        elif char in "'\"":
            quote = char
            word_start = False
        elif char in " \t":
            word_start = True
        elif char == "#" and word_start:
            return text[:i], ["Ignored the shell comment at the end of the line."]
        elif char in ";|&<>()":
            raise _operator(char, following)
        elif char == "$" and _VARIABLE_START_RE.match(following):
            raise _variable(char + following)
        else:
            word_start = False
        i += 1
    return text, []


def _operator(char: str, following: str) -> Refused:
    if char == ";":
        return Refused(
            "separator",
            "`;` is not allowed: each snippet line runs exactly one docker command; put the next "
            "command on its own line.",
        )
    if char + following in ("&&", "||"):
        return Refused(
            "and-or",
            f"`{char + following}` is not allowed: each snippet line runs exactly one docker "
            "command; put the next command on its own line.",
        )
    if char == "|":
        return Refused(
            "pipe",
            "Pipes (`|`) are not allowed: the sandbox runs no shell; use `--format` or "
            "`--filter` to shape the output.",
        )
    if char == "&":
        return Refused(
            "background",
            "`&` (running in the background) is not allowed: the sandbox runs no shell, and "
            "every command runs to its end.",
        )
    if char in "<>":
        return Refused(
            "redirect",
            f"Redirections (`{char}`) are not allowed: the sandbox runs no shell and reads or "
            "writes no files; the output is shown on the page.",
        )
    return Refused(
        "subshell",
        f"Parentheses (`{char}`) are shell syntax and not allowed outside quotes: the sandbox "
        "runs no shell.",
    )


def _variable(text: str) -> Refused:
    return Refused(
        "variable",
        f"Shell variables ({show(text + '…')}) are not allowed: the sandbox runs no shell, so "
        "nothing would expand them; write the value itself, or single-quote it.",
    )


def _check_tokens(tokens: list[str]) -> None:
    if len(tokens) > MAX_TOKENS:
        raise Refused("too-long", f"The line has more than {MAX_TOKENS} words.")
    for token in tokens:
        # A quoted `";"` would reach docker as a word of its own: harmless without a shell, but
        # a sign the line was written for one, and the output would not be what it promises.
        if _OPERATOR_TOKEN_RE.fullmatch(token):
            raise _operator(token[0], token[1:2])


# --- docker <group> <subcommand> -----------------------------------------------------------------

_TOP_LEVEL_REASONS: dict[str, str] = {
    "-H": "`{flag}` is not allowed: commands always run against your own sandbox engine, never "
    "another one.",
    "--host": "-H",
    "-c": "`{flag}` is not allowed: commands always run against your own sandbox engine, never "
    "another context.",
    "--context": "-c",
    "--config": "The top-level `--config` is not allowed: the runner uses its own client "
    "configuration.",
    "-D": "Debug mode (`{flag}`) is not allowed: it prints the client's internals instead of "
    "the command's output.",
    "--debug": "-D",
    "-l": "`{flag}` is not allowed: the client's log level is fixed by the runner.",
    "--log-level": "-l",
}


def _command_words(tokens: list[str]) -> tuple[str, str]:
    """Check `docker <group> <subcommand>` and return (group, subcommand as written)."""
    first = tokens[0]
    if first != "docker":
        raise Refused("not-docker", _not_docker_reason(first))
    if len(tokens) < 2:
        raise Refused("missing-command", f"`docker` alone does nothing; {ALLOWED_SUMMARY}.")
    group = tokens[1]
    if group.startswith("-"):
        raise Refused("top-level-option", _top_level_reason(group))
    if group not in ("service", "node"):
        named = ["docker", group]
        if len(tokens) > 2 and group in _MANAGEMENT_COMMANDS and tokens[2].isalpha():
            named.append(tokens[2])
        raise Refused(
            "unknown-subcommand", f"{show(' '.join(named))} is not allowed here; {ALLOWED_SUMMARY}."
        )
    if len(tokens) < 3:
        raise Refused(
            "missing-subcommand",
            f"`docker {group}` needs a subcommand; {ALLOWED_SUMMARY}.",
        )
    word = tokens[2]
    if word.startswith("-"):
        raise Refused(
            "unknown-flag",
            f"`docker {group}` takes no options before its subcommand (got {show(word)}).",
        )
    if (group, _ALIASES.get((group, word), word)) not in _HANDLERS:
        raise Refused(
            "unknown-subcommand",
            f"{show(f'docker {group} {word}')} is not allowed here; {ALLOWED_SUMMARY}.",
        )
    return group, word


def _not_docker_reason(first: str) -> str:
    if first == "sudo":
        return "Lines must start with `docker`; the sandbox needs no `sudo`."
    if first in ("$", "#", ">", "%"):
        return f"Lines must start with `docker`; leave out the prompt {show(first)}."
    if first.endswith("/docker"):
        return f"Lines must start with plain `docker`, not a path ({show(first)})."
    return f"Only `docker` commands run in the sandbox; this line starts with {show(first)}."


def _top_level_reason(option: str) -> str:
    name = option.partition("=")[0]
    reason = _TOP_LEVEL_REASONS.get(name)
    if reason is not None and reason.startswith("-"):
        reason = _TOP_LEVEL_REASONS[reason]  # a long name shares its short form's reason
    if reason is None and name.startswith("--tls"):
        reason = (
            "TLS options (`{flag}`) are not allowed: the runner connects to your sandbox "
            "engine itself."
        )
    if reason is None:
        reason = (
            "Top-level docker options (`{flag}`) are not allowed; start the line with "
            "`docker service` or `docker node`."
        )
    return reason.format(flag=name[:40])


# --- flags ---------------------------------------------------------------------------------------

_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")  # strconv.ParseBool, as pflag uses


@dataclass
class _Parsed:
    values: dict[str, str]  # the last value of each flag (pflag: the last one wins)
    positionals: list[str]
    insert_at: int  # where the runner's own flags go: before `--` or the create image


def _parse(
    args: Sequence[str],
    flags: data.FlagTable,
    *,
    command: str,
    limits: PolicyLimits,
    interspersed: bool = True,
) -> _Parsed:
    """Parse flags as pflag does, checking each value; refuse unknown and forbidden flags."""
    values: dict[str, str] = {}
    positionals: list[str] = []
    insert_at: int | None = None
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            insert_at = i - 1
            positionals.extend(args[i:])
            break
        if not arg.startswith("-") or arg == "-":
            if not interspersed:
                insert_at = i - 1
                positionals.extend(args[i - 1 :])
                break
            positionals.append(arg)
            continue
        if arg.startswith("--"):
            name, has_value, value = arg[2:].partition("=")
            if not name or name[0] in "-=":
                raise _unknown_flag(arg, command)
            flag = _lookup(flags, name, arg, command)
            if flag.boolean:
                value = _bool(value if has_value else "true", arg)
            elif not has_value:
                if i >= len(args):
                    raise Refused("missing-value", f"`{arg}` needs a value.")
                value = args[i]
                i += 1
            _record(flag, value, f"--{name}", values, limits)
            continue
        shorts = arg[1:]
        while shorts:
            letter = shorts[0]
            flag = _lookup(flags, flags.shorts.get(letter, ""), f"-{letter}", command, letter)
            if len(shorts) > 2 and shorts[1] == "=":
                value, shorts = shorts[2:], ""
                if flag.boolean:
                    value = _bool(value, f"-{letter}")
            elif flag.boolean:
                value, shorts = "true", shorts[1:]
            elif len(shorts) > 1:
                value, shorts = shorts[1:], ""
            elif i < len(args):
                value, shorts = args[i], ""
                i += 1
            else:
                raise Refused("missing-value", f"`-{letter}` needs a value.")
            _record(flag, value, f"-{letter}", values, limits)
    return _Parsed(values, positionals, len(args) if insert_at is None else insert_at)


def _lookup(
    flags: data.FlagTable, name: str, shown: str, command: str, letter: str = ""
) -> data.Flag:
    refused_name = flags.refused_shorts.get(letter, "") if letter else name
    if refused_name in flags.refused:
        refused = flags.refused[refused_name]
        raise Refused(refused.code, refused.reason)
    if name in flags.flags:
        return flags.flags[name]
    raise _unknown_flag(shown, command)


def _unknown_flag(shown: str, command: str) -> Refused:
    return Refused(
        "unknown-flag",
        f"{show(shown.partition('=')[0], 40)} is not an option the sandbox accepts for "
        f"`docker {command}`.",
    )


def _bool(value: str, shown: str) -> str:
    if value in _TRUE:
        return "true"
    if value in _FALSE:
        return "false"
    raise Refused("bad-value", f"`{shown}` is a switch; it takes `true` or `false` at most.")


def _record(
    flag: data.Flag, value: str, shown: str, values: dict[str, str], limits: PolicyLimits
) -> None:
    if flag.check is not None:
        flag.check(value, shown, limits)
    values[flag.long] = value


def _insert(args: Sequence[str], at: int, extra: Sequence[str]) -> list[str]:
    return [*args[:at], *extra, *args[at:]]


def _targets(positionals: list[str], command: str, what: str, *, at_least: int = 1) -> None:
    kind = "service" if command.startswith("service") else "node"
    if len(positionals) < at_least:
        raise Refused("missing-argument", f"`docker {command}` needs {what}.")
    if len(positionals) > MAX_TARGETS:
        raise Refused(
            "too-many-arguments",
            f"`docker {command}` may name at most {MAX_TARGETS} {kind}s at once in the sandbox.",
        )
    for positional in positionals:
        data.check_ref(positional, kind)


def _exactly_one(positionals: list[str], command: str, what: str) -> str:
    if not positionals:
        raise Refused("missing-argument", f"`docker {command}` needs {what}.")
    if len(positionals) > 1:
        raise Refused(
            "extra-argument",
            f"`docker {command}` takes {what}; {show(positionals[1])} is one too many.",
        )
    data.check_ref(positionals[0], "service" if command.startswith("service") else "node")
    return positionals[0]


def _no_arguments(positionals: list[str], command: str) -> None:
    if positionals:
        raise Refused(
            "extra-argument",
            f"`docker {command}` takes no arguments (got {show(positionals[0])}).",
        )


# --- subcommands ---------------------------------------------------------------------------------


def _service_create(args: list[str], owner: str, limits: PolicyLimits) -> _Outcome:
    command = "service create"
    # As in the CLI, everything from the image on is the container's command, not our flags.
    parsed = _parse(args, data.CREATE, command=command, limits=limits, interspersed=False)
    if not parsed.positionals:
        raise Refused(
            "missing-argument",
            "`docker service create` needs an image, e.g. "
            "`docker service create --name web instavote/vote`.",
        )
    image, *container_command = parsed.positionals
    data.check_image(image, "the image", limits)
    if len(container_command) > MAX_COMMAND_ARGS:
        raise Refused(
            "too-many-arguments",
            f"The command after the image may have at most {MAX_COMMAND_ARGS} words in the "
            "sandbox.",
        )
    for word in container_command:
        if len(word) > MAX_COMMAND_ARG_LENGTH:
            raise Refused(
                "too-long",
                f"Each word of the command after the image may be at most "
                f"{MAX_COMMAND_ARG_LENGTH} characters in the sandbox.",
            )
    values = parsed.values
    extra: list[str] = []
    added: list[str] = []
    if "detach" not in values:
        extra.append("--detach")
        added.append("`--detach`")
    owner_label = f"{OWNER_LABEL}={owner}"
    extra += ["--label", owner_label, "--container-label", owner_label]
    added.append("the owner labels")
    resource_flags: list[str] = []
    if "limit-memory" not in values:
        resource_flags += ["--limit-memory", limits.memory_limit]
    if "limit-cpu" not in values:
        resource_flags += ["--limit-cpu", limits.cpu_limit]
    if "limit-pids" not in values:
        resource_flags += ["--limit-pids", str(limits.pids_limit)]
    if resource_flags:
        extra += resource_flags
        shown = ", ".join(
            f"`{resource_flags[i]} {resource_flags[i + 1]}`"
            for i in range(0, len(resource_flags), 2)
        )
        added.append(f"the sandbox's resource limits ({shown})")
    # Always added, even after a visitor's own `--read-only`: the last one wins in the CLI, and
    # `--read-only=false` and every mount flag are refused, on create and on update.
    tmpfs = f"type=tmpfs,destination=/tmp,tmpfs-size={limits.tmp_size}"
    extra += ["--read-only", "--mount", tmpfs]
    added.append(
        f"a read-only file system with {limits.tmp_size} of scratch space in `/tmp` "
        f"(`--read-only --mount {tmpfs}`)"
    )
    name = values.get("name")
    replicas = int(values.get("replicas", "1"))
    return _Outcome(
        args=_insert(args, parsed.insert_at, extra),
        notes=[f"Added {_human_join(added)}."],
        services=(name,) if name else (),
        service_name=name,
        replicas=replicas,
        replica_targets=((name, replicas),) if name else (),
    )


def _service_update(args: list[str], owner: str, limits: PolicyLimits) -> _Outcome:
    command = "service update"
    parsed = _parse(args, data.UPDATE, command=command, limits=limits)
    service = _exactly_one(parsed.positionals, command, "the name of one service")
    replicas = int(parsed.values["replicas"]) if "replicas" in parsed.values else None
    return _detached(
        args,
        parsed,
        _Outcome(
            args=args,
            services=(service,),
            service_name=service,
            replicas=replicas,
            replica_targets=((service, replicas),) if replicas is not None else (),
        ),
    )


def _service_scale(args: list[str], owner: str, limits: PolicyLimits) -> _Outcome:
    command = "service scale"
    parsed = _parse(args, data.SCALE, command=command, limits=limits)
    if not parsed.positionals:
        raise Refused("missing-argument", "`docker service scale` needs `SERVICE=REPLICAS`.")
    if len(parsed.positionals) > MAX_TARGETS:
        raise Refused(
            "too-many-arguments",
            f"`docker service scale` may name at most {MAX_TARGETS} services at once.",
        )
    targets: list[tuple[str, int]] = []
    for pair in parsed.positionals:
        service, equals, count = pair.partition("=")
        number = data.parse_uint(count)
        if not equals or number is None:
            raise Refused(
                "bad-value",
                f"`docker service scale` expects `SERVICE=REPLICAS` such as `vote=6` "
                f"(got {show(pair)}).",
            )
        data.check_ref(service, "service")
        targets.append((service, number))
    total = sum(number for _, number in targets)
    if total > limits.max_replicas:
        if len(targets) == 1:
            reason = (
                f"The sandbox allows at most {limits.max_replicas} replicas per command "
                f"({show(parsed.positionals[0])})."
            )
        else:
            reason = (
                f"`docker service scale` asks for {total} replicas in all "
                f"({show(' '.join(parsed.positionals))}); the sandbox allows at most "
                f"{limits.max_replicas} per command."
            )
        raise Refused("replicas-too-many", reason)
    names = tuple(service for service, _ in targets)
    return _detached(
        args,
        parsed,
        _Outcome(
            args=args,
            services=names,
            service_name=names[0] if len(names) == 1 else None,
            replicas=total,
            replica_targets=tuple(targets),
        ),
    )


def _service_rollback(args: list[str], owner: str, limits: PolicyLimits) -> _Outcome:
    command = "service rollback"
    parsed = _parse(args, data.ROLLBACK, command=command, limits=limits)
    service = _exactly_one(parsed.positionals, command, "the name of one service")
    return _detached(args, parsed, _Outcome(args, services=(service,), service_name=service))


def _detached(args: list[str], parsed: _Parsed, outcome: _Outcome) -> _Outcome:
    """Add `--detach` unless given: the CLI would otherwise wait for the service to converge."""
    if "detach" not in parsed.values:
        outcome.args = _insert(args, parsed.insert_at, ["--detach"])
        outcome.notes.append(_DETACH_NOTE)
    return outcome


def _many_services(table: data.FlagTable, command: str) -> _Handler:
    def handle(args: list[str], owner: str, limits: PolicyLimits) -> _Outcome:
        parsed = _parse(args, table, command=command, limits=limits)
        _targets(parsed.positionals, command, "the name of at least one service")
        names = tuple(parsed.positionals)
        return _Outcome(args, services=names, service_name=names[0] if len(names) == 1 else None)

    return handle


def _service_logs(args: list[str], owner: str, limits: PolicyLimits) -> _Outcome:
    command = "service logs"
    parsed = _parse(args, data.LOGS, command=command, limits=limits)
    service = _exactly_one(parsed.positionals, command, "the name of one service or task")
    outcome = _Outcome(args, services=(service,), service_name=service)
    if "tail" not in parsed.values:
        # Without --tail the CLI prints the whole log; bound it so a run's output stays small.
        tail = str(limits.max_log_tail)
        outcome.args = _insert(args, parsed.insert_at, ["--tail", tail])
        outcome.notes.append(
            f"Added `--tail {tail}`: the sandbox shows at most the last {tail} lines."
        )
    return outcome


def _listing(table: data.FlagTable, command: str) -> _Handler:
    def handle(args: list[str], owner: str, limits: PolicyLimits) -> _Outcome:
        parsed = _parse(args, table, command=command, limits=limits)
        _no_arguments(parsed.positionals, command)
        return _Outcome(args)

    return handle


def _nodes(table: data.FlagTable, command: str, *, at_least: int) -> _Handler:
    def handle(args: list[str], owner: str, limits: PolicyLimits) -> _Outcome:
        parsed = _parse(args, table, command=command, limits=limits)
        _targets(parsed.positionals, command, "the name of at least one node", at_least=at_least)
        return _Outcome(args)

    return handle


def _node_update(args: list[str], owner: str, limits: PolicyLimits) -> _Outcome:
    command = "node update"
    parsed = _parse(args, data.NODE_UPDATE, command=command, limits=limits)
    if "availability" not in parsed.values:
        raise Refused(
            "missing-flag",
            "`docker node update` runs in the sandbox only as "
            "`docker node update --availability drain|active NODE`.",
        )
    _exactly_one(parsed.positionals, command, "the name of one node")
    return _Outcome(args)


def _human_join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


_Handler = Callable[[list[str], str, PolicyLimits], _Outcome]

_HANDLERS: dict[tuple[str, str], _Handler] = {
    ("service", "create"): _service_create,
    ("service", "ls"): _listing(data.LIST, "service ls"),
    ("service", "ps"): _many_services(data.TASKS, "service ps"),
    ("service", "scale"): _service_scale,
    ("service", "update"): _service_update,
    ("service", "rollback"): _service_rollback,
    ("service", "inspect"): _many_services(data.INSPECT, "service inspect"),
    ("service", "logs"): _service_logs,
    ("service", "rm"): _many_services(data.REMOVE, "service rm"),
    ("node", "ls"): _listing(data.LIST, "node ls"),
    ("node", "ps"): _nodes(data.TASKS, "node ps", at_least=0),
    ("node", "inspect"): _nodes(data.INSPECT, "node inspect", at_least=1),
    ("node", "update"): _node_update,
}
# Aliases the CLI itself accepts; they run as written.
_ALIASES: dict[tuple[str, str], str] = {
    ("service", "list"): "ls",
    ("service", "remove"): "rm",
    ("node", "list"): "ls",
    ("service", "tasks"): "ps",
    ("node", "tasks"): "ps",
}
# Docker 1.12 release-candidate names the CLI no longer knows: rewritten, with a note.
_LEGACY = frozenset({("service", "tasks"), ("node", "tasks")})
