"""bench/bench_load.py drives the site as a browser would and reads the run cells it gets back.
If the cells' markup moves on without it, every visitor's second line looks unfinished and the
bench reports engine failures that are not there (it did: the cell's poll URL grew ?origin=).
These read real cells, as the site renders them now."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from runner.models import Run

BENCH = Path(__file__).resolve().parents[2] / "bench"
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(scope="module")
def bench_load():
    sys.path.insert(0, str(BENCH))
    try:
        return importlib.import_module("bench_load")
    finally:
        sys.path.remove(str(BENCH))


def test_it_reads_the_run_id_and_status_of_a_queued_cell_and_of_a_finished_one(
    client, line, runner_up, bench_load
):
    posted = client.post(f"/run/line/{line.pk}/", **HX)
    assert posted.status_code == 200
    body = posted.content.decode()
    run = Run.objects.get()
    assert bench_load._run_id(body) == run.pk
    assert bench_load._status(body) == "queued"
    Run.objects.filter(pk=run.pk).update(status=Run.Status.SUCCEEDED, exit_code=0)
    polled = client.get(f"/runs/{run.pk}/", **HX)
    assert polled.status_code == 286  # what the bench waits for
    assert bench_load._status(polled.content.decode()) == "succeeded"
