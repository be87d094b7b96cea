"""The task worker: django-tasks-db's ``db_worker`` loop, woken at once when work is queued.

``Worker.run`` below is upstream's loop (django-tasks-db 0.13) with two changes: between polls
it waits on a wake-up socket (runner.wakeup) instead of sleeping, so a queued run starts within
a millisecond or two rather than after up to ``interval`` seconds; and ``next_task`` claims a
task in one SQL statement. Batch mode and max-tasks, which run_worker does not offer, are left
out.
"""

from __future__ import annotations

import functools
import logging
from datetime import timedelta

from django.db import close_old_connections, connections, router
from django.db.utils import OperationalError
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks_db.compat import (
    DEFAULT_TASK_BACKEND_ALIAS,
    DEFAULT_TASK_QUEUE_NAME,
    TaskResultStatus,
)
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult, get_date_max
from django_tasks_db.utils import is_locked_database_exception

from . import rows
from .models import Run
from .tasks import execute_runs
from .wakeup import Alarm

logger = logging.getLogger("django_tasks_db")


class WakeableWorker(Worker):
    def __init__(self, *, interval: float, alarm: Alarm) -> None:
        super().__init__(
            queue_names=[DEFAULT_TASK_QUEUE_NAME],
            interval=interval,
            batch=False,
            backend_name=DEFAULT_TASK_BACKEND_ALIAS,
            startup_delay=False,
            max_tasks=None,
            worker_id=get_random_string(32),
            excluded_queue_names=[],
        )
        self.alarm = alarm

    def next_task(self) -> DBTaskResult | None:
        """Claim the next ready task, or None (also when the database is locked just now).

        What upstream's ``DBTaskResult.objects.ready().get_locked()`` and ``claim()`` do, in
        one statement written once (_claim_sql): building those querysets took longer than
        running them, and it is on the way of every run (bench/bench_runner.py).
        """
        db = router.db_for_write(DBTaskResult)
        ops = connections[db].ops
        now = timezone.now()
        params = [
            TaskResultStatus.RUNNING,
            ops.adapt_datetimefield_value(now),
            self.worker_id,
            TaskResultStatus.READY,
            ops.adapt_datetimefield_value(get_date_max()),
            ops.adapt_datetimefield_value(now),
            self.backend_name,
            DEFAULT_TASK_QUEUE_NAME,
            execute_runs.module_path,
            *Run.IN_FLIGHT,
        ]
        try:
            claimed = rows.fetch(DBTaskResult, _claim_sql(db), params, using=db)
        except OperationalError as exc:
            if is_locked_database_exception(exc):
                return None
            raise
        if not claimed:
            return None
        task_result = claimed[0]
        task_result.started_at = now  # as written, not as read back (SQLite keeps no zone)
        return task_result

    def run(self) -> None:
        logger.info("Starting worker worker_id=%s queues=%s", self.worker_id, "default")
        while self.running:
            close_old_connections()  # dropped or expired connections, right after waking
            task_result = self.next_task()
            if task_result is not None:
                self.run_task(task_result)
            close_old_connections()
            if self.running and task_result is None:
                self.alarm.wait(self.interval)


@functools.cache
def _claim_sql(db: str) -> str:
    """Claim the next ready task of the default queue, by priority, then due time, then age
    (the model's ordering), and return it: one UPDATE ... RETURNING, atomic on its own;
    on PostgreSQL the row is locked with SKIP LOCKED, so two workers never take the same.

    A visitor's runs go in the order asked for, so a task of runs waits while an earlier run
    of the same visitor is queued or running. It waits here, in the queue, not in a worker:
    claimed, it would keep a worker from everyone else's runs until the earlier one ended
    (one visitor's Run all and then Run would hold both of two workers).
    """
    connection = connections[db]
    quote = connection.ops.quote_name
    meta = DBTaskResult._meta
    column = {f.name: quote(f.column) for f in meta.concrete_fields}
    table = quote(meta.db_table)
    workers, args = column["worker_ids"], f"{table}.{column['args_kwargs']}"
    if connection.vendor == "postgresql":
        append, lock = f"{workers} || jsonb_build_array(%s::text)", " FOR UPDATE SKIP LOCKED"
        first_run = f"({args} #>> '{{kwargs,run_ids,0}}')::bigint"
    else:
        append, lock = f"json_insert({workers}, '$[#]', %s)", ""
        first_run = f"json_extract({args}, '$.kwargs.run_ids[0]')"
    run = {f.name: quote(f.column) for f in Run._meta.concrete_fields}
    runs = quote(Run._meta.db_table)
    not_its_turn = (
        f"SELECT 1 FROM {runs} r JOIN {runs} earlier"  # noqa: S608
        f" ON earlier.{run['visitor']} = r.{run['visitor']} AND earlier.{run['id']} < r.{run['id']}"
        f" WHERE {table}.{column['task_path']} = %s AND r.{run['id']} = {first_run}"
        f" AND earlier.{run['status']} IN (%s, %s)"
    )
    next_ready = (
        f"SELECT {column['id']} FROM {table} WHERE {column['status']} = %s"  # noqa: S608
        f" AND ({column['run_after']} = %s OR {column['run_after']} <= %s)"
        f" AND {column['backend_name']} = %s AND {column['queue_name']} = %s"
        f" AND NOT EXISTS ({not_its_turn})"
        f" ORDER BY {column['priority']} DESC, {column['run_after']}, {column['enqueued_at']}"
        f" LIMIT 1{lock}"
    )
    return (
        f"UPDATE {table} SET {column['status']} = %s, {column['started_at']} = %s,"  # noqa: S608
        f" {workers} = {append} WHERE {column['id']} = ({next_ready})"
        f" RETURNING {rows.columns(DBTaskResult, db)}"
    )


# A finished job's row is no use once its run has recorded the outcome (Run holds it); kept a
# day for whoever looks into the queue, then deleted: the swarm picture's follow-up reads
# (runs.follow_swarm) add one every 2 s while a swarm someone stopped waiting for still moves.
TASK_RESULTS_KEPT = timedelta(days=1)


def prune_task_results() -> int:
    """Delete the rows of jobs that ended more than TASK_RESULTS_KEPT ago; how many."""
    ended = [TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED]
    old = DBTaskResult.objects.filter(
        status__in=ended, finished_at__lt=timezone.now() - TASK_RESULTS_KEPT
    )
    deleted, _ = old.delete()
    return deleted
