from django.apps import AppConfig


class TalksConfig(AppConfig):
    name = "talks"
    verbose_name = "Notes"

    def ready(self) -> None:
        from . import cache, signals

        signals.connect()  # keeps the search index in step with the notes
        cache.connect()  # cached day pages follow every edit
