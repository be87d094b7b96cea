"""manage.py export_notes CONFERENCE [--day N] [--with-outputs]: take notes out as Markdown or
JSON."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from talks.exporting import EXPORTERS, last_outputs
from talks.models import Conference


class Command(BaseCommand):
    help = (
        "Export a conference (or one of its days) as Markdown, which import_notes reads back, "
        "or as JSON (docs/export-schema.md). Writes to standard output unless --output is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("conference", help="The conference's slug, e.g. dockercon-2016.")
        parser.add_argument("--day", type=int, help="Only this day number.")
        parser.add_argument("--format", choices=sorted(EXPORTERS), default="md")
        parser.add_argument("--output", "-o", help="Write to this file instead.")
        parser.add_argument(
            "--with-outputs",
            action="store_true",
            help="Add each command's last recorded output (it is not imported back).",
        )

    def handle(self, *args, **options) -> None:
        slug = options["conference"]
        conference = Conference.objects.filter(slug=slug).first()
        if conference is None:
            known = ", ".join(Conference.objects.values_list("slug", flat=True)[:20]) or "none"
            raise CommandError(f"No conference with the slug “{slug}”. Known: {known}.")
        day = None
        if options["day"] is not None:
            day = conference.days.filter(number=options["day"]).first()
            if day is None:
                numbers = ", ".join(
                    str(n) for n in conference.days.values_list("number", flat=True)
                )
                raise CommandError(
                    f"{conference.name} has no day {options['day']} (days: {numbers or 'none'})."
                )
        days = [day] if day else list(conference.days.all())
        outputs = last_outputs(days) if options["with_outputs"] else None
        exporter = EXPORTERS[options["format"]](outputs=outputs)
        if day is None:
            content = exporter.export_conference(conference)
        else:
            content = exporter.export_day(day)
        if options["output"]:
            try:
                Path(options["output"]).write_text(content, encoding="utf-8")
            except OSError as error:
                raise CommandError(
                    f"{options['output']}: cannot be written ({error.strerror})."
                ) from None
            self.stderr.write(f"Wrote {options['output']}.")
        else:
            self.stdout.write(content, ending="")
