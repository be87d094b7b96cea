import time

from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS

from talks.search import rebuild_index


class Command(BaseCommand):
    help = (
        "Rebuild the full-text search index from the notes. Saves and deletes keep it up to "
        "date; run this after bulk_create, QuerySet.update, raw SQL or loaddata."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="Database alias.")

    def handle(self, *args, database: str, **options) -> None:
        started = time.perf_counter()
        counts = rebuild_index(using=database)
        self.stdout.write(
            f"Search index rebuilt in {time.perf_counter() - started:.1f} s: "
            f"{counts['highlight']} notes, {counts['talk']} talks, "
            f"{counts['snippet']} snippets, {counts['day']} days."
        )
