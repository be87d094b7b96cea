import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from talks.search import TABLE, rebuild_index


class Command(BaseCommand):
    help = (
        "Rebuild the full-text search index from the notes. Saves and deletes keep it up to "
        "date; run this after bulk_create, QuerySet.update, raw SQL or loaddata."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--database",
            default=DEFAULT_DB_ALIAS,
            help="Alias of the database (in settings.DATABASES) to rebuild it in "
            f"(default: {DEFAULT_DB_ALIAS}).",
        )

    def handle(self, *args, database: str, verbosity: int = 1, **options) -> None:
        known = list(connections)
        if database not in known:
            raise CommandError(
                f"Unknown database {database!r}: the aliases in settings.DATABASES are "
                f"{', '.join(known)}."
            )
        with connections[database].cursor() as cursor:
            tables = connections[database].introspection.table_names(cursor)
        if TABLE not in tables:
            raise CommandError(
                f"Database {database!r} has no search index table ({TABLE}): run "
                f"`manage.py migrate --database {database}` first."
            )
        started = time.perf_counter()
        counts = rebuild_index(using=database)
        if verbosity < 1:
            return
        self.stdout.write(
            f"Search index rebuilt in {time.perf_counter() - started:.1f} s: "
            f"{counts['highlight']} notes, {counts['talk']} talks, "
            f"{counts['snippet']} snippets, {counts['day']} days."
        )
