"""The judgement calls, shared by both parsers and by the Markdown exporter.

Each function answers one question a person answers at a glance: is this line a shell command
or prose about one? Is this short line a talk title or a heading inside a talk? Does this note
say it needs following up? The exporter asks the same questions to decide when it must spell
an answer out (an attribute block) because the importer would guess differently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.utils.text import slugify

from ..markdown import CODE_SPAN, bare_urls


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# --- links -------------------------------------------------------------------------------

URL = re.compile(r"https?://[^\s<>\"'`]+[^\s<>\"'`.,;:!?)\]}]")
_MD_LINK = re.compile(r"\[([^\]]*)\]\((https?://[^)\s]+)\)")
_URL_ONLY = re.compile(r"^<?(https?://[^\s<>\"'`]+)>?$")


# A Markdown link's target may hold balanced parentheses (…/wiki/Foo_(bar)), as Markdown reads it.
_MD_LINK_TARGET = re.compile(r"\[([^\]]*)\]\((https?://(?:[^()\s]|\([^()\s]*\))+)\)")
_LINKED = re.compile(rf"{_MD_LINK_TARGET.pattern}|<(https?://[^\s<>]+)>")  # and <autolinks>


def find_links(text: str) -> list[str]:
    """Every http(s) URL a note links, in a Markdown link or bare, in order, without repeats:
    the links its page shows (bare URLs end as talks.markdown ends them; code spans link
    nothing), so the import preview names those."""
    text = CODE_SPAN.sub(" ", text)
    found: list[str] = []
    position = 0
    for link in _LINKED.finditer(text):
        found += bare_urls(text[position : link.start()])
        found.append(link.group(2) or link.group(3))
        position = link.end()
    found += bare_urls(text[position:])
    return list(dict.fromkeys(found))


def url_only(text: str) -> str | None:
    """The URL when a line is nothing but a link (bare, <...> or [label](url)), else None."""
    text = text.strip()
    match = _URL_ONLY.match(text)
    if match:
        return match.group(1)
    match = _MD_LINK.fullmatch(text)
    return match.group(2) if match else None


# --- commands ----------------------------------------------------------------------------

COMMANDS = _words(
    """
    docker docker-compose docker-machine dockerd containerd ctr nerdctl podman buildah kubectl
    minikube helm kind k3s kubeadm swarm git curl wget ssh scp rsync sudo apt apt-get
    apt-cache dpkg yum dnf apk brew snap npm npx yarn pnpm pip pip3 pipx python python3 node
    deno go cargo rustc make cmake ls cd cat echo printf export mkdir rm rmdir cp mv ln chmod
    chown touch grep egrep sed awk tar gzip gunzip unzip zip systemctl journalctl service
    ansible ansible-playbook terraform packer vagrant aws az gcloud sysdig aa-genprof
    aa-status apparmor_parser bane nc ping dig nslookup ps kill killall top htop env source
    eval openssl ssh-keygen gpg consul etcd etcdctl nomad vault redis-cli psql mysql sqlite3
    java mvn gradle ruby gem bundle rails php composer dotnet iptables ip nsenter unshare
    mount umount df du free uname whoami id head tail less more watch xargs find which tee jq
    yq base64 sha256sum md5sum
    """
)
_PROMPT = re.compile(r"^(?:\$|%|[\w.@-]+(?::[\w~/.-]*)?[$#%]|>)\s+")
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'|`[^`]*`")
_ENV_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=\S*$")
_BARE_WORD = re.compile(r"^[A-Za-z][A-Za-z’']*$")
_STOPWORDS = _words(
    """
    the a an is are was were to that this it you we for of and with which can will be as on in
    your our has have by if or so but not very also just really about how what when
    """
)
MAX_COMMAND_LENGTH = 1000


def strip_prompt(line: str) -> tuple[str, bool]:
    """The line without a leading shell prompt ("$ ", "user@host$ "), and whether it had one."""
    match = _PROMPT.match(line)
    if match and match.group(0).strip() != ">":
        return line[match.end() :], True
    return line, False


def too_long_for_a_command(line: str) -> bool:
    """A line that starts like a command (``docker ...``) but is longer than a stored command
    line may be: it is kept as a note, and the import says why."""
    text = strip_prompt(line.strip())[0].strip()
    if len(text) <= MAX_COMMAND_LENGTH:
        return False
    first = text.split(maxsplit=1)[0]
    return first in COMMANDS and is_command(text[:200].rstrip(".!?… "))


def is_command(line: str) -> bool:
    """True for a shell command line, false for prose that mentions one.

    ``docker service ls`` is a command; ``Docker 1.12 will have orchestration`` and ``docker is
    great for this`` are prose: command names are lower case, and commands rarely hold small
    English words or end a sentence.
    """
    text, prompted = strip_prompt(line.strip())
    text = text.strip()
    if not text or len(text) > MAX_COMMAND_LENGTH:
        return False
    tokens = _QUOTED.sub(" Q ", text).split()
    while tokens and _ENV_ASSIGNMENT.match(tokens[0]):
        tokens = tokens[1:]
    if not tokens:
        return False
    first = tokens[0]
    known = first in COMMANDS or first.startswith(("./", "/", "~/"))
    if not known and (
        not prompted or not re.match(r"^[a-z][\w.+-]*$", first) or first in _STOPWORDS
    ):
        return False
    if text[-1] in ".!?…" and not text.endswith(("..", " .")):
        return False
    words = [t for t in tokens[1:] if _BARE_WORD.match(t.rstrip(","))]
    prose = sum(1 for w in words if w.lower() in _STOPWORDS or w[0].isupper() or w.endswith(","))
    if prompted:
        return prose < max(3, len(words))
    return prose == 0


# --- kinds -------------------------------------------------------------------------------

# Matched against the lower-cased text: much faster than re.IGNORECASE on every note.
_FOLLOW_UP = re.compile(
    r"\b(?:needs? to (?:figure out|find out|look into|investigate|check|learn|read up|try|"
    r"research|dig into|understand)|will have to|(?:have|want) to (?:investigate|find out|"
    r"figure out|look into|check out)|follow[- ]up|to be investigated|to investigate)\b"
)
_TODO = re.compile(r"\bTODO\b")
_TODO_PREFIX = re.compile(r"^to ?do\s*:", re.IGNORECASE)
_GROUP_KINDS = {
    "success": re.compile(r"^(?:successe?s?|wins?|what worked|what went well)$", re.I),
    "question": re.compile(r"^(?:open )?questions?$", re.I),
    "todo": re.compile(r"^(?:to ?-?dos?|todo list)$", re.I),
    "follow-up": re.compile(r"^(?:follow[- ]ups?|to investigate|open issues)$", re.I),
}


def infer_highlight_kind(text: str, *, style: str = "bullet") -> str:
    """The kind a person would give a note from its words alone.

    "(Need to figure out details)" and "will have to investigate" are follow-ups; "TODO" is a
    to-do; a note that ends with a question mark is a question; a group heading called
    "Success" is a success. "Not sure we will give up Ansible" is a plain note: doubt is not an
    action.
    """
    stripped = text.strip()
    if style == "heading":
        bare = stripped.rstrip(":").strip()
        for kind, pattern in _GROUP_KINDS.items():
            if pattern.match(bare):
                return kind
    if ("TODO" in stripped and _TODO.search(stripped)) or _TODO_PREFIX.match(stripped):
        return "todo"
    lower = stripped.lower()
    if ("to" in lower or "follow" in lower) and _FOLLOW_UP.search(lower):
        return "follow-up"
    if stripped.rstrip(")]”\"'’ ").endswith("?"):
        return "question"
    return "note"


# --- headings and talks ------------------------------------------------------------------

_TERMINAL = tuple(".!?:;,…")
_MINOR_WORDS = _words(
    """
    a an the and or but nor for of on in at to by with from into vs vs. via as per up & - – —
    is
    """
)
_TALK_PREFIX_WORDS = _words(
    """
    talk talks session sessions workshop workshops panel keynote breakout lightning highlights
    highlight notes recap
    """
)
_QUOTES = {"“": "”", '"': '"', "‘": "’", "«": "»", "„": "“"}
_SESSIONS = re.compile(
    r"\b\d+\s*(?:and|&|\+|,)\s*\d+\b|\bparts?\s+\d+\s*(?:and|&|-|–|to)\s*\d+\b", re.IGNORECASE
)
_TRAILING_NUMBERING = re.compile(
    r"\s*(?:\b\d+\s*(?:and|&|\+|,)\s*\d+|\bparts?\s+\d+.*|\(\d+\s*/\s*\d+\))\s*$", re.IGNORECASE
)
_KEYNOTE = re.compile(r"\bkeynotes?\b", re.IGNORECASE)
_SLUG_NOISE = re.compile(r"\b(?:highlights?|notes|recap)\b", re.IGNORECASE)


def is_heading_like(text: str) -> bool:
    """A short single line with no sentence ending: "Success", "Handling secrets"."""
    text = text.strip()
    if not text or "\n" in text or len(text) > 80 or len(text.split()) > 10:
        return False
    if text.endswith(_TERMINAL) or url_only(text) or text.startswith(("(", "[", "`")):
        return False
    return ". " not in text


def is_title_case(text: str) -> bool:
    """ "Immutable Infrastructure", "Docker for Developers 1 and 2"; not "Handling secrets"."""
    capitalised = 0
    for raw in text.split():
        word = raw.strip("“”\"'‘’()[]:,.!?")
        if not word or word.lower() in _MINOR_WORDS or not any(c.isalpha() for c in word):
            continue
        if word[0].isupper() or any(c.isupper() for c in word[1:]):
            capitalised += 1
        else:
            return False
    return capitalised >= 2


def strip_quotes(text: str) -> tuple[str, bool]:
    """Remove one pair of surrounding quotes: “Title” → Title."""
    text = text.strip()
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] == _QUOTES[text[0]]:
        return text[1:-1].strip(), True
    return text, False


@dataclass(frozen=True)
class TalkHeading:
    """What a talk heading says: the talk's title, kind and short slug."""

    title: str
    kind: str
    slug: str
    explicit: bool  # said "talk"/"keynote" or quoted the title: a talk wherever it stands


def short_slug(title: str, *, kind: str) -> str:
    """A short, stable slug: "Keynote highlights" → keynote, "The Golden Ticket: ..." →
    the-golden-ticket, "Docker for Developers 1 and 2" → docker-for-developers."""
    base = title
    if kind == "keynote":
        base = _SLUG_NOISE.sub(" ", base)
    base = _TRAILING_NUMBERING.sub("", base) or base
    head, colon, _ = base.partition(": ")
    if colon and slugify(head):
        base = head
    return slugify(base)[:200] or slugify(title)[:200] or "talk"


def classify_talk_heading(text: str) -> TalkHeading:
    """Read a talk heading: "Talk Highlights: “X”" is the talk X; "Keynote highlights" a keynote."""
    text = " ".join(text.split())
    explicit = False
    kind = ""
    head, colon, rest = text.partition(":")
    words = head.lower().split()
    if colon and rest.strip() and words and set(words) <= _TALK_PREFIX_WORDS:
        explicit = True
        if "keynote" in words:
            kind = "keynote"
        text = rest.strip()
    title, quoted = strip_quotes(text)
    if quoted:
        explicit = True
    title = title or text
    if not kind:
        if not quoted and _KEYNOTE.search(title):
            kind, explicit = "keynote", True
        elif _SESSIONS.search(title):
            kind = "sessions"
        else:
            kind = "talk"
    return TalkHeading(title=title, kind=kind, slug=short_slug(title, kind=kind), explicit=explicit)


class SlugAllocator:
    """Hands out talk slugs unique within a day: a second "keynote" becomes "keynote-2"."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def peek(self, slug: str) -> str:
        """The slug ``take`` would hand out, without taking it."""
        candidate, n = slug, 2
        while candidate in self.used:
            suffix = f"-{n}"
            candidate, n = slug[: 200 - len(suffix)] + suffix, n + 1
        return candidate

    def take(self, slug: str) -> str:
        candidate = self.peek(slug)
        self.used.add(candidate)
        return candidate


# --- day-level lines ---------------------------------------------------------------------

_NUMBER_WORDS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
_DAY_MARKER = re.compile(r"^day\s+(\d{1,3}|" + "|".join(_NUMBER_WORDS) + r")\s*[:.]?$", re.I)
_SUMMARY = re.compile(
    r"^(?:summary|in summary|wrap[- ]?up|conclusions?|(?:key )?takeaways)\s*:?$", re.IGNORECASE
)
_NEXT_DAY = re.compile(
    r"^(?:see (?:my|our|the) (?:day \d+|next day(?:['’]s)?|tomorrow(?:['’]s)?) notes"
    r"(?: here)?|next day)\s*[:\-–—]\s*(.+)$",
    re.IGNORECASE,
)
_NAME_WORD = re.compile(r"^(?:[A-Z][a-zA-Z'’\-]*\.?|[A-Z]\.)$")


def day_marker(text: str) -> int | None:
    """The number in a line that only says "Day 1" (or "Day one"), else None."""
    match = _DAY_MARKER.match(text.strip())
    if not match:
        return None
    value = match.group(1).lower()
    return int(value) if value.isdigit() else _NUMBER_WORDS.index(value) + 1


def is_summary_marker(text: str) -> bool:
    return bool(_SUMMARY.match(text.strip()))


def next_day_title(text: str) -> str | None:
    """ "See my day 2 notes here: X" → X (a Markdown link gives its text)."""
    match = _NEXT_DAY.match(text.strip())
    if not match:
        return None
    target = match.group(1).strip()
    link = _MD_LINK.fullmatch(target)
    return (link.group(1) if link else target).strip() or None


def looks_like_name(text: str) -> bool:
    """ "Ryan Walls": two to four capitalised words, as a sign-off."""
    words = text.split()
    return 2 <= len(words) <= 4 and len(text) <= 60 and all(_NAME_WORD.match(w) for w in words)


_TITLE_NOISE = re.compile(r"\b(?:highlights|notes|recap|summary)\b|\bday\s+\d{1,3}\b", re.I)
_TITLE_DAY = re.compile(r"\bday\s+(\d{1,3})\b", re.IGNORECASE)
_TITLE_FROM = re.compile(r"\b(?:at|from|of)\s+(.+?)\s*(?:[-–—:,|(]|\bday\b|$)", re.IGNORECASE)


def infer_from_title(title: str) -> tuple[str, int | None]:
    """ "DockerCon 2016 Highlights Day 1" → ("DockerCon 2016", 1)."""
    day = _TITLE_DAY.search(title)
    number = int(day.group(1)) if day else None
    noise = _TITLE_NOISE.search(title)
    name = title[: noise.start()] if noise else title
    name = name.strip(" -–—:,|")
    if not name:
        match = _TITLE_FROM.search(title)
        name = match.group(1).strip(" -–—:,|") if match else ""
    return name, number


def infer_location(intro: str, *, conference: str) -> str:
    """ "... attending DockerCon in Seattle." → "Seattle" (only right after the conference)."""
    base = re.sub(r"\s+\d{2,4}$", "", conference.strip())
    if not base:
        return ""
    pattern = (
        rf"\b{re.escape(base)}(?:\s+\d{{2,4}})?\s+in\s+"
        r"([A-Z][\w’'-]*(?:(?:\s|,\s)[A-Z][\w’'-]*){0,2})"
    )
    match = re.search(pattern, intro)
    return match.group(1).rstrip(".,") if match else ""


# --- attribute blocks: {#slug .kind tags=a,b} ----------------------------------------------

HIGHLIGHT_KINDS = ("note", "success", "follow-up", "question", "todo")
HIGHLIGHT_STYLES = ("bullet", "paragraph", "heading")
TALK_KINDS = ("keynote", "talk", "sessions")
# A day title's facts, and a follow-up's answer: when, what was found out, a link.
DAY_KEYS = frozenset({"day", "date"})
RESOLUTION_KEYS = frozenset({"resolved", "resolution", "resolution-url"})
_CLASSES = frozenset(HIGHLIGHT_KINDS + HIGHLIGHT_STYLES + TALK_KINDS)
_QUOTED_VALUE = r'"(?:[^"\\\n]|\\.)*"'
# Exports before tags were escaped wrote a tag's quotes as they are ({tags="a,say "hi""}):
# such a quote is read as part of the tags, since it is not followed by a space or the end
# (only in tags without braces: any brace may start a block, and none may look past one, or
# a line of many would take quadratic time). First, so that a block's tokens, found one by
# one, are the ones that matched it whole.
_QUOTED_TAGS = r'"(?:[^"\\\n{}]|\\.|"(?![\s}]))*"|' + _QUOTED_VALUE
# Tags may be listed with spaces after the commas ({tags=a, b}), as people type them.
_ATTR_TOKEN = (
    r"(?:#[\w-]+|\.[\w-]+"
    rf"|tags=(?:{_QUOTED_TAGS}|[^\s{{}}\",]+(?:\s*,\s*[^\s{{}}\",]+)*)"
    rf"|(?:day|date|resolved|resolution-url|resolution)=(?:{_QUOTED_VALUE}|[^\s{{}}\"]+))"
)
_ATTRS = re.compile(r"\s*\{\s*(" + _ATTR_TOKEN + r"(?:\s+" + _ATTR_TOKEN + r")*)\s*\}\s*$")
_TOKEN = re.compile(_ATTR_TOKEN)
_UNESCAPE = re.compile(r"\\([\\\"nr])")
_UNESCAPED = {"\\": "\\", '"': '"', "n": "\n", "r": "\r"}
_PLAIN_VALUE = re.compile(r'[^\s{}"\\]+')


def quote_value(value: str) -> str:
    """An attribute value as written: bare when it can be, else quoted with \\, \" and \\n."""
    if _PLAIN_VALUE.fullmatch(value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r") + '"'


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return _UNESCAPE.sub(lambda m: _UNESCAPED[m.group(1)], value[1:-1])
    return value


# In a quoted list of tags, a backslash escapes a comma that is part of a tag's name too.
_TAG_UNESCAPED = {**_UNESCAPED, ",": ","}
_TAG_ESCAPE = re.compile(r'[\\",\n\r]')
_TAG_ESCAPED = {"\\": "\\\\", '"': '\\"', ",": "\\,", "\n": "\\n", "\r": "\\r"}
_PLAIN_TAG = re.compile(r"[\w-]+")
_TAG_PIECE = re.compile(r"\\(.)|,|[^\\,]+|\\$")


def _format_tags(tags: list[str]) -> str:
    """``tags=a,b``, or quoted when a name holds more than letters, digits, _ and -:
    ``tags="gamma ray,say \\"hi\\",a\\,b"`` (a comma in a name escaped, as are \\ and ")."""
    if all(_PLAIN_TAG.fullmatch(tag) for tag in tags):
        return "tags=" + ",".join(tags)
    escaped = (_TAG_ESCAPE.sub(lambda m: _TAG_ESCAPED[m.group(0)], tag) for tag in tags)
    return 'tags="' + ",".join(escaped) + '"'


def _read_tags(value: str) -> list[str]:
    """The tags of ``tags=a, b`` or ``tags="a b,c\\,d"`` (see ``_format_tags``); a backslash
    before anything else is kept, as it always was."""
    if not (len(value) >= 2 and value[0] == value[-1] == '"'):
        return [t.strip() for t in value.split(",") if t.strip()]
    tags: list[str] = []
    current: list[str] = []
    for piece in _TAG_PIECE.finditer(value[1:-1]):
        escape, text = piece.group(1), piece.group(0)
        if escape is not None:
            current.append(_TAG_UNESCAPED.get(escape, text))
        elif text == ",":
            tags.append("".join(current))
            current = []
        else:
            current.append(text)
    tags.append("".join(current))
    return [t.strip() for t in tags if t.strip()]


@dataclass
class Attrs:
    """Explicit facts written after a heading, paragraph or item: ``{#slug .kind tags=a,b}``."""

    slug: str = ""
    classes: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)
    source: str = ""

    def pick(self, choices: tuple[str, ...]) -> str:
        return next((c for c in self.classes if c in choices), "")

    def fits(self, scope: str) -> bool:
        """Does every fact suit a "talk", a "highlight" or a "day" (its title)?"""
        classes = set(self.classes)
        keys = set(self.values)
        if scope == "talk":
            return not self.values and classes <= set(TALK_KINDS)
        if scope == "highlight":
            allowed = set(HIGHLIGHT_KINDS + HIGHLIGHT_STYLES)
            return not self.slug and keys <= RESOLUTION_KEYS and classes <= allowed
        return not (self.slug or self.classes or self.tags) and keys <= DAY_KEYS


def attrs_for(text: str, attrs: Attrs | None, scope: str) -> tuple[str, Attrs | None]:
    """Keep an attribute block only where its facts make sense; else it was just text."""
    if attrs is None or attrs.fits(scope):
        return text, attrs
    return text + attrs.source, None


def split_attrs(text: str) -> tuple[str, Attrs | None]:
    """Split a trailing attribute block off a line; unknown words leave the text untouched."""
    if not text.rstrip().endswith("}"):
        return text, None
    match = _ATTRS.search(text)
    if not match or not match.start():
        return text, None
    attrs = Attrs(source=text[match.start() :].rstrip())
    for token in _TOKEN.findall(match.group(1)):
        if token.startswith("#"):
            attrs.slug = token[1:]
        elif token.startswith("."):
            if token[1:] not in _CLASSES:
                return text, None
            attrs.classes.append(token[1:])
        else:
            key, _, value = token.partition("=")
            if key == "tags":
                attrs.tags = _read_tags(value)
            else:
                attrs.values[key] = _unquote(value)
    return text[: match.start()].rstrip(), attrs


def format_attrs(
    *, slug: str = "", classes: tuple[str, ...] | list[str] = (), tags: list[str] | None = None,
    values: dict[str, str] | None = None,
) -> str:  # fmt: skip
    """The attribute block for the given facts, with a leading space; "" when there are none."""
    tokens = [f"#{slug}"] if slug else []
    tokens += [f".{c}" for c in classes]
    if tags:
        tokens.append(_format_tags(tags))
    tokens += [f"{key}={quote_value(value)}" for key, value in (values or {}).items()]
    return " {" + " ".join(tokens) + "}" if tokens else ""
