"""With no worker running: Run is not offered as soon as the last worker stops cleanly, and a
queued run says that nothing will take it now, polling slowly, not every second."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from runner import provider, runs, wakeup
from runner.management.commands import run_worker
from runner.models import Run, RunnerStatus
from runner.worker import WakeableWorker

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}
DAY_URL = "/c/dockercon-2016/day-1/"
NO_RUNNER = "No runner is running right now"


@pytest.fixture
def wakeups(tmp_path, settings):
    settings.RUNNER_WAKEUP_DIR = tmp_path / "wakeup"
    settings.RUNNER_WAKEUP_DIR.mkdir()
    return settings.RUNNER_WAKEUP_DIR


def seen_of(html: str) -> str:
    return re.search(r"""hx-vals='\{"seen": "([\w:-]+)"\}'""", html)[1]


def test_the_last_worker_to_stop_takes_run_off_the_page_at_once(client, line, runner_up, wakeups):
    assert 'aria-label="Run: docker service ls"' in client.get(DAY_URL).content.decode()
    run_worker.say_goodbye()
    html = client.get(DAY_URL).content.decode()
    assert "Run: docker service ls" not in html
    assert "No runner worker is running, so commands cannot run right now." in html
    assert RunnerStatus.current().stopped


def test_staff_are_told_how_to_start_one(staff_client, line, runner_up, wakeups):
    run_worker.say_goodbye()
    assert "python manage.py run_worker" in staff_client.get(DAY_URL).content.decode()


def test_a_worker_that_stops_while_another_runs_says_nothing(
    client, line, runner_up, wakeups, monkeypatch
):
    (wakeups / "worker-4242.sock").touch()
    monkeypatch.setattr(wakeup, "worker_alive", lambda pid: pid == 4242)
    run_worker.say_goodbye()
    assert 'aria-label="Run: docker service ls"' in client.get(DAY_URL).content.decode()
    assert RunnerStatus.current().available


def test_the_worker_says_goodbye_when_sigterm_stops_it(wakeups, monkeypatch):
    def record_status() -> RunnerStatus:
        defaults = {"available": True, "explanation": "Up.", "checked_at": timezone.now()}
        return RunnerStatus.objects.update_or_create(pk=1, defaults=defaults)[0]

    def stopped_by_sigterm(self) -> None:
        assert RunnerStatus.current().is_up()
        raise SystemExit(0)  # as Worker.shutdown does when no task is running

    monkeypatch.setattr(provider, "record_status", record_status)
    monkeypatch.setattr(runs, "recover_stuck_runs", lambda: 0)
    monkeypatch.setattr(WakeableWorker, "run", stopped_by_sigterm)
    with pytest.raises(SystemExit):
        call_command("run_worker", housekeeping=3600)
    status = RunnerStatus.current()
    assert not status.is_up() and status.stopped
    assert not list(wakeups.iterdir())  # its wake-up socket is gone too


def test_a_queued_run_with_no_worker_says_so_and_polls_every_10_seconds(
    client, line, django_assert_num_queries
):
    client.post(f"/run/line/{line.pk}/", **HX)
    run = Run.objects.get()
    url = f"/runs/{run.pk}/"
    response = client.get(url, {"origin": "yours", "seen": "queued"}, **HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert NO_RUNNER in html and "Waiting for the runner" not in html
    assert 'hx-trigger="every 10s"' in html
    seen = seen_of(html)
    with django_assert_num_queries(1):  # the heartbeat comes with the run, in one query
        assert client.get(url, {"origin": "yours", "seen": seen}, **HX).status_code == 204

    # A worker starts: the next poll says the run waits for it, and polls every second again.
    RunnerStatus.objects.create(pk=1, available=True, checked_at=timezone.now())
    response = client.get(url, {"origin": "yours", "seen": seen}, **HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Waiting for the runner…" in html and NO_RUNNER not in html
    assert 'hx-trigger="every 1s"' in html


@pytest.mark.parametrize("how", ["stale", "stopped", "unavailable"])
def test_a_stale_stopped_or_unavailable_runner_is_no_worker(client, line, runner_up, how):
    client.post(f"/run/line/{line.pk}/", **HX)
    run = Run.objects.get()
    if how == "stale":
        runner_up.checked_at = timezone.now() - timedelta(days=1)
        runner_up.save()
    elif how == "stopped":
        RunnerStatus.record_stopped(worker="host:1")
    else:
        RunnerStatus.objects.filter(pk=1).update(available=False)
    html = client.get(f"/runs/{run.pk}/", **HX).content.decode()
    assert NO_RUNNER in html and 'hx-trigger="every 10s"' in html
    # The run's own page says so too.
    assert NO_RUNNER in client.get(f"/runs/{run.pk}/").content.decode()


def test_the_day_page_serves_no_queued_cell_to_readers(client, line, runner_up):
    client.post(f"/run/line/{line.pk}/", **HX)
    run = Run.objects.get()
    html = Client().get(DAY_URL).content.decode()
    assert f"/runs/{run.pk}/" not in html and "Waiting for the runner" not in html
    assert "every 1s" not in html.split('<main id="main"')[1].split("swarm-slot")[0]
