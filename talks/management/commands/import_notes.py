"""manage.py import_notes FILE: bring a notes document (plain text or Markdown) in."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from talks.importing import (
    FORMATS,
    MAX_IMPORT_BYTES,
    ImportOptions,
    NotesInputError,
    OptionsError,
    RemovalNotConfirmed,
    day_stats,
    decode_notes,
    import_notes,
    planned_overwrites,
    planned_removals,
)
from talks.importing.blocks import LIMITS
from talks.importing.checks import slug_problem
from talks.importing.decoding import check_size, describe_size
from talks.importing.parse import MAX_DAY_NUMBER

MAX_NAME_LENGTH = LIMITS["meta"]
# The options by name (ImportOptions' attributes), for messages about them.
OPTION_NAMES = {
    "conference": "--conference",
    "conference_slug": "--conference-slug",
    "starts_on": "--starts-on",
    "day": "--day",
    "date": "--date",
}


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"“{value}” is not a date like 2016-06-20") from None


def _slug(value: str) -> str:
    """A conference slug; "" (the default) for one found or made from the name."""
    problem = value.strip() and slug_problem(value.strip())
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return value.strip()


def _name(value: str) -> str:
    """A conference's name or place: at most as long as the admin's form takes."""
    value = " ".join(value.split())
    if len(value) > MAX_NAME_LENGTH:
        raise argparse.ArgumentTypeError(
            f"“{value[:40]}…” is {len(value)} characters long; at most {MAX_NAME_LENGTH} fit"
        )
    return value


def _day_number(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_DAY_NUMBER:
        raise argparse.ArgumentTypeError(
            f"“{value}” is not a day number from 1 to {MAX_DAY_NUMBER}"
        )
    return int(value)


class Command(BaseCommand):
    help = (
        "Import conference notes from a plain-text or Markdown file (- reads standard input). "
        "Importing the same document again updates the notes instead of duplicating them; "
        "nothing is saved unless everything is. An import that would remove stored talks, notes "
        "or snippets (not in the file) says what and saves nothing, unless --replace is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The notes file, or - for standard input.")
        parser.add_argument("--format", choices=list(FORMATS), default="auto")
        parser.add_argument(
            "--conference", default="", type=_name, help="Conference name, e.g. “DockerCon "
            "2016” (default: read from the title, e.g. “DockerCon 2016 Highlights Day 1”).",
        )  # fmt: skip
        parser.add_argument(
            "--conference-slug", default="", type=_slug, help="The conference's part of web "
            "addresses (letters, digits, - and _), e.g. “dockercon-2016”. Default: the stored "
            "conference of that name, else made from the name.",
        )  # fmt: skip
        parser.add_argument(
            "--location", default="", type=_name, help="Where the conference takes place."
        )
        parser.add_argument("--starts-on", type=_date, help="First day, YYYY-MM-DD.")
        parser.add_argument(
            "--day", type=_day_number, help="Day number (default: from the text); only for "
            "notes that hold a single day.",
        )  # fmt: skip
        parser.add_argument(
            "--date", type=_date, help="The day's date, YYYY-MM-DD; only for notes that hold a "
            "single day.",
        )  # fmt: skip
        parser.add_argument(
            "--dry-run", action="store_true", help="Show what would be imported; save nothing."
        )
        parser.add_argument(
            "--replace",
            "--yes",
            action="store_true",
            help="Let the import remove stored talks, notes and snippets that the file no "
            "longer has (without it, such an import is refused and nothing is saved).",
        )

    def handle(self, *args, **options) -> None:
        name = options["file"]
        data = self._read(name)
        try:
            decoded = decode_notes(data)
            outcome = import_notes(
                decoded.text,
                format=options["format"],
                filename="" if name == "-" else name,
                options=ImportOptions(
                    conference=options["conference"],
                    conference_slug=options["conference_slug"],
                    location=options["location"],
                    starts_on=options["starts_on"],
                    day=options["day"],
                    date=options["date"],
                ),
                dry_run=options["dry_run"],
                confirm_removal=options["replace"],
            )
        except RemovalNotConfirmed as error:
            for doc, found in error.planned:
                self.stderr.write(f"{name}: “{doc.title}”: would remove {found.describe()}.")
            raise CommandError(
                f"{name}: nothing was saved: this import would remove what is listed above "
                "(in the stored day, not in the file). Run it again with --replace to remove "
                "them, or add them to the file."
            ) from None
        except OptionsError as error:
            raise CommandError(f"{name}: {error.describe(OPTION_NAMES)}") from None
        except NotesInputError as error:
            raise CommandError(f"{name}: {error}") from None
        except DatabaseError as error:
            raise CommandError(
                f"{name}: nothing was saved; the database refused: {error}"
            ) from None
        warnings = [*decoded.warnings, *outcome.result.warnings]
        for warning in warnings:
            where = f"{name}:{warning.line}" if warning.line else name
            self.stderr.write(f"{where}: {warning.message}")
        label = "Markdown" if outcome.result.format == "markdown" else "plain text"
        for index, doc in enumerate(outcome.days):
            line = (
                f"{doc.conference.name}, Day {doc.number}: “{doc.title}” ({label}, "
                f"{decoded.encoding}): {day_stats(doc)}."
            )
            if outcome.saved:
                report = outcome.saved[index][1]
                line += (
                    f" Rows: {report.created} created, {report.updated} updated, "
                    f"{report.unchanged} unchanged, {report.deleted} removed."
                )
            self.stdout.write(line)
        for conference, changes in outcome.conference_changes:
            verb = "Importing would change" if options["dry_run"] else "Changed"
            self.stdout.write(
                f"{verb} the stored conference “{conference.name}” ({conference.slug}): "
                f"{'; '.join(changes)}."
            )
        if options["dry_run"]:
            for doc, replaced in planned_overwrites(outcome.days):
                self.stdout.write(
                    f"Importing would replace {replaced.count} stored text"
                    f"{'s' if replaced.count != 1 else ''} of “{doc.title}” with the file's"
                    f"{f' ({replaced.edited} edited in the admin)' if replaced.edited else ''}:"
                )
                for group in replaced.groups:
                    for item in group.items:
                        for change in item.changes:
                            what = f"{item.label}{f' ({change.name})' if change.name else ''}"
                            self.stdout.write(
                                f"  {group.heading} · {what}: “{_marked(change.before)}” → "
                                f"“{_marked(change.after)}”"
                            )
                if replaced.hidden:
                    self.stdout.write(f"  … and {replaced.hidden} more.")
            for doc, found in planned_removals(outcome.days):
                self.stdout.write(
                    f"Importing would remove from “{doc.title}”: {found.describe()}"
                    f"{'' if options['replace'] else ' (it needs --replace)'}."
                )
            self.stdout.write("Dry run: nothing was saved.")
        elif warnings:
            count = len(warnings)
            self.stdout.write(f"Imported with {count} warning{'s' if count != 1 else ''} (above).")

    def _read(self, name: str) -> bytes:
        """The file's bytes; a file over the limit is refused with its real size."""
        if name == "-":
            data = sys.stdin.buffer.read(MAX_IMPORT_BYTES + 1)
            if len(data) > MAX_IMPORT_BYTES:
                limit = describe_size(MAX_IMPORT_BYTES)
                raise CommandError(
                    f"-: The notes are more than {limit}; the limit is {limit}. Split the "
                    "document into days and import them one by one."
                )
            return data
        path = Path(name)
        if path.is_dir():
            raise CommandError(
                f"{name} is a directory, not a notes file: give the path of the notes file "
                "itself (plain text or Markdown)."
            )
        if not path.exists():
            raise CommandError(f"{name}: no such file.")
        if not path.is_file():
            raise CommandError(
                f"{name} is not a regular file (a device or a pipe?): save the notes to a file "
                "and import that, or pipe them to standard input with - as the file."
            )
        try:
            check_size(os.stat(path).st_size)
            with path.open("rb") as handle:
                return handle.read(MAX_IMPORT_BYTES + 1)
        except NotesInputError as error:
            raise CommandError(f"{name}: {error}") from None
        except OSError as error:
            raise CommandError(f"{name}: cannot be read ({error.strerror}).") from None


def _marked(parts) -> str:
    """One side of a before → after, its changed words in [brackets], as wdiff shows them."""
    return " ".join(f"[{part.text}]" if part.changed else part.text for part in parts)
