"""Limits per network address that dropping the visitor cookie does not reset (F3 of the
security review): live sandboxes (RUNNER_SANDBOXES_PER_ADDRESS) and runs in flight
(runs.PER_ADDRESS x RUNNER_MAX_IN_FLIGHT).

No engine: runs stay queued (on_commit callbacks do not run inside a test's transaction), and
the worker's side starts "sandboxes" that are rows only (``fake_engines``).
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from runner import provider, runs
from runner.models import Run, Sandbox
from runner.runs import RunRefused, Visitor, _address_sql, _rate_sql, request_runs
from talks.models import SnippetLine
from tests.factories import block_of
from tests.visitors import as_visitor

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}
HOME = "203.0.113.7"  # one client, many cookies
ELSEWHERE = "192.0.2.80"  # another reader
FAKE_HOST = "unix:///nonexistent/confnotes-fake-docker.sock"


@pytest.fixture(autouse=True)
def sandbox_mode(settings):
    settings.RUNNER_MODE = "sandbox"
    settings.RUNNER_SANDBOXES_PER_ADDRESS = 2
    settings.RUNNER_POOL_SIZE = 0


def key(n: int) -> str:
    return f"{n:024d}"


def client_from(address: str, visitor: str | None = None) -> Client:
    client = Client(REMOTE_ADDR=address)
    return as_visitor(client, visitor) if visitor else client


def live_sandbox(visitor: str, address: str | None, **fields) -> Sandbox:
    return Sandbox.objects.create(
        name=fields.pop("name", f"sbx-{visitor[-6:]}"),
        visitor=visitor,
        remote_addr=address,
        status=fields.pop("status", Sandbox.Status.READY),
        docker_host=FAKE_HOST,
        **fields,
    )


# -- the web process refuses the run (429) -----------------------------------------------------


def test_a_new_cookie_from_an_address_at_its_sandbox_cap_is_refused(line):
    live_sandbox(key(1), HOME)
    live_sandbox(key(2), HOME, status=Sandbox.Status.STARTING)  # starting counts: it is live
    response = client_from(HOME).post(f"/run/line/{line.pk}/", **HX)
    assert response.status_code == 429
    assert (
        "Your network address already has 2 sandboxes in use, the most one address may have at "
        "once (2), so no new sandbox can be started for you. Try again when one of them is "
        "reset or expires (idle ones after 30 minutes)."
    ) in response.content.decode()
    assert not Run.objects.exists()  # refused as a whole: nothing recorded, nothing counted
    # Another address is served, and so is a visitor of HOME who has a sandbox already.
    assert client_from(ELSEWHERE).post(f"/run/line/{line.pk}/", **HX).status_code == 200
    returning = client_from(HOME, key(1)).post(f"/run/line/{line.pk}/", **HX)
    assert returning.status_code == 200
    assert Run.objects.filter(visitor=key(1), status=Run.Status.QUEUED).count() == 1


def test_run_all_and_a_new_sandbox_are_refused_the_same_way(line):
    live_sandbox(key(1), HOME)
    live_sandbox(key(2), HOME)
    response = client_from(HOME).post(f"/run/snippet/{line.snippet_id}/", **HX)
    assert response.status_code == 429
    assert response["HX-Retarget"] == f"#snippet-{line.snippet_id}-notice"
    assert "Your network address already has 2 sandboxes in use" in response.content.decode()
    started = client_from(HOME).post("/sandbox/start/", {"nodes": "2"}, **HX)
    assert started.status_code == 429
    assert "Your network address already has 2 sandboxes in use" in started.content.decode()
    assert not Run.objects.exists()


def test_only_live_sandboxes_of_the_address_count(line):
    live_sandbox(key(1), HOME, status=Sandbox.Status.GONE)
    live_sandbox(key(2), HOME, status=Sandbox.Status.STOPPING)
    live_sandbox(key(3), HOME, status=Sandbox.Status.FAILED)
    live_sandbox(key(4), HOME)
    live_sandbox(key(5), ELSEWHERE)
    live_sandbox("", None)  # the warm pool's: no one's yet
    assert client_from(HOME).post(f"/run/line/{line.pk}/", **HX).status_code == 200


def test_the_sandbox_cap_needs_private_sandboxes(line, settings):
    live_sandbox(key(1), HOME)
    live_sandbox(key(2), HOME)
    settings.RUNNER_MODE = "shared"  # one engine for all: no sandbox is started for anyone
    assert client_from(HOME).post(f"/run/line/{line.pk}/", **HX).status_code == 200


# -- the worker holds the cap too (two cookies may queue before either has a sandbox) ----------


@pytest.fixture
def fake_engines(monkeypatch):
    """Sandboxes that are rows only: "started" at once, always answering, stopped at once."""

    def start(row: Sandbox) -> Sandbox:
        row.status, row.docker_host, row.engine_version = Sandbox.Status.READY, FAKE_HOST, "fake"
        row.save(update_fields=["status", "docker_host", "engine_version"])
        return row

    monkeypatch.setattr(provider, "_start", start)
    monkeypatch.setattr(provider, "_answers", lambda row: True)
    monkeypatch.setattr(provider.engines, "stop_sandbox", lambda name, base_dir: None)


def running(visitor: str, address: str | None, line: SnippetLine) -> Run:
    """The run of ``visitor`` the worker is carrying out (claimed), asked for from ``address``."""
    return Run.objects.create(
        snippet_line=line,
        visitor=visitor,
        remote_addr=address,
        line=line.command,
        argv=["docker", "service", "ls"],
        status=Run.Status.RUNNING,
    )


def test_the_worker_gives_an_address_no_more_sandboxes_than_its_cap(fake_engines, line):
    for n, address in [(1, HOME), (2, HOME), (3, HOME), (4, ELSEWHERE)]:
        running(key(n), address, line)
    first, second = provider.sandbox_for(key(1)), provider.sandbox_for(key(2))
    assert (first.remote_addr, second.remote_addr) == (HOME, HOME)
    with pytest.raises(provider.EngineUnavailable, match="already has 2 sandboxes in use"):
        provider.sandbox_for(key(3))
    assert not Sandbox.objects.filter(visitor=key(3)).exists()
    assert provider.sandbox_for(key(4)).remote_addr == ELSEWHERE
    assert provider.sandbox_for(key(1)).pk == first.pk  # a returning visitor keeps theirs
    provider.reset(key(1))  # one of HOME's is gone: the next visitor of HOME gets one
    assert provider.sandbox_for(key(3)).remote_addr == HOME


def test_a_pooled_sandbox_becomes_the_address_s_and_counts_for_it(fake_engines, line):
    pooled = live_sandbox("", None)
    running(key(1), HOME, line)
    running(key(2), HOME, line)
    running(key(3), HOME, line)
    live_sandbox(key(9), HOME)
    mine = provider.sandbox_for(key(1))
    assert mine.pk == pooled.pk
    pooled.refresh_from_db()
    assert (pooled.visitor, pooled.remote_addr) == (key(1), HOME)
    live_sandbox("", None, name="sbx-pool-2")
    with pytest.raises(provider.EngineUnavailable, match="already has 2 sandboxes in use"):
        provider.sandbox_for(key(2))  # not handed the pooled one either
    assert Sandbox.objects.get(name="sbx-pool-2").visitor == ""


def test_a_sandbox_asked_for_outside_a_run_has_no_address_and_no_cap(fake_engines, line):
    live_sandbox(key(1), HOME)
    live_sandbox(key(2), HOME)
    assert provider.sandbox_for(key(3)).remote_addr is None


def test_a_run_the_worker_cannot_give_a_sandbox_ends_saying_why(fake_engines, line):
    """Both were queued before either had a sandbox; the second finds the address full."""
    live_sandbox(key(1), HOME)
    live_sandbox(key(2), HOME)
    queued = Run.objects.create(
        snippet_line=line, visitor=key(3), remote_addr=HOME, line=line.command,
        argv=list(runs.decide(line.command, key(3)).argv),
    )  # fmt: skip
    runs.execute_runs([queued.pk])
    queued.refresh_from_db()
    assert queued.status == Run.Status.ENGINE_UNAVAILABLE
    assert queued.reason.startswith("Your network address already has 2 sandboxes in use")
    assert not Sandbox.objects.filter(visitor=key(3)).exists()


# -- runs in flight per address ----------------------------------------------------------------


def test_runs_in_flight_are_capped_per_address_across_cookies(line, settings):
    settings.RUNNER_MAX_IN_FLIGHT = 1  # so an address may have 3
    settings.RUNNER_SANDBOXES_PER_ADDRESS = 10
    for _ in range(3):  # three cookies of one client, one run each, all still queued
        assert client_from(HOME).post(f"/run/line/{line.pk}/", **HX).status_code == 200
    refused = client_from(HOME).post(f"/run/line/{line.pk}/", **HX)
    assert refused.status_code == 429
    assert (
        "Too many runs waiting or running from your network address (3, at most 3 at once); "
        "let them finish first."
    ) in refused.content.decode()
    assert client_from(ELSEWHERE).post(f"/run/line/{line.pk}/", **HX).status_code == 200
    Run.objects.filter(remote_addr=HOME).update(status=Run.Status.SUCCEEDED)
    assert client_from(HOME).post(f"/run/line/{line.pk}/", **HX).status_code == 200


def test_run_all_counts_its_lines_against_the_address_like_against_the_visitor(settings):
    """A block is one job: longer than the address's limit, it starts only when nothing from
    the address is in flight, as for a visitor's own limit (runs._over)."""
    settings.RUNNER_MAX_IN_FLIGHT = 2  # an address may have 6
    settings.RUNNER_SANDBOXES_PER_ADDRESS = 10
    lines = block_of(8)
    snippet = lines[0].snippet
    first = client_from(HOME).post(f"/run/snippet/{snippet.pk}/", **HX)
    assert first.status_code == 200 and Run.objects.filter(status=Run.Status.QUEUED).count() == 8
    again = client_from(HOME).post(f"/run/snippet/{snippet.pk}/", **HX)
    assert again.status_code == 429
    assert (
        "This block has 8 lines, more than the 6 runs one network address may have waiting at "
        "once, so Run all starts it only when none from your address is waiting or running; "
        "your address has 8 runs waiting or running. Let them finish, then press Run all again."
    ) in again.content.decode()
    one = client_from(HOME).post(f"/run/line/{lines[0].pk}/", **HX)
    assert one.status_code == 429 and "(8, at most 6 at once)" in one.content.decode()
    assert client_from(ELSEWHERE).post(f"/run/snippet/{snippet.pk}/", **HX).status_code == 200
    # Short blocks add up: 2 + 2 + 2 fit, the next 2 do not.
    Run.objects.update(status=Run.Status.SUCCEEDED)
    short = lines[:2]
    for n in range(1, 4):
        request_runs(lines=short, visitor=Visitor(key=key(n), user_id=None, remote_addr=HOME))
    with pytest.raises(RunRefused, match=r"from your network address \(6, at most 6 at once\)"):
        request_runs(lines=short, visitor=Visitor(key=key(9), user_id=None, remote_addr=HOME))


def test_a_visitor_without_an_address_is_held_by_their_own_limits(line, settings):
    settings.RUNNER_MAX_IN_FLIGHT = 1
    live_sandbox(key(1), None)
    live_sandbox(key(2), None)
    for n in range(3, 7):
        request_runs(lines=[line], visitor=Visitor(key=key(n), user_id=None, remote_addr=None))
    with pytest.raises(RunRefused, match="You already have 1 run waiting or running"):
        request_runs(lines=[line], visitor=Visitor(key=key(3), user_id=None, remote_addr=None))


def test_the_address_counts_read_index_ranges(db):
    """They cost the same however many runs and sandboxes an address had before."""
    if connection.vendor != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's; the same indexes serve PostgreSQL")
    connection.ensure_connection()
    sql = (_rate_sql(connection.alias) + _address_sql(connection.alias)).replace("%s", "?")
    plan = connection.connection.execute(f"EXPLAIN QUERY PLAN {sql}", [""] * 16).fetchall()
    reads = [detail for *_, detail in plan if "runner_run" in detail or "runner_sandbox" in detail]
    assert len(reads) == 6, plan
    assert all(" USING " in detail and "INDEX" in detail for detail in reads), plan
    indexes = {detail.split(" INDEX ")[1].split()[0] for detail in reads}
    assert {"run_net_status", "sandbox_net_status"} <= indexes, plan


def test_pressing_run_still_costs_one_query_for_all_the_limits(
    client, line, django_assert_num_queries, django_capture_on_commit_callbacks
):
    client.post(f"/run/line/{line.pk}/", **HX)
    Run.objects.update(status=Run.Status.SUCCEEDED)
    # line, every limit's counts in one, the run (savepoint, insert, release); on PostgreSQL
    # the lock that makes counting and writing one step (runs._one_request_at_a_time)
    queries = 5 + (connection.vendor == "postgresql")
    with django_assert_num_queries(queries), django_capture_on_commit_callbacks(execute=False):
        assert client.post(f"/run/line/{line.pk}/", **HX).status_code == 200


def slowed(module, name: str, monkeypatch) -> None:
    """``module.name`` pauses half a second after counting, which widens the window a race
    between two callers needs."""
    import time

    counted = getattr(module, name)

    def slow(*args):
        counted(*args)
        time.sleep(0.5)

    monkeypatch.setattr(module, name, slow)


def at_once(call, refusal: type[Exception]) -> list:
    """``call()`` in two threads released together; what each returned or the ``refusal``
    it raised."""
    import threading

    from django.db import connections

    barrier, outcomes = threading.Barrier(2), []

    def one() -> None:
        try:
            barrier.wait()
            outcomes.append(call())
        except refusal as refused:
            outcomes.append(refused)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_two_workers_reserving_at_once_keep_to_the_cap(settings, monkeypatch):
    """Both count the address's live sandboxes (1 of 2) at the same moment: without one
    reservation at a time (an advisory lock on PostgreSQL, IMMEDIATE transactions on SQLite)
    both would add one."""
    Sandbox.objects.create(name="sbx-first", visitor=key(1), remote_addr=HOME)
    slowed(provider, "_check_address", monkeypatch)
    visitors = iter([key(2), key(3)])
    outcomes = at_once(
        lambda: provider._reserve(next(visitors), 1, HOME), provider.EngineUnavailable
    )
    refused = [o for o in outcomes if isinstance(o, provider.EngineUnavailable)]
    assert len(outcomes) == 2 and len(refused) == 1, outcomes
    assert Sandbox.objects.filter(remote_addr=HOME).count() == 2


@pytest.mark.django_db(transaction=True)
def test_requests_arriving_at_once_keep_to_the_in_flight_limit(settings, monkeypatch):
    """Both count the visitor's runs in flight (0 of 1) at the same moment: counted outside
    the transaction that adds the run, both went in (a tester got 18 of 20 in, limit 8)."""
    settings.RUNNER_MAX_IN_FLIGHT = 1
    # Queued, not carried out: the immediate backend would start a sandbox at commit.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    (line,) = block_of(1)
    slowed(runs, "_check_rate", monkeypatch)
    visitor = Visitor(key=key(1), user_id=None, remote_addr=HOME)
    outcomes = at_once(lambda: request_runs(lines=[line], visitor=visitor), RunRefused)
    refused = [o for o in outcomes if isinstance(o, RunRefused)]
    assert len(outcomes) == 2 and len(refused) == 1, outcomes
    assert Run.objects.filter(visitor=key(1)).count() == 1


# -- an IPv6 client holds a /64: its addresses count as one ------------------------------------

V6_HOME = "2001:db8:7:1::10"
V6_SAME_NETWORK = "2001:db8:7:1:a9c1:44ff:fe01:2"  # a privacy address of the same client
V6_NEIGHBOUR = "2001:db8:7:2::10"  # the next /64: someone else


def test_an_ipv6_client_drawing_new_addresses_from_its_64_meets_the_same_cap(line):
    live_sandbox(key(1), V6_HOME)
    live_sandbox(key(2), "2001:db8:7:1::11")
    assert Sandbox.objects.filter(client_net="2001:db8:7:1::/64").count() == 2
    response = client_from(V6_SAME_NETWORK).post(f"/run/line/{line.pk}/", **HX)
    assert response.status_code == 429
    assert "already has 2 sandboxes in use" in response.content.decode()
    assert client_from(V6_NEIGHBOUR).post(f"/run/line/{line.pk}/", **HX).status_code == 200
    run = Run.objects.get()
    assert (run.remote_addr, run.client_net) == (V6_NEIGHBOUR, "2001:db8:7:2::/64")


def test_runs_in_flight_count_across_an_ipv6_clients_addresses(line, settings):
    settings.RUNNER_MAX_IN_FLIGHT = 1  # 3 from one address (one /64) at once
    for n in range(3):
        address = f"2001:db8:7:1::{n + 20:x}"
        assert client_from(address).post(f"/run/line/{line.pk}/", **HX).status_code == 200
    refused = client_from("2001:db8:7:1::99").post(f"/run/line/{line.pk}/", **HX)
    assert refused.status_code == 429
    assert "from your network address" in refused.content.decode()
    assert set(Run.objects.values_list("client_net", flat=True)) == {"2001:db8:7:1::/64"}


def test_the_worker_counts_an_ipv6_clients_64_too(fake_engines, line):
    for n, address in [(1, V6_HOME), (2, "2001:db8:7:1::11"), (3, V6_SAME_NETWORK)]:
        running(key(n), address, line)
    provider.sandbox_for(key(1)), provider.sandbox_for(key(2))
    with pytest.raises(provider.EngineUnavailable, match="already has 2 sandboxes in use"):
        provider.sandbox_for(key(3))


def test_a_sandbox_handed_over_keeps_client_net_in_step(fake_engines, line):
    box = live_sandbox("", None)
    assert box.client_net is None
    box.remote_addr = V6_HOME
    box.save(update_fields=["remote_addr"])
    box.refresh_from_db()
    assert box.client_net == "2001:db8:7:1::/64"


def test_the_migration_fills_client_net_of_rows_written_before(line):
    import importlib

    from django.apps import apps
    from django.db import connection as default_connection

    migration = importlib.import_module("runner.migrations.0006_client_net")
    rows = [  # each model with an IPv6 address (batches), an IPv4 one (one UPDATE) and none
        running(key(1), V6_HOME, line),
        running(key(2), HOME, line),
        running(key(3), None, line),
        live_sandbox(key(4), "2001:db8:9::1"),
        live_sandbox(key(5), "198.51.100.20"),
        live_sandbox("", None, name="sbx-pooled"),
    ]
    Run.objects.update(client_net=None)
    Sandbox.objects.update(client_net=None)

    class Editor:
        connection = default_connection

    migration.fill_client_net(apps, Editor())
    for row in rows:
        row.refresh_from_db()
    assert [row.client_net for row in rows] == [
        "2001:db8:7:1::/64",
        HOME,
        None,
        "2001:db8:9::/64",
        "198.51.100.20",
        None,
    ]
