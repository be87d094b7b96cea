"""manage.py stop_sandboxes, which `make run` calls when it stops: no root engine is left
behind on a development machine. The engines are faked here (rows only); removing real ones
is runner.sandbox.stop_sandbox's, tested on real engines."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from runner import provider
from runner.models import Sandbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def stopped(monkeypatch, settings, tmp_path):
    settings.RUNNER_MODE = "sandbox"
    settings.RUNNER_BASE_DIR = tmp_path
    names: list[str] = []
    monkeypatch.setattr(provider.engines, "stop_sandbox", lambda name, base_dir: names.append(name))
    return names


def test_it_stops_the_visitors_and_the_pools_sandboxes_and_nothing_else(stopped, capsys):
    Sandbox.objects.create(name="sbx-visitor", visitor="a" * 24, status=Sandbox.Status.READY)
    Sandbox.objects.create(name="sbx-pool", visitor="", status=Sandbox.Status.READY)
    Sandbox.objects.create(name="sbx-gone", visitor="b" * 24, status=Sandbox.Status.GONE)
    Sandbox.objects.create(name="sbx-shared", shared=True, status=Sandbox.Status.READY)
    call_command("stop_sandboxes")
    assert stopped == ["sbx-visitor", "sbx-pool"]
    assert set(
        Sandbox.objects.filter(status=Sandbox.Status.GONE).values_list("name", flat=True)
    ) == {
        "sbx-visitor",
        "sbx-pool",
        "sbx-gone",
    }
    assert capsys.readouterr().out == "Stopped 2 sandboxes.\n"


def test_one_that_cannot_be_stopped_is_named(stopped, monkeypatch, capsys):
    Sandbox.objects.create(name="sbx-stuck", visitor="a" * 24, status=Sandbox.Status.READY)

    def fail(name, base_dir):
        raise provider.engines.SandboxError("busy")

    monkeypatch.setattr(provider.engines, "stop_sandbox", fail)
    call_command("stop_sandboxes")
    out, err = capsys.readouterr()
    assert out == "Stopped 0 sandboxes.\n"
    assert "Could not stop sbx-stuck; the next worker's housekeeping tries again." in err
    assert Sandbox.objects.get().status == Sandbox.Status.STOPPING


def test_without_private_sandboxes_it_says_so(settings, capsys):
    settings.RUNNER_MODE = "off"
    call_command("stop_sandboxes")
    assert capsys.readouterr().out == "RUNNER_MODE is off: no private sandboxes.\n"
