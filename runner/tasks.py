"""Background work, queued on django-tasks' database backend and run by `manage.py db_worker`."""

from __future__ import annotations

from django_tasks import task

from . import provider, runs, sandbox_actions
from .models import Run


@task()
def execute_runs(run_ids: list[int]) -> None:
    """Execute queued runs in order (one line, or a whole block)."""
    runs.execute_runs(run_ids)
    provider.fill_pool()


@task()
def reset_sandbox(visitor: str) -> None:
    """Tear down a visitor's sandbox; the next run gets a fresh one (from the pool if warm)."""
    provider.reset(visitor)
    provider.fill_pool()


@task()
def sandbox_action(run_id: int, kind: str, nodes: int = 0, node: str = "") -> None:
    """Start a sandbox of N nodes, or stop / start one of its workers (recorded as a run)."""
    run = Run.objects.filter(pk=run_id).first()
    if run is not None:
        action = sandbox_actions.Action(kind=kind, nodes=nodes, node=node)
        sandbox_actions.execute_action(run, action)
    provider.fill_pool()


@task()
def follow_swarm(sandbox_id: int, until: float) -> None:
    """Keep a sandbox's picture up to date while its swarm moves on after a run stopped waiting
    for it (runs.follow_later), without holding a worker between reads."""
    runs.follow_swarm(sandbox_id, until)
