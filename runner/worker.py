"""The task worker: django-tasks-db's ``db_worker`` loop, woken at once when work is queued.

``Worker.run`` below is upstream's loop (django-tasks-db 0.13) with one change: between polls
it waits on a wake-up socket (runner.wakeup) instead of sleeping, so a queued run starts within
a millisecond or two rather than after up to ``interval`` seconds. Batch mode and max-tasks,
which run_worker does not offer, are left out.
"""

from __future__ import annotations

import logging

from django.db import close_old_connections
from django.db.utils import OperationalError
from django.utils.crypto import get_random_string
from django_tasks_db.compat import DEFAULT_TASK_BACKEND_ALIAS, DEFAULT_TASK_QUEUE_NAME
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

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
        """Claim the next ready task, or None (also when the database is locked just now)."""
        tasks = DBTaskResult.objects.ready().filter(
            backend_name=self.backend_name, queue_name__in=self.queue_names
        )
        with exclusive_transaction(tasks.db):
            try:
                task_result = tasks.get_locked()
            except OperationalError as exc:
                if is_locked_database_exception(exc):
                    return None
                raise
            if task_result is not None:
                task_result.claim(self.worker_id)  # so no other worker runs it
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
