"""run_worker's options: a bad value is a usage error before anything starts, not a traceback
from deep inside the worker loop."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from runner import provider, runs
from runner.models import RunnerStatus
from runner.worker import WakeableWorker
from tests.commands import manage

BAD_SECONDS = ["-1", "0", "-0.5", "nan", "inf", "-inf", "x", "", "1e10"]


@pytest.mark.parametrize("option", ["--interval", "--housekeeping"])
def test_a_negative_number_of_seconds_is_a_usage_error_from_the_command_line(option, tmp_path):
    done = manage("run_worker", option, "-1", var_dir=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last == (
        f"manage.py run_worker: error: argument {option}: must be a positive number of "
        "seconds, at most 86400 (not '-1')"
    )


@pytest.mark.parametrize("option", ["--interval", "--housekeeping"])
@pytest.mark.parametrize("value", BAD_SECONDS)
def test_every_unusable_number_of_seconds_is_refused_by_the_parser(option, value):
    with pytest.raises(CommandError, match=rf"argument {option}: must be a positive number"):
        call_command("run_worker", f"{option}={value}")  # "=": "-inf" would look like an option


@pytest.mark.parametrize("option", ["interval", "housekeeping"])
@pytest.mark.parametrize("value", [-1, 0, float("nan"), float("inf"), 10**10, "soon"])
def test_keywords_given_to_call_command_are_checked_too(option, value):
    with pytest.raises(CommandError) as caught:
        call_command("run_worker", **{option: value})
    assert str(caught.value) == (
        f"--{option} must be a positive number of seconds, at most 86400 (not {value!r})"
    )


def test_help_names_both_options_with_their_defaults(tmp_path):
    done = manage("run_worker", "--help", var_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert "--interval SECONDS Seconds between queue polls" in text
    assert "(default: 0.5)" in text
    assert "--housekeeping SECONDS Seconds between housekeeping rounds" in text
    assert "(default: 30)" in text


@pytest.fixture
def stopped_at_once(tmp_path, settings, monkeypatch):
    """run_worker with its start-up stubbed and its loop ended at once, as SIGTERM ends it."""
    settings.RUNNER_WAKEUP_DIR = tmp_path / "wakeup"
    settings.RUNNER_WAKEUP_DIR.mkdir()
    seen = {}

    def record_status() -> RunnerStatus:
        return RunnerStatus.objects.update_or_create(pk=1, defaults={"available": True})[0]

    def stop(self) -> None:
        seen["interval"] = self.interval
        raise SystemExit(0)

    monkeypatch.setattr(provider, "record_status", record_status)
    monkeypatch.setattr(runs, "recover_stuck_runs", lambda: 0)
    monkeypatch.setattr(WakeableWorker, "run", stop)
    return seen


@pytest.mark.django_db
def test_good_values_reach_the_worker(stopped_at_once, capsys):
    with pytest.raises(SystemExit):
        call_command("run_worker", "--interval", "0.25", "--housekeeping", "60")
    assert stopped_at_once["interval"] == 0.25
    assert "Warning" not in capsys.readouterr().err


@pytest.mark.django_db
def test_housekeeping_slower_than_the_heartbeat_goes_stale_is_warned_about(
    stopped_at_once, settings, capsys
):
    settings.RUNNER_HEARTBEAT_STALE = 180
    with pytest.raises(SystemExit):
        call_command("run_worker", "--housekeeping", "180")
    err = capsys.readouterr().err
    assert "Warning: --housekeeping 180 is not under RUNNER_HEARTBEAT_STALE (180 s)" in err
