"""Remove every private sandbox of this site: the visitors', the warm pool's, and any engine
left under RUNNER_BASE_DIR without a live row. `make run` calls it when it stops (Ctrl+C), so a
development machine keeps no root engines running after it; a visitor's next run starts a fresh
sandbox. Run it with the workers stopped: a run in flight loses its engine."""

from django.conf import settings
from django.core.management.base import BaseCommand

from runner import provider
from runner import sandbox as engines


class Command(BaseCommand):
    help = (
        "Remove every private sandbox (visitors' and the warm pool's) and any engine under "
        "RUNNER_BASE_DIR that no live row holds. Stop the workers first."
    )

    def handle(self, *args, **options) -> None:
        if settings.RUNNER_MODE != "sandbox":
            self.stdout.write(f"RUNNER_MODE is {settings.RUNNER_MODE}: no private sandboxes.")
            return
        stopped, left = provider.stop_all(error="Stopped with the site.")
        base_dir = settings.RUNNER_BASE_DIR
        strays: list[str] = []
        if base_dir.is_dir():
            try:
                strays = engines.reap_sandboxes(base_dir=base_dir, keep=set())
            except (engines.SandboxError, OSError) as error:
                self.stderr.write(f"Some engines under {base_dir} could not be removed: {error}")
        self.stdout.write(
            f"Stopped {stopped} sandbox{'es' if stopped != 1 else ''}"
            + (f" and {len(strays)} engine(s) without a row" if strays else "")
            + "."
        )
        if left:
            self.stderr.write(
                f"Could not stop {', '.join(left)}; the next worker's housekeeping tries again."
            )
