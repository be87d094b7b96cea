"""The provider gives every sandbox the one budget of the settings, however many nodes it has
(RUNNER_SANDBOX_MEMORY_MB, _PIDS and _CPU_PERCENT are for the whole sandbox)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from runner import provider
from runner.models import Sandbox
from runner.sandbox import SandboxLimits


def test_it_reads_the_budget_from_the_settings(settings) -> None:
    settings.RUNNER_SANDBOX_MEMORY_MB = 300
    settings.RUNNER_SANDBOX_PIDS = 700
    settings.RUNNER_SANDBOX_CPU_PERCENT = 40
    assert provider.sandbox_limits() == SandboxLimits(memory_mb=300, pids=700, cpu_percent=40)


@pytest.mark.django_db
@pytest.mark.parametrize("nodes", [1, 3])
def test_a_sandbox_of_any_number_of_nodes_gets_the_same_budget(
    settings, monkeypatch: pytest.MonkeyPatch, nodes: int
) -> None:
    settings.RUNNER_SANDBOX_MEMORY_MB = 300
    settings.RUNNER_SANDBOX_PIDS = 700
    settings.RUNNER_SANDBOX_CPU_PERCENT = 40
    asked: dict = {}

    def start_sandbox(**kwargs):
        asked.update(kwargs)
        return SimpleNamespace(docker_host="unix:///nowhere.sock", version=lambda: "20.10")

    monkeypatch.setattr(provider.engines, "start_sandbox", start_sandbox)
    monkeypatch.setattr(provider, "_images", list)
    monkeypatch.setattr(provider, "_check_disk", lambda: None)
    row = Sandbox.objects.create(name="sbx-b0d9e7", visitor="someone", nodes=nodes)

    provider._start(row)

    assert asked["nodes"] == nodes
    assert asked["limits"] == SandboxLimits(memory_mb=300, pids=700, cpu_percent=40)
    assert Sandbox.objects.get(pk=row.pk).status == Sandbox.Status.READY
