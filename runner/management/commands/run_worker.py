import argparse
import logging
import math
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from runner import provider, runs, wakeup
from runner.models import RunnerStatus
from runner.wakeup import Alarm
from runner.worker import WakeableWorker, prune_task_results

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
    """Heartbeat, close runs a dead worker left behind, reap expired sandboxes, warm the pool,
    delete the rows of jobs that ended a day ago."""
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
        prune_task_results()
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
            type=seconds,
            default=0.5,
            metavar="SECONDS",
            help="Seconds between queue polls; queued work also wakes the worker at once "
            "(default: 0.5).",
        )
        parser.add_argument(
            "--housekeeping",
            type=seconds,
            default=30.0,
            metavar="SECONDS",
            help="Seconds between housekeeping rounds: heartbeat, closing runs a dead worker "
            "left behind, reaping expired sandboxes, filling the warm pool (default: 30). "
            "Keep it under RUNNER_HEARTBEAT_STALE, or the site thinks no worker runs.",
        )

    def handle(self, *args, interval: float, housekeeping: float, **options) -> None:
        # Options given to call_command() as keywords skip the parser's checks.
        try:
            interval = seconds(interval, option="--interval")
            housekeeping = seconds(housekeeping, option="--housekeeping")
        except argparse.ArgumentTypeError as exc:
            raise CommandError(str(exc)) from None
        if housekeeping >= settings.RUNNER_HEARTBEAT_STALE:
            self.stderr.write(
                f"Warning: --housekeeping {housekeeping:g} is not under RUNNER_HEARTBEAT_STALE "
                f"({settings.RUNNER_HEARTBEAT_STALE} s): between two rounds the site will say "
                "that no worker runs."
            )
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
MAX_SECONDS = 86_400.0  # a day: more than any use, and far below what select() refuses


def seconds(value: str | float, *, option: str = "") -> float:
    """A positive, finite number of seconds, up to a day (an argparse type: argparse names the
    option itself in front of the message)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and 0 < number <= MAX_SECONDS):
        raise argparse.ArgumentTypeError(
            f"{option} must be a positive number of seconds, at most {MAX_SECONDS:g} "
            f"(not {value!r})".lstrip()
        )
    return number
