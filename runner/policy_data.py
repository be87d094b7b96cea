"""Flag tables and value checks for the command policy (used by `runner.policy`).

Each allowed flag names a check that either returns quietly or raises `Refused` with a short code
and one sentence a visitor understands. Checks accept only a subset of what the Docker CLI accepts,
so that what we validate is exactly what the CLI will read (no parser differences).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from runner import go_templates

if TYPE_CHECKING:
    from runner.policy import PolicyLimits

Check = Callable[[str, str, "PolicyLimits"], None]
"""A value check: (value, the flag as the visitor wrote it, limits) -> None or raise Refused."""


class Refused(Exception):
    """The line breaks the policy; carries a short machine code and a human reason."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def show(text: str, limit: int = 60) -> str:
    """Quote visitor text for a reason, cut short so the sentence stays readable."""
    if not text:
        return '`""` (an empty word)'
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"`{text}`"


# All patterns are ASCII-only on purpose: Python's \d and \w match other scripts' digits and
# letters, which the Go CLI would read differently (or not at all).
NAME_RE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*", re.ASCII)
MAX_NAME = 63  # swarm service names are DNS labels
MAX_REF = 128  # IDs, task names (service.slot.id) and node hostnames
_UINT_RE = re.compile(r"0|[1-9][0-9]{0,8}", re.ASCII)  # no leading zeros: Go reads 010 as 8
_DURATION_RE = re.compile(r"0|(?:[0-9]{1,6}(?:\.[0-9]{1,6})?(?:ns|us|µs|ms|s|m|h)){1,4}")
_DURATION_PART_RE = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {
    "ns": Decimal("1e-9"),
    "us": Decimal("1e-6"),
    "µs": Decimal("1e-6"),
    "ms": Decimal("0.001"),
    "s": Decimal(1),
    "m": Decimal(60),
    "h": Decimal(3600),
}
_MEMORY_RE = re.compile(r"([0-9]{1,12}(?:\.[0-9]{1,6})?)([kKmMgGtTpP]?)(?:[iI]?[bB]?)", re.ASCII)
_CPU_RE = re.compile(r"[0-9]{1,4}(?:\.[0-9]{1,9})?", re.ASCII)
_ENV_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,127}", re.ASCII)
_LABEL_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./-]{0,127}", re.ASCII)
_CONSTRAINT_RE = re.compile(r"[A-Za-z0-9_.-]{1,100} *(?:==|!=) *[A-Za-z0-9_.:/*-]{1,100}", re.ASCII)
_FILTER_RE = re.compile(r"[a-z][a-z._-]{0,30}=[A-Za-z0-9_.:=/@-]{0,160}", re.ASCII)
_HOSTNAME_RE = re.compile(r"[A-Za-z0-9{}._ -]{1,128}", re.ASCII)
_WORKDIR_RE = re.compile(r"/[A-Za-z0-9_./-]{0,200}", re.ASCII)
_USER_PART_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}|[0-9]{1,10}", re.ASCII)
_STOP_SIGNAL_RE = re.compile(r"(?:SIG)?[A-Z0-9+-]{1,12}|[0-9]{1,2}", re.ASCII)
_CAP_RE = re.compile(r"[A-Za-z_]{1,40}", re.ASCII)
_RATIO_RE = re.compile(r"0|1|0?\.[0-9]{1,6}|1\.0{1,6}", re.ASCII)
_PLACEMENT_RE = re.compile(r"spread=[A-Za-z0-9_.-]{1,100}", re.ASCII)
_SINCE_RE = re.compile(
    r"[0-9]{1,10}(?:\.[0-9]{1,9})?"  # a Unix timestamp
    r"|[0-9]{4}-[0-9]{2}-[0-9]{2}(?:T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?"
    r"(?:Z|[+-][0-9]{2}:[0-9]{2})?)?",  # an RFC 3339 date or time
    re.ASCII,
)
# Swarm expands Go templates in --env and --hostname, and the CLI expands --format, with no bound
# on memory: runner.go_templates reads them as Go does and allows only the safe shapes.
MAX_FORMAT = 200

# Image references, after the reference grammar of distribution/reference.
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE_PATH_RE = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT}){{0,4}}", re.ASCII)
_TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", re.ASCII)
_DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}", re.ASCII)
_DOMAIN_RE = re.compile(
    r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
    r"(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]{1,5})?",
    re.ASCII,
)
RESERVED_LABEL_PREFIX = "confnotes."


# --- small parsers, shared with runner.policy ---------------------------------------------------


def parse_uint(value: str) -> int | None:
    """Read a decimal count the way we allow it, or None."""
    return int(value) if _UINT_RE.fullmatch(value) else None


def parse_duration(value: str) -> Decimal | None:
    """Read a Go duration (`10s`, `1m30s`, `500ms`, `0`) as seconds, or None."""
    if not _DURATION_RE.fullmatch(value):
        return None
    return sum(
        (Decimal(n) * _DURATION_UNITS[unit] for n, unit in _DURATION_PART_RE.findall(value)),
        Decimal(0),
    )


def parse_memory(value: str) -> int | None:
    """Read a size like the CLI's RAMInBytes does (`64M` = 64 MiB), or None."""
    match = _MEMORY_RE.fullmatch(value)
    if not match:
        return None
    number, unit = match.groups()
    power = " kmgtp".index(unit.lower()) if unit else 0
    return int(Decimal(number) * 1024**power)


def parse_cpu(value: str) -> Decimal | None:
    """Read a CPU count like `0.25`, or None."""
    return Decimal(value) if _CPU_RE.fullmatch(value) else None


def _seconds(value: Decimal) -> str:
    return f"{value.normalize():f}s"


def _bad(flag: str, value: str, expected: str) -> Refused:
    return Refused("bad-value", f"`{flag}` expects {expected} (got {show(value)}).")


# --- value checks --------------------------------------------------------------------------------


def check_name(value: str, flag: str, limits: PolicyLimits) -> None:
    """A service name: letters, digits, `_`, `.`, `-`, at most 63 characters."""
    if len(value) > MAX_NAME or not NAME_RE.fullmatch(value):
        raise Refused(
            "bad-name",
            f"{show(value)} is not a valid name for `{flag}`: use letters, digits, `_`, `.` and "
            f"`-`, starting with a letter or digit, at most {MAX_NAME} characters.",
        )


def check_ref(value: str, what: str) -> None:
    """A service, task or node named as an argument (a name or an ID)."""
    if len(value) > MAX_REF or not NAME_RE.fullmatch(value):
        raise Refused(
            "bad-name",
            f"{show(value)} is not a valid {what}: use letters, digits, `_`, `.` and `-`, "
            "starting with a letter or digit.",
        )


def check_image(value: str, flag: str, limits: PolicyLimits) -> None:
    """An image reference from an allowed registry (Docker Hub unless configured otherwise)."""
    rest, _, digest = value.partition("@")
    first, slash, remainder = rest.partition("/")
    # As in Docker: the first part names a registry only if it looks like a host.
    domain = first if slash and ("." in first or ":" in first or first == "localhost") else None
    path = remainder if domain else rest
    last = path.rpartition("/")[2]
    name, colon, tag = last.partition(":")
    path = path[: len(path) - len(last)] + name
    if (
        len(value) > 255
        or (domain is not None and not _DOMAIN_RE.fullmatch(domain))
        or not _IMAGE_PATH_RE.fullmatch(path)
        or (colon and not _TAG_RE.fullmatch(tag))
        or ("@" in value and not _DIGEST_RE.fullmatch(digest))
    ):
        raise Refused(
            "bad-image",
            f"{show(value)} is not an image reference the sandbox accepts "
            "(expected something like `instavote/vote:movies`).",
        )
    if domain is not None and domain.lower() not in limits.image_registries:
        raise Refused(
            "image-registry",
            f"Images must come from Docker Hub; {show(value)} names another registry "
            f"({show(domain)}), which the sandbox does not contact.",
        )


def uint_check(maximum: Callable[[PolicyLimits], int], *, code: str = "number-too-large") -> Check:
    """A whole number from 0 up to a limit read from the policy."""

    def check(value: str, flag: str, limits: PolicyLimits) -> None:
        number = parse_uint(value)
        if number is None:
            raise _bad(flag, value, "a whole number such as `3`")
        bound = maximum(limits)
        if number > bound:
            if code == "replicas-too-many":
                raise Refused(
                    code,
                    f"The sandbox allows at most {bound} replicas per command ({flag} {value}).",
                )
            raise Refused(code, f"`{flag}` may be at most {bound} in the sandbox (got {value}).")

    return check


def duration_check(
    maximum: Callable[[PolicyLimits], int], *, minimum: Decimal = Decimal(0)
) -> Check:
    """A Go duration up to a limit; `minimum` applies to non-zero values (0 means the default)."""

    def check(value: str, flag: str, limits: PolicyLimits) -> None:
        seconds = parse_duration(value)
        if seconds is None:
            raise _bad(flag, value, "a duration such as `10s` or `1m30s`")
        bound = Decimal(maximum(limits))
        if seconds > bound:
            raise Refused(
                "duration-too-long",
                f"`{flag}` may be at most {_seconds(bound)} in the sandbox (got {value}).",
            )
        if 0 < seconds < minimum:
            raise Refused(
                "duration-too-short",
                f"`{flag}` must be at least {_seconds(minimum)} in the sandbox (got {value}).",
            )

    return check


def choice_check(*options: str) -> Check:
    """One of a few fixed words."""

    def check(value: str, flag: str, limits: PolicyLimits) -> None:
        if value not in options:
            raise _bad(flag, value, "one of " + ", ".join(f"`{o}`" for o in options))

    return check


def text_check(max_length: int) -> Check:
    """Free text (a health command, container args); the line was already checked for controls."""

    def check(value: str, flag: str, limits: PolicyLimits) -> None:
        if len(value) > max_length:
            raise Refused(
                "too-long", f"`{flag}` may be at most {max_length} characters in the sandbox."
            )

    return check


def _resource_check(kind: str, *, reservation: bool) -> Check:
    def check(value: str, flag: str, limits: PolicyLimits) -> None:
        number: int | Decimal | None
        bound: int | Decimal | None
        if kind == "memory":
            number, bound = parse_memory(value), parse_memory(limits.memory_limit)
            shown, expected = limits.memory_limit, "a size such as `32M`"
        else:
            number, bound, shown = parse_cpu(value), parse_cpu(limits.cpu_limit), limits.cpu_limit
            expected = "a number of CPUs such as `0.25`"
        if number is None:
            raise _bad(flag, value, expected)
        if bound is None:
            raise ValueError(f"PolicyLimits holds an unreadable limit: {shown!r}")
        if number == 0 and not reservation:
            raise Refused(
                "resource-limit",
                f"`{flag} 0` would remove the limit; sandbox services keep at most {shown}.",
            )
        if number > bound:
            raise Refused(
                "resource-limit",
                f"`{flag}` may be at most {shown} in the sandbox (got {value}).",
            )

    return check


def check_limit_pids(value: str, flag: str, limits: PolicyLimits) -> None:
    number = parse_uint(value)
    if number is None:
        raise _bad(flag, value, "a whole number such as `64`")
    if number == 0:
        raise Refused(
            "resource-limit",
            f"`{flag} 0` would remove the limit; sandbox tasks keep at most "
            f"{limits.pids_limit} processes.",
        )
    if number > limits.pids_limit:
        raise Refused(
            "resource-limit",
            f"`{flag}` may be at most {limits.pids_limit} in the sandbox (got {value}).",
        )


check_limit_memory = _resource_check("memory", reservation=False)
check_limit_cpu = _resource_check("cpu", reservation=False)
check_reserve_memory = _resource_check("memory", reservation=True)
check_reserve_cpu = _resource_check("cpu", reservation=True)


def _check_port(port: str, flag: str, value: str) -> None:
    number = parse_uint(port)
    if number is None or not 1 <= number <= 65535:
        raise _bad(flag, value, "ports from 1 to 65535, such as `8080:80`")


def check_publish(value: str, flag: str, limits: PolicyLimits) -> None:
    """`8080:80`, `80/udp` or `published=8080,target=80[,protocol=tcp][,mode=ingress]`."""
    expected = "a port such as `8080:80` or `published=8080,target=80`"
    if "=" not in value:
        ports, slash, protocol = value.partition("/")
        if slash and protocol not in ("tcp", "udp", "sctp"):
            raise _bad(flag, value, expected)
        parts = ports.split(":")
        if len(parts) > 2:
            raise _bad(flag, value, expected)  # host IPs are not supported by swarm either
        for port in parts:
            _check_port(port, flag, value)
        return
    # The CLI reads this as CSV; any quote makes our split differ, so a quote fails the checks.
    fields: dict[str, str] = {}
    for item in value.split(","):
        key, sep, field_value = item.partition("=")
        if not sep or key not in ("published", "target", "protocol", "mode") or key in fields:
            raise _bad(flag, value, expected)
        fields[key] = field_value
    if fields.get("mode") == "host":
        raise Refused(
            "host-port",
            "Host-mode ports are not allowed: they bind straight onto the node's own network "
            f"({flag} {show(value)}).",
        )
    if fields.get("mode", "ingress") != "ingress" or "target" not in fields:
        raise _bad(flag, value, expected)
    if fields.get("protocol", "tcp") not in ("tcp", "udp", "sctp"):
        raise _bad(flag, value, expected)
    for key in ("published", "target"):
        if key in fields:
            _check_port(fields[key], flag, value)


def check_publish_rm(value: str, flag: str, limits: PolicyLimits) -> None:
    """A published port to remove: `80`, `80/tcp` or the same forms as --publish."""
    check_publish(value, flag, limits)


def check_env(value: str, flag: str, limits: PolicyLimits) -> None:
    """`KEY=value`; a bare `KEY` would make the CLI copy the runner's own variable."""
    key, sep, env_value = value.partition("=")
    if not sep:
        raise Refused(
            "env-from-host",
            f"`{flag} {value[:40]}` without `=value` would copy the runner's own environment "
            f"variable into the service; write `{flag} {value[:40]}=value`.",
        )
    if not _ENV_KEY_RE.fullmatch(key):
        raise _bad(flag, value, "`KEY=value` with a name of letters, digits and `_`")
    if len(value) > 1000:
        raise Refused("too-long", f"`{flag}` may be at most 1000 characters in the sandbox.")
    _check_template(env_value, flag, swarm=True)


def check_env_key(value: str, flag: str, limits: PolicyLimits) -> None:
    """The name of an environment variable to remove."""
    if not _ENV_KEY_RE.fullmatch(value):
        raise _bad(flag, value, "the name of a variable")


def _check_label_key(key: str, flag: str, value: str) -> None:
    if not _LABEL_KEY_RE.fullmatch(key):
        raise _bad(flag, value, "`key=value` with a key of letters, digits, `.`, `_`, `-`, `/`")
    if key.lower().startswith(RESERVED_LABEL_PREFIX) or key.lower() == "confnotes":
        raise Refused(
            "reserved-label",
            f"Labels under `{RESERVED_LABEL_PREFIX}` are set by the sandbox itself "
            f"({flag} {show(value)}).",
        )


def check_label(value: str, flag: str, limits: PolicyLimits) -> None:
    """`key[=value]`, never one of our own `confnotes.` labels."""
    key, _, label_value = value.partition("=")
    _check_label_key(key, flag, value)
    if len(label_value) > 500:
        raise Refused("too-long", f"`{flag}` may be at most 500 characters in the sandbox.")


def check_label_key(value: str, flag: str, limits: PolicyLimits) -> None:
    """A label key to remove, never one of ours."""
    _check_label_key(value, flag, value)


def check_constraint(value: str, flag: str, limits: PolicyLimits) -> None:
    """`node.role==manager`, `node.labels.zone!=b`, ..."""
    if not _CONSTRAINT_RE.fullmatch(value):
        raise _bad(flag, value, "a constraint such as `node.role==manager`")


def check_placement_pref(value: str, flag: str, limits: PolicyLimits) -> None:
    """`spread=node.labels.zone`."""
    if not _PLACEMENT_RE.fullmatch(value):
        raise _bad(flag, value, "a preference such as `spread=node.labels.zone`")


def check_network(value: str, flag: str, limits: PolicyLimits) -> None:
    """A plain network name; never the host's network."""
    if value == "host" or "name=host" in value.split(","):
        raise Refused(
            "host-network",
            f"Host networking is not allowed: a service would share the machine's network "
            f"({flag} host).",
        )
    if len(value) > MAX_NAME or not NAME_RE.fullmatch(value):
        raise _bad(flag, value, "the name of an overlay network")


def check_mount(value: str, flag: str, limits: PolicyLimits) -> None:
    """Every mount is refused; the reason says which kind it was."""
    fields = {k.strip().lower(): v for k, _, v in (f.partition("=") for f in value.split(","))}
    if fields.get("type", "").lower() == "bind" or any(
        k in fields for k in ("bind-propagation", "bind-nonrecursive")
    ):
        raise Refused(
            "bind-mount",
            "Bind mounts are not allowed: a sandbox service may not see the host's files "
            f"({flag} type=bind).",
        )
    if any(k.startswith("volume-driver") or k.startswith("volume-opt") for k in fields):
        raise Refused(
            "volume-driver",
            "Volume drivers and their options are not allowed: they can reach host paths or "
            f"remote storage ({flag} {show(value)}).",
        )
    raise Refused(
        "mount",
        f"Mounts are not allowed in the sandbox: services keep only their image's own files "
        f"({flag} {show(value)}).",
    )


def check_mode(value: str, flag: str, limits: PolicyLimits) -> None:
    """Only replicated services, whose size the replica limit bounds."""
    if value == "replicated":
        return
    if value == "global":
        raise Refused(
            "mode",
            "Global services are not allowed: they start a task on every node, outside the "
            f"sandbox's replica limit ({flag} global).",
        )
    if value in ("replicated-job", "global-job"):
        raise Refused(
            "mode",
            f"Jobs are not allowed: only long-running replicated services run in the sandbox "
            f"({flag} {value}).",
        )
    raise _bad(flag, value, "`replicated`")


def check_user(value: str, flag: str, limits: PolicyLimits) -> None:
    """`name`, `uid`, `name:group` or `uid:gid`, never root's user or group."""
    user, colon, group = value.partition(":")
    parts = (user, group) if colon else (user,)
    if not all(_USER_PART_RE.fullmatch(part) for part in parts):
        raise _bad(flag, value, "a user such as `nobody` or `1000:1000`")
    if any(part == "root" or (part.isdigit() and int(part) == 0) for part in parts):
        raise Refused(
            "root-user",
            f"Asking for root is not allowed: choose another user ({flag} {show(value)}), or "
            "leave the option out to run as the image's own user.",
        )


def check_hostname(value: str, flag: str, limits: PolicyLimits) -> None:
    """A hostname, optionally with swarm placeholders like `{{.Task.Slot}}`."""
    if not _HOSTNAME_RE.fullmatch(value):
        raise _bad(flag, value, "a hostname such as `web` or `web-{{.Task.Slot}}`")
    _check_template(value, flag, swarm=True)


def check_workdir(value: str, flag: str, limits: PolicyLimits) -> None:
    """An absolute path inside the container."""
    if not _WORKDIR_RE.fullmatch(value) or "/../" in value + "/":
        raise _bad(flag, value, "an absolute path such as `/app`")


def check_stop_signal(value: str, flag: str, limits: PolicyLimits) -> None:
    """A signal name or number."""
    if not _STOP_SIGNAL_RE.fullmatch(value):
        raise _bad(flag, value, "a signal such as `SIGTERM`")


def check_cap_drop(value: str, flag: str, limits: PolicyLimits) -> None:
    """Dropping capabilities only takes privileges away, so any capability name is fine."""
    if not _CAP_RE.fullmatch(value):
        raise _bad(flag, value, "a capability such as `NET_RAW` or `ALL`")


def check_ratio(value: str, flag: str, limits: PolicyLimits) -> None:
    """A failure ratio from 0 to 1."""
    if not _RATIO_RE.fullmatch(value):
        raise _bad(flag, value, "a ratio from 0 to 1 such as `0.2`")


def check_filter(value: str, flag: str, limits: PolicyLimits) -> None:
    """`key=value` filters such as `name=vote` or `desired-state=running`."""
    if not _FILTER_RE.fullmatch(value):
        raise _bad(flag, value, "a filter such as `name=vote`")


def _check_template(value: str, flag: str, *, swarm: bool) -> None:
    """A Go template: plain fields only where swarm fills it in, safe shapes in `--format`."""
    try:
        if swarm:
            go_templates.check_swarm_template(value, flag)
        else:
            go_templates.check_format(value, flag)
    except go_templates.TemplateRefused as refusal:
        raise Refused(refusal.code, refusal.reason) from None


def check_format(value: str, flag: str, limits: PolicyLimits) -> None:
    """A short, plain Go template (`{{.Name}}`, `{{json .}}`, `table ...`)."""
    if len(value) > MAX_FORMAT:
        raise Refused(
            "format-too-long",
            f"`{flag}` templates may be at most {MAX_FORMAT} characters in the sandbox.",
        )
    _check_template(value, flag, swarm=False)


def check_since(value: str, flag: str, limits: PolicyLimits) -> None:
    """A timestamp (`2016-06-20`, `1466400000`) or a relative duration (`42m`)."""
    if not (_SINCE_RE.fullmatch(value) or parse_duration(value) is not None):
        raise _bad(flag, value, "a time such as `2016-06-20T10:00:00Z` or `42m`")


def check_tail(value: str, flag: str, limits: PolicyLimits) -> None:
    """A number of log lines, bounded so a run's output stays small."""
    number = parse_uint(value)
    if value == "all" or (number is not None and number > limits.max_log_tail):
        raise Refused(
            "tail-too-long",
            f"The sandbox shows at most {limits.max_log_tail} log lines ({flag} {value}).",
        )
    if number is None:
        raise _bad(flag, value, "a number of lines such as `50`")


def check_detach(value: str, flag: str, limits: PolicyLimits) -> None:
    """`--detach` may be given, but never turned off: runs must not wait for convergence."""
    if value == "false":
        raise Refused(
            "no-detach",
            f"The sandbox never waits for a service to converge, so `{flag}=false` is not "
            "allowed; the swarm picture shows the rollout instead.",
        )


def check_read_only(value: str, flag: str, limits: PolicyLimits) -> None:
    """`--read-only` may be given, but never turned off: tasks must not write to the host's disk."""
    if value == "false":
        raise Refused(
            "read-only",
            f"Sandbox services always keep a read-only file system, so `{flag}=false` is not "
            f"allowed: write to `/tmp` instead, a scratch space of {limits.tmp_size} in memory.",
        )


def check_availability(value: str, flag: str, limits: PolicyLimits) -> None:
    """Nodes may be drained and made active again, nothing else."""
    if value not in ("drain", "active"):
        raise _bad(flag, value, "`drain` or `active`")


# --- flag tables ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flag:
    """An allowed flag: its long name, its one-letter form and how its value is checked."""

    long: str
    short: str = ""
    boolean: bool = False
    check: Check | None = None


@dataclass(frozen=True)
class RefusedFlag:
    """A flag the CLI knows but the sandbox refuses whatever its value, with its reason."""

    long: str
    code: str
    reason: str
    short: str = ""


@dataclass(frozen=True)
class FlagTable:
    """The flags of one subcommand, looked up by long or short name."""

    flags: dict[str, Flag]
    shorts: dict[str, str]
    refused: dict[str, RefusedFlag] = field(default_factory=dict)
    refused_shorts: dict[str, str] = field(default_factory=dict)


def table(flags: list[Flag], refused: list[RefusedFlag] | None = None) -> FlagTable:
    """Index a list of flags (and refused flags) by name."""
    refused = refused or []
    return FlagTable(
        flags={f.long: f for f in flags},
        shorts={f.short: f.long for f in flags if f.short},
        refused={r.long: r for r in refused},
        refused_shorts={r.short: r.long for r in refused if r.short},
    )


def _max_replicas(limits: PolicyLimits) -> int:
    return limits.max_replicas


def _max_delay(limits: PolicyLimits) -> int:
    return limits.max_update_delay_seconds


def _ten(limits: PolicyLimits) -> int:
    # A longer stop grace period only slows sandbox teardown (see DESIGN: Teardown).
    return 10


def _small(limits: PolicyLimits) -> int:
    return 10


_DURATION = duration_check(_max_delay)

_SERVICE_SPEC_FLAGS = [
    Flag("detach", "d", boolean=True, check=check_detach),
    Flag("quiet", "q", boolean=True),
    Flag("replicas", check=uint_check(_max_replicas, code="replicas-too-many")),
    Flag("replicas-max-per-node", check=uint_check(_max_replicas)),
    Flag("restart-condition", check=choice_check("none", "on-failure", "any")),
    Flag("restart-delay", check=_DURATION),
    Flag("restart-max-attempts", check=uint_check(_small)),
    Flag("restart-window", check=_DURATION),
    Flag("update-parallelism", check=uint_check(_max_replicas)),
    Flag("update-delay", check=_DURATION),
    Flag("update-failure-action", check=choice_check("pause", "continue", "rollback")),
    Flag("update-max-failure-ratio", check=check_ratio),
    Flag("update-monitor", check=_DURATION),
    Flag("update-order", check=choice_check("start-first", "stop-first")),
    Flag("rollback-parallelism", check=uint_check(_max_replicas)),
    Flag("rollback-delay", check=_DURATION),
    Flag("rollback-failure-action", check=choice_check("pause", "continue")),
    Flag("rollback-max-failure-ratio", check=check_ratio),
    Flag("rollback-monitor", check=_DURATION),
    Flag("rollback-order", check=choice_check("start-first", "stop-first")),
    Flag("limit-cpu", check=check_limit_cpu),
    Flag("limit-memory", check=check_limit_memory),
    Flag("limit-pids", check=check_limit_pids),
    Flag("reserve-cpu", check=check_reserve_cpu),
    Flag("reserve-memory", check=check_reserve_memory),
    # Health checks run inside the service's own container, like its command, so they are
    # allowed; the interval has a floor so a check cannot keep the engine busy.
    Flag("health-cmd", check=text_check(200)),
    Flag("health-interval", check=duration_check(_max_delay, minimum=Decimal(1))),
    Flag("health-timeout", check=_DURATION),
    Flag("health-retries", check=uint_check(_small)),
    Flag("health-start-period", check=_DURATION),
    Flag("no-healthcheck", boolean=True),
    Flag("hostname", check=check_hostname),
    Flag("workdir", "w", check=check_workdir),
    Flag("user", "u", check=check_user),
    Flag("tty", "t", boolean=True),
    Flag("read-only", boolean=True, check=check_read_only),
    # --init adds a tiny init that forwards signals, which only helps teardown.
    Flag("init", boolean=True),
    Flag("no-resolve-image", boolean=True),
    Flag("stop-signal", check=check_stop_signal),
    Flag("stop-grace-period", check=duration_check(_ten)),
    Flag("endpoint-mode", check=choice_check("vip", "dnsrr")),
    Flag("cap-drop", check=check_cap_drop),
]

CREATE_FLAGS = [
    *_SERVICE_SPEC_FLAGS,
    Flag("name", check=check_name),
    Flag("mode", check=check_mode),
    Flag("env", "e", check=check_env),
    Flag("label", "l", check=check_label),
    Flag("container-label", check=check_label),
    Flag("constraint", check=check_constraint),
    Flag("placement-pref", check=check_placement_pref),
    Flag("publish", "p", check=check_publish),
    Flag("network", check=check_network),
    Flag("mount", check=check_mount),
]

UPDATE_FLAGS = [
    *_SERVICE_SPEC_FLAGS,
    Flag("image", check=check_image),
    Flag("force", boolean=True),
    Flag("rollback", boolean=True),
    Flag("args", check=text_check(500)),
    Flag("env-add", check=check_env),
    Flag("env-rm", check=check_env_key),
    Flag("label-add", check=check_label),
    Flag("label-rm", check=check_label_key),
    Flag("container-label-add", check=check_label),
    Flag("container-label-rm", check=check_label_key),
    Flag("constraint-add", check=check_constraint),
    Flag("constraint-rm", check=check_constraint),
    Flag("placement-pref-add", check=check_placement_pref),
    Flag("placement-pref-rm", check=check_placement_pref),
    Flag("publish-add", check=check_publish),
    Flag("publish-rm", check=check_publish_rm),
    Flag("network-add", check=check_network),
    Flag("network-rm", check=check_network),
    Flag("mount-add", check=check_mount),
]


def _refuse_all(names: list[str], code: str, reason: str) -> list[RefusedFlag]:
    return [RefusedFlag(name, code, reason.format(flag=f"--{name}")) for name in names]


SERVICE_SPEC_REFUSED = [
    *_refuse_all(
        ["cap-add"],
        "cap-add",
        "Adding Linux capabilities is not allowed: sandbox services keep Docker's reduced "
        "default set ({flag}).",
    ),
    *_refuse_all(
        ["secret", "secret-add", "secret-rm"],
        "secret",
        "Secrets are not allowed: the sandbox neither creates nor exposes swarm secrets ({flag}).",
    ),
    *_refuse_all(
        ["config", "config-add", "config-rm"],
        "config",
        "Swarm configs are not allowed: the sandbox neither creates nor exposes them ({flag}).",
    ),
    *_refuse_all(
        ["env-file"],
        "env-file",
        "`--env-file` is not allowed: it reads a file on the machine running the command; pass "
        "each variable with `-e KEY=value` instead.",
    ),
    *_refuse_all(
        ["with-registry-auth"],
        "registry-auth",
        "`--with-registry-auth` is not allowed: it would hand the runner's registry credentials "
        "to the swarm.",
    ),
    *_refuse_all(
        ["sysctl", "sysctl-add", "sysctl-rm"],
        "sysctl",
        "Kernel parameters are not allowed in the sandbox ({flag}).",
    ),
    *_refuse_all(
        ["ulimit", "ulimit-add", "ulimit-rm"],
        "ulimit",
        "Changing ulimits is not allowed: the sandbox sets its own resource limits ({flag}).",
    ),
    *_refuse_all(
        ["log-driver", "log-opt"],
        "log-driver",
        "Logging drivers and their options are not allowed: sandbox services log with the "
        "engine's default driver ({flag}).",
    ),
    *_refuse_all(
        ["credential-spec"],
        "credential-spec",
        "Credential specs are not allowed: they hand Windows account credentials to a "
        "service ({flag}).",
    ),
    *_refuse_all(
        ["privileged"],
        "privileged",
        "Privileged containers are not allowed in the sandbox ({flag}).",
    ),
    *_refuse_all(
        ["generic-resource", "generic-resource-add", "generic-resource-rm"],
        "generic-resource",
        "Generic resources are not allowed: sandbox nodes advertise none ({flag}).",
    ),
    *_refuse_all(
        [
            "dns",
            "dns-option",
            "dns-search",
            "dns-add",
            "dns-rm",
            "dns-option-add",
            "dns-option-rm",
            "dns-search-add",
            "dns-search-rm",
        ],
        "dns",
        "Custom DNS settings are not allowed: sandbox services use the swarm's own DNS ({flag}).",
    ),
    *_refuse_all(
        ["host", "host-add", "host-rm"],
        "add-host",
        "Custom host-to-IP mappings are not allowed: they could point names at addresses "
        "outside the sandbox ({flag}).",
    ),
    *_refuse_all(
        ["isolation"],
        "isolation",
        "Isolation modes are not allowed: the sandbox uses the engine's default ({flag}).",
    ),
    *_refuse_all(
        ["group", "group-add", "group-rm"],
        "group",
        "Supplementary groups are not allowed: a service could join a privileged group such as "
        "root's ({flag}).",
    ),
    *_refuse_all(
        ["entrypoint"],
        "entrypoint",
        "Replacing the entrypoint is not allowed: the sandbox images rely on theirs to stop "
        "cleanly; put the command after the image instead ({flag}).",
    ),
    *_refuse_all(
        ["oom-score-adj"],
        "oom-score",
        "Changing the OOM score is not allowed: a service could make the kernel kill other "
        "processes first ({flag}).",
    ),
    *_refuse_all(
        ["mount-rm"],
        "mount",
        "Mounts are not allowed in the sandbox, so there are none to remove; the scratch space "
        "at `/tmp` that the sandbox adds itself stays ({flag}).",
    ),
    RefusedFlag(
        "volume",
        "mount",
        "`-v`/`--volume` is a `docker run` option, and mounts are not allowed in the sandbox.",
        short="v",
    ),
]

CREATE = table(CREATE_FLAGS, SERVICE_SPEC_REFUSED)
UPDATE = table(UPDATE_FLAGS, SERVICE_SPEC_REFUSED)
SCALE = table([Flag("detach", "d", boolean=True, check=check_detach)])
ROLLBACK = table(
    [Flag("detach", "d", boolean=True, check=check_detach), Flag("quiet", "q", boolean=True)]
)
REMOVE = table([])
LIST = table(
    [
        Flag("filter", "f", check=check_filter),
        Flag("format", check=check_format),
        Flag("quiet", "q", boolean=True),
    ]
)
TASKS = table(
    [
        Flag("filter", "f", check=check_filter),
        Flag("format", check=check_format),
        Flag("no-resolve", boolean=True),
        Flag("no-trunc", boolean=True),
        Flag("quiet", "q", boolean=True),
    ]
)
INSPECT = table([Flag("format", "f", check=check_format), Flag("pretty", boolean=True)])
LOGS = table(
    [
        Flag("details", boolean=True),
        Flag("no-resolve", boolean=True),
        Flag("no-task-ids", boolean=True),
        Flag("no-trunc", boolean=True),
        Flag("raw", boolean=True),
        Flag("since", check=check_since),
        Flag("tail", "n", check=check_tail),
        Flag("timestamps", "t", boolean=True),
    ],
    [
        RefusedFlag(
            "follow",
            "follow",
            "`docker service logs --follow` never ends, so it is not allowed; the sandbox shows "
            "the logs so far (add `--tail N` for the last lines).",
            short="f",
        )
    ],
)
_NODE_UPDATE_REASON = (
    "Only a node's availability can be changed in the sandbox: "
    "`docker node update --availability drain|active NODE` ({flag})."
)
NODE_UPDATE = table(
    [Flag("availability", check=check_availability)],
    _refuse_all(["role", "label-add", "label-rm"], "node-update-flag", _NODE_UPDATE_REASON),
)
