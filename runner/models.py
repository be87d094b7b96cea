"""Runs of snippet lines, the sandboxes they run in, and the runner's own health."""

from __future__ import annotations

import datetime as dt
import shlex

from django.conf import settings
from django.db import models
from django.db.models import Max
from django.utils import timezone


class ClientNetField(models.CharField):
    """What the per-address limits count (runner.addresses.client_net: the address, or an
    IPv6 client's /64), derived from the row's ``remote_addr`` whenever the row is written,
    by save() or runner.rows.insert alike: never set by hand."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs |= {"max_length": 49, "null": True, "blank": True, "editable": False}
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        for fixed in ("max_length", "null", "blank", "editable"):
            kwargs.pop(fixed, None)
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        from .addresses import client_net

        value = client_net(model_instance.remote_addr)
        setattr(model_instance, self.attname, value)
        return value


def _with_client_net(save_kwargs: dict) -> dict:
    """A save() limited to some fields that writes remote_addr writes client_net too."""
    fields = save_kwargs.get("update_fields")
    if fields is not None and "remote_addr" in fields:
        save_kwargs["update_fields"] = {*fields, "client_net"}
    return save_kwargs


class Sandbox(models.Model):
    """A private Docker Engine in swarm mode, owned by one visitor (or waiting in the pool)."""

    EXPIRED = "Expired."  # the error of a sandbox the reaper removed for its age (provider.reap)

    class Status(models.TextChoices):
        STARTING = "starting", "Starting"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed to start"
        STOPPING = "stopping", "Stopping"
        GONE = "gone", "Removed"

    name = models.CharField(max_length=32, unique=True)
    visitor = models.CharField(max_length=64, blank=True, db_index=True)
    # Who asked for it, by network address (runner.addresses.client_address): a visitor's
    # cookie is free to drop, so live sandboxes are capped per address too. None while pooled.
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    client_net = ClientNetField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.STARTING)
    shared = models.BooleanField(default=False, help_text="A trusted engine of the operator's.")
    docker_host = models.CharField(max_length=300, blank=True)
    engine_version = models.CharField(max_length=40, blank=True)
    nodes = models.PositiveSmallIntegerField(default=1)
    error = models.TextField(blank=True)
    picture = models.JSONField(
        null=True, blank=True, help_text="The swarm as the worker last read it (runner.picture)."
    )
    created_at = models.DateTimeField(default=timezone.now)
    ready_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "sandboxes"
        constraints = [
            # One live sandbox per visitor, even when two workers race to start it.
            models.UniqueConstraint(
                fields=["visitor"],
                condition=models.Q(status__in=["starting", "ready"]) & ~models.Q(visitor=""),
                name="one_live_sandbox_per_visitor",
            )
        ]
        indexes = [
            # Live sandboxes per address (RUNNER_SANDBOXES_PER_ADDRESS), counted on every run.
            models.Index(fields=["client_net", "status"], name="sandbox_net_status"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **_with_client_net(kwargs))

    @property
    def is_live(self) -> bool:
        return self.status in {self.Status.STARTING, self.Status.READY}

    def expires_at(self) -> dt.datetime:
        idle = self.last_used_at + dt.timedelta(seconds=settings.RUNNER_IDLE_TTL)
        hard = self.created_at + dt.timedelta(seconds=settings.RUNNER_HARD_TTL)
        return min(idle, hard)


class RunQuerySet(models.QuerySet["Run"]):
    def in_flight(self) -> RunQuerySet:
        return self.filter(status__in=Run.IN_FLIGHT)

    def last_per_line(self, line_ids: list[int]) -> dict[int, Run]:
        """The latest run of each snippet line that shows what the command printed, in one
        query: what the day page shares as "Last run by a reader", and exports with outputs.

        Only a finished run that ran the command (succeeded, failed or timed out) and printed
        something (stdout or stderr) counts. Runs in flight are one visitor's business (their
        own cell follows them) and may never finish; skipped, refused, engine-unavailable and
        error runs never reached the engine, or say something about one visitor's sandbox or
        quota, not about the line: none of them may replace the line's last real output.
        """
        latest = (
            Run.objects.filter(snippet_line_id__in=line_ids, status__in=Run.SHOWS_OUTPUT)
            .exclude(stdout="", stderr="")
            .values("snippet_line_id")
            .annotate(last=Max("pk"))
            .values("last")
        )
        return {run.snippet_line_id: run for run in self.filter(pk__in=latest)}


class Run(models.Model):
    """One snippet line run (or refused) for a visitor: the audit record and the notebook cell."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        REFUSED = "refused", "Refused"
        TIMED_OUT = "timed_out", "Timed out"
        ENGINE_UNAVAILABLE = "engine_unavailable", "Engine unavailable"
        SKIPPED = "skipped", "Skipped"
        ERROR = "error", "Error"

    IN_FLIGHT = (Status.QUEUED, Status.RUNNING)
    # Runs whose output is the command's own, worth showing to every reader (last_per_line).
    SHOWS_OUTPUT = (Status.SUCCEEDED, Status.FAILED, Status.TIMED_OUT)

    snippet_line = models.ForeignKey(
        "talks.SnippetLine", null=True, on_delete=models.SET_NULL, related_name="runs"
    )
    sandbox = models.ForeignKey(Sandbox, null=True, blank=True, on_delete=models.SET_NULL)
    batch = models.CharField(max_length=32, blank=True, db_index=True)
    visitor = models.CharField(max_length=64, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    client_net = ClientNetField()
    line = models.CharField(max_length=1000, help_text="The line as written in the notes.")
    argv = models.JSONField(default=list, blank=True, help_text="What was executed.")
    note = models.TextField(blank=True, help_text="Why the line was rewritten, if it was.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    reason = models.TextField(blank=True, help_text="Why it was refused or did not finish.")
    exit_code = models.IntegerField(null=True, blank=True)
    stdout = models.TextField(blank=True)
    stderr = models.TextField(blank=True)
    truncated = models.BooleanField(default=False)
    converged = models.TextField(blank=True, help_text="What the swarm looked like afterwards.")
    progress = models.JSONField(
        null=True, blank=True, help_text="How far the swarm converged (runner.picture.Progress)."
    )
    snapshot_before = models.JSONField(
        null=True, blank=True, help_text="The swarm picture before a command that changes it."
    )
    snapshot = models.JSONField(null=True, blank=True, help_text="The swarm picture afterwards.")
    engine_version = models.CharField(max_length=40, blank=True)
    worker = models.CharField(max_length=100, blank=True, help_text="host:pid of the worker.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["snippet_line", "-id"]),
            # The rate limits count a visitor's and an address's recent runs and runs in flight
            # (runs._check_rate).
            models.Index(fields=["visitor", "created_at"], name="run_visitor_recent"),
            models.Index(fields=["client_net", "created_at"], name="run_net_recent"),
            models.Index(fields=["visitor", "status"], name="run_visitor_status"),
            models.Index(fields=["client_net", "status"], name="run_net_status"),
        ]
        permissions = [("execute_run", "Can run snippet lines in a sandbox")]

    def __str__(self) -> str:
        return f"{self.line} ({self.get_status_display()})"

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **_with_client_net(kwargs))

    @property
    def finished(self) -> bool:
        return self.status not in self.IN_FLIGHT

    @property
    def ran_at(self) -> dt.datetime:
        """When the command started, as its cell shows it; until then (or if it never did:
        refused, skipped), when it was asked for. A block's lines are all asked for at once
        but run one after the other."""
        return self.started_at or self.created_at

    @property
    def duration(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    @property
    def is_sandbox_action(self) -> bool:
        """A sandbox action ("(stop node worker1)"), not a line of the notes."""
        return self.snippet_line_id is None and not self.argv and self.line.startswith("(")

    @property
    def exit_label(self) -> str:
        """The exit code as the cell shows it, or "" when there is none. A run that failed
        after its command exited 0 (the swarm never converged, the sandbox was reset under
        it) says that the command was accepted: "Failed · exit code 0" reads as a
        contradiction."""
        if self.exit_code is None:
            return ""
        if self.exit_code == 0 and self.status != self.Status.SUCCEEDED:
            return "command accepted (exit code 0)"
        return f"exit code {self.exit_code}"

    @property
    def argv_label(self) -> str:
        """How the cell introduces the argv: it was executed, it will be, or it never ran
        (skipped: nothing is shown) or ended without the engine answering."""
        if self.status == self.Status.SKIPPED:
            return ""
        if not self.finished:
            return "Runs as"
        if self.exit_code is not None or self.status == self.Status.TIMED_OUT:
            return "Executed"
        return "Command"

    @property
    def argv_shown(self) -> list[str]:
        """Each argument as it would be typed (quoted where needed): the page keeps every one
        whole on a line, so ``--container-label`` never wraps as ``-`` and ``-container…``."""
        return [shlex.quote(arg) for arg in self.argv or []]


class RunnerStatus(models.Model):
    """What the worker last found about running here; the web process reads it, never probes."""

    available = models.BooleanField(default=False)
    mode = models.CharField(max_length=20, default="sandbox")
    explanation = models.TextField(blank=True)
    engine_version = models.CharField(max_length=40, blank=True)
    worker = models.CharField(max_length=100, blank=True)
    checked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "runner status"

    def __str__(self) -> str:
        return "available" if self.available else "unavailable"

    # What the last worker to stop cleanly leaves behind (record_stopped): for readers.
    STOPPED = "No runner worker is running, so commands cannot run right now."

    @classmethod
    def current(cls) -> RunnerStatus | None:
        return cls.objects.order_by("-checked_at").first()

    @classmethod
    def record_stopped(cls, *, worker: str) -> None:
        """A worker's goodbye, when it stops cleanly and no other worker is left: Run is no
        longer offered at once, rather than once the heartbeat goes stale."""
        cls.objects.update_or_create(
            pk=1,
            defaults={
                "available": False,
                "explanation": cls.STOPPED,
                "worker": worker,
                "checked_at": timezone.now(),
            },
        )

    @property
    def stopped(self) -> bool:
        """The last worker said goodbye (record_stopped)."""
        return not self.available and self.explanation == self.STOPPED

    def is_fresh(self) -> bool:
        return timezone.now() - self.checked_at < dt.timedelta(
            seconds=settings.RUNNER_HEARTBEAT_STALE
        )

    def is_up(self) -> bool:
        """Is a worker there to run what is queued: a fresh heartbeat that says it can?"""
        return self.available and self.is_fresh()
