import logging
import threading

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from runner import provider, runs, wakeup
from runner.models import RunnerStatus
from runner.wakeup import Alarm
from runner.worker import WakeableWorker

log = logging.getLogger(__name__)


def say_goodbye() -> None:
    """On the way out: when no other worker is left here, record that none runs, so the web
    process stops offering Run now instead of once the heartbeat goes stale. Workers on other
    machines write their heartbeat again within --housekeeping seconds."""
    try:
        if wakeup.others_alive():
            return
        RunnerStatus.record_stopped(worker=provider.worker_id())
        log.info("no worker left running here: recorded that runs cannot start")
    except Exception:
        log.exception("could not record that the worker stopped")


def do_housekeeping() -> None:
    """Heartbeat, close runs a dead worker left behind, reap expired sandboxes, warm the pool."""
    try:
        status = provider.record_status()
        closed = runs.recover_stuck_runs()
        if closed:
            log.warning("closed %d run(s) left behind by a stopped worker", closed)
        if status.available:
            removed = provider.reap()
            if removed:
                log.info("reaped sandboxes: %s", ", ".join(removed))
            provider.fill_pool()
    except Exception:
        log.exception("housekeeping failed; trying again later")
    finally:
        close_old_connections()


class Command(BaseCommand):
    help = (
        "Run the task worker (django-tasks-db's db_worker loop, woken at once when work is "
        "queued) with the runner's housekeeping: it closes "
        "runs a dead worker left behind and reaps expired sandboxes at start-up, then every "
        "--housekeeping seconds, and keeps the warm pool filled. Needs root for sandboxes."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--interval",
            type=float,
            default=0.5,
            help="Seconds between queue polls; queued work also wakes the worker at once.",
        )
        parser.add_argument("--housekeeping", type=float, default=30.0)

    def handle(self, *args, interval: float, housekeeping: float, **options) -> None:
        logging.basicConfig(level=logging.INFO)
        housekeeping_every = housekeeping

        stopping = threading.Event()

        def loop() -> None:
            while not stopping.wait(housekeeping_every):
                do_housekeeping()

        # The first round runs before the queue is served, so a restarted worker never shows
        # a run stuck "running"; later rounds run beside the queue.
        provider.record_status()
        runs.recover_stuck_runs()
        housekeeping_thread = threading.Thread(target=loop, name="runner-housekeeping", daemon=True)
        housekeeping_thread.start()
        try:
            with Alarm() as alarm:
                worker = WakeableWorker(interval=interval, alarm=alarm)
                worker.configure_signals()
                worker.run()  # SIGTERM ends it, often by SystemExit from the signal handler
        finally:
            # No heartbeat may follow the goodbye: let a round in progress end first.
            stopping.set()
            housekeeping_thread.join(timeout=HOUSEKEEPING_JOIN_SECONDS)
            say_goodbye()


HOUSEKEEPING_JOIN_SECONDS = 30
