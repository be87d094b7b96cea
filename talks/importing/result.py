"""What a parse returns: the days, the warnings (with line numbers), where every line went."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..documents import DayDoc


@dataclass(frozen=True)
class ParseWarning:
    """Something the parser could not place, or placed on a guess; ``line`` is 1-based."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass
class ParseResult:
    """The days a notes document describes, plus an account of every source line.

    ``roles[n - 1]`` says what line ``n`` became ("highlight", "snippet", "blank", ...);
    a line the parser could not use has a warning instead of a silent drop.
    """

    days: list[DayDoc]
    warnings: list[ParseWarning]
    format: str
    roles: list[str] = field(default_factory=list)
    refusal: str = ""  # why the text cannot be imported (a JSON export, an invalid slug)
    # Whether the conference's slug was given (option or front matter), not made from its name:
    # only a slug made from the name may be replaced by a stored conference's of that name.
    conference_slug_given: bool = False
    # The ``id``s of the snippets whose language the text does not state (plain text, a bare
    # fence): importing keeps the stored block's (``complete_from_database``).
    unstated_languages: set[int] = field(default_factory=set)

    @property
    def day(self) -> DayDoc:
        return self.days[0]

    def unplaced_lines(self) -> list[int]:
        """Line numbers with no role and no warning: always empty unless there is a bug."""
        warned = {w.line for w in self.warnings}
        return [n for n, role in enumerate(self.roles, 1) if not role and n not in warned]


class Placement:
    """Records the role of each source line as the parser consumes it."""

    def __init__(self, count: int) -> None:
        self.roles = [""] * count
        self.warnings: list[ParseWarning] = []
        self.refusals: list[ParseWarning] = []  # what makes the text impossible to import
        self.unstated_languages: set[int] = set()  # see ParseResult

    def refuse(self, line: int, message: str) -> None:
        """Report something the import cannot go ahead with (the whole import is refused)."""
        self.refusals.append(ParseWarning(line, message))

    def place(self, line: int, role: str) -> None:
        if 1 <= line <= len(self.roles) and not self.roles[line - 1]:
            self.roles[line - 1] = role

    def place_all(self, lines: list[int], role: str) -> None:
        for line in lines:
            self.place(line, role)

    def warn(self, line: int, message: str, *, role: str = "") -> None:
        """Report a problem; ``role`` also places the line when its content was kept."""
        self.warnings.append(ParseWarning(line, message))
        if role:
            self.place(line, role)
