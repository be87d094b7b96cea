"""The audit trail: runs, sandboxes and edits, viewable by staff and append-only from the web."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.http import HttpRequest

from .models import Run, RunnerStatus, Sandbox


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records are written by the system; nobody adds, edits or deletes them from the web."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "line", "status", "exit_code", "visitor", "user", "remote_addr"]
    list_filter = ["status", "created_at"]
    search_fields = ["line", "visitor", "remote_addr", "user__username", "reason"]
    list_select_related = ["user", "sandbox"]
    date_hierarchy = "created_at"


@admin.register(Sandbox)
class SandboxAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "status",
        "visitor",
        "remote_addr",
        "nodes",
        "engine_version",
        "created_at",
        "last_used_at",
    ]
    list_filter = ["status", "shared"]
    search_fields = ["name", "visitor", "remote_addr"]


@admin.register(RunnerStatus)
class RunnerStatusAdmin(ReadOnlyAdmin):
    list_display = ["available", "mode", "explanation", "worker", "checked_at"]


@admin.register(LogEntry)
class LogEntryAdmin(ReadOnlyAdmin):
    """Every edit made in the admin: who, when, what, and which fields changed."""

    list_display = [
        "action_time",
        "user",
        "content_type",
        "object_repr",
        "action_flag",
        "change",
    ]
    list_filter = ["action_flag", "content_type"]
    search_fields = ["object_repr", "change_message", "user__username"]
    list_select_related = ["user", "content_type"]
    date_hierarchy = "action_time"

    @admin.display(description="change")
    def change(self, obj: LogEntry) -> str:
        """What changed, in words ("Changed Summary."), not the stored JSON."""
        return obj.get_change_message()
