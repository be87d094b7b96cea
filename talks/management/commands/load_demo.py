from django.core.management.base import BaseCommand

from talks.demo import DEMO_DAYS
from talks.documents import save_day


class Command(BaseCommand):
    help = "Load the demo notes (DockerCon 2016 Day 1). Safe to run again: nothing is duplicated."

    def handle(self, *args, **options) -> None:
        for doc in DEMO_DAYS:
            day, report = save_day(doc)
            self.stdout.write(
                f"{day.title}: {report.created} created, {report.updated} updated, "
                f"{report.unchanged} unchanged, {report.deleted} removed."
            )
