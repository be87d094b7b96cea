"""Run buttons, refusals, limits, polling and history, through the web endpoints.

These need no engine: refused lines and unavailable engines never reach one. The real engine
journeys are in tests/integration/test_runner_journey.py.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.utils import timezone

from runner.models import Run, RunnerStatus, Sandbox
from runner.runs import RunRefused, Visitor, _rate_sql, recover_stuck_runs, request_runs
from talks.models import Snippet, SnippetLine

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def bad_line(demo_day):
    snippet = Snippet.objects.get()
    return SnippetLine.objects.create(snippet=snippet, position=9, command="docker run -it alpine")


def test_it_refuses_a_disallowed_line_with_its_reason_and_records_it(client, bad_line):
    response = client.post(f"/run/line/{bad_line.pk}/", **HX)
    assert response.status_code == 200
    run = Run.objects.get()
    assert run.status == Run.Status.REFUSED
    assert run.argv == []
    assert "`docker run` is not allowed here" in run.reason
    # The reason's `backticks` show as code, in the cell as in the history.
    assert "<code>docker run</code> is not allowed here" in response.content.decode()
    assert run.finished_at is not None and run.visitor


def test_it_runs_nothing_when_the_engine_is_off(
    client, line, settings, django_capture_on_commit_callbacks
):
    settings.RUNNER_MODE = "off"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/run/line/{line.pk}/", **HX)
    assert response.status_code == 200
    run = Run.objects.get()
    assert run.status == Run.Status.ENGINE_UNAVAILABLE
    assert run.reason == "Running commands is switched off on this site."
    assert run.argv == ["docker", "service", "ls"]


def test_it_needs_the_csrf_token(line):
    client = Client(enforce_csrf_checks=True)
    response = client.post(f"/run/line/{line.pk}/", **HX)
    assert response.status_code == 403
    assert not Run.objects.exists()


def test_it_only_accepts_post(client, line):
    assert client.get(f"/run/line/{line.pk}/").status_code == 405


def test_it_404s_for_an_unknown_line(client, demo_day):
    for headers in (HX, {}):  # the cell's message with htmx, a page without
        response = client.post("/run/line/999999/", **headers)
        assert response.status_code == 404
        assert "There is no such command line" in response.content.decode()
    assert not Run.objects.exists()


def test_it_rate_limits_each_visitor_with_429(client, line, settings):
    settings.RUNNER_RATE_PER_MINUTE = 2
    settings.RUNNER_MODE = "off"
    for _ in range(2):
        assert client.post(f"/run/line/{line.pk}/", **HX).status_code == 200
    response = client.post(f"/run/line/{line.pk}/", **HX)
    assert response.status_code == 429
    assert "Too many runs: at most 2 a minute per visitor." in response.content.decode()
    assert Run.objects.count() == 2
    other = Client()
    assert other.post(f"/run/line/{line.pk}/", **HX).status_code == 200


def test_it_limits_runs_in_flight(client, line, settings):
    settings.RUNNER_MAX_IN_FLIGHT = 1
    client.post(f"/run/line/{line.pk}/", **HX)  # stays queued: nothing executes on_commit here
    response = client.post(f"/run/line/{line.pk}/", **HX)
    assert response.status_code == 429
    assert "You already have 1 run waiting or running" in response.content.decode()


def test_it_asks_anonymous_visitors_to_log_in_when_anonymous_running_is_off(
    client, line, settings, plain_user
):
    settings.RUNNER_ANONYMOUS = False
    response = client.post(f"/run/line/{line.pk}/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    response = client.post(f"/run/line/{line.pk}/", **HX)
    assert response.status_code == 403
    assert "Log in to run commands." in response.content.decode()
    client.force_login(plain_user)
    response = client.post(f"/run/line/{line.pk}/", **HX)
    assert response.status_code == 403
    assert "Your account may not run commands" in response.content.decode()
    plain_user.user_permissions.add(Permission.objects.get(codename="execute_run"))
    client.force_login(plain_user)
    assert client.post(f"/run/line/{line.pk}/", **HX).status_code == 200
    assert Run.objects.get().user == plain_user


def test_without_javascript_it_redirects_to_the_runs_own_page(client, line):
    # The day page is the same for every reader and shows finished runs only.
    response = client.post(f"/run/line/{line.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/runs/{Run.objects.get().pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "Reload the page to see how it ends." in page
    assert f'href="/c/dockercon-2016/day-1/#line-{line.pk}"' in page  # and back to the notes


def test_it_polls_a_run_until_it_finishes(client, line, runner_up):
    client.post(f"/run/line/{line.pk}/", **HX)
    run = Run.objects.get()
    response = client.get(f"/runs/{run.pk}/", **HX)
    assert response.status_code == 200
    assert 'hx-trigger="every 1s"' in response.content.decode()
    assert "Waiting for the runner" in response.content.decode()
    started = run.created_at + timedelta(seconds=3)
    Run.objects.filter(pk=run.pk).update(
        status=Run.Status.SUCCEEDED,
        exit_code=0,
        stdout="ID NAME <b>x</b>",
        engine_version="20.10.24",
        started_at=started,
        finished_at=started + timedelta(seconds=1),
    )
    response = client.get(f"/runs/{run.pk}/", **HX)
    assert response.status_code == 286
    html = response.content.decode()
    assert "hx-trigger" not in html
    assert "exit code 0" in html and "Docker Engine 20.10.24" in html
    # When it ran, as a time that stays true while the cell sits on the page (not "a minute ago")
    when = timezone.localtime(started)
    assert f">{when:%-d %b %Y, %H:%M:%S} UTC</time>" in html
    assert "ID NAME &lt;b&gt;x&lt;/b&gt;" in html


def test_it_shows_the_executed_argv_one_whole_argument_at_a_time(client, line):
    argv = ["docker", "service", "create", "--container-label", "a=b c", "--name", "<x>"]
    run = Run.objects.create(
        snippet_line=line,
        visitor="v",
        line=line.command,
        argv=argv,
        status=Run.Status.FAILED,
        exit_code=1,
    )
    html = client.get(f"/runs/{run.pk}/", **HX).content.decode()
    shown = re.search(r'<p class="run-argv">Executed: <code>(.*?)</code></p>', html).group(1)
    args = re.findall(r'<span class="arg">(.*?)</span>', shown)
    # Each argument in a span of its own (kept whole on a line), quoted as typed, escaped;
    # the text reads (and copies) as the shell line.
    assert args == [
        "docker",
        "service",
        "create",
        "--container-label",
        "&#x27;a=b c&#x27;",
        "--name",
        "&#x27;&lt;x&gt;&#x27;",
    ]
    assert re.sub(r"<[^>]+>", "", shown) == " ".join(args)


@pytest.mark.parametrize(
    ("status", "exit_code", "label"),
    [
        (Run.Status.QUEUED, None, "Runs as"),
        (Run.Status.RUNNING, None, "Runs as"),
        (Run.Status.SUCCEEDED, 0, "Executed"),
        (Run.Status.TIMED_OUT, None, "Executed"),
        (Run.Status.ENGINE_UNAVAILABLE, None, "Command"),
        (Run.Status.SKIPPED, None, None),
    ],
)
def test_it_says_executed_only_of_a_command_that_ran(client, line, status, exit_code, label):
    run = Run.objects.create(
        snippet_line=line,
        visitor="v",
        line="docker service tasks vote",
        argv=["docker", "service", "ps", "vote"],
        note="It runs as `docker service ps vote`.",
        reason="Skipped: an earlier line of this block did not succeed." if label is None else "",
        status=status,
        exit_code=exit_code,
    )
    html = client.get(f"/runs/{run.pk}/", **HX).content.decode()
    if label is None:  # a skipped line never ran: no argv, no note about how it ran
        assert "run-argv" not in html and "run-note" not in html
        assert "Skipped: an earlier line" in html
    else:
        assert f'<p class="run-argv">{label}: <code>' in html
        assert "<code>docker service ps vote</code>" in html


def test_it_shows_a_run_page_without_htmx(client, line):
    client.post(f"/run/line/{line.pk}/", **HX)
    response = client.get(f"/runs/{Run.objects.get().pk}/")
    assert response.status_code == 200
    assert "<h1>Run #" in response.content.decode()


def test_it_runs_a_whole_block_in_order_with_out_of_band_cells(client, demo_day, settings):
    snippet = Snippet.objects.get()
    response = client.post(f"/run/snippet/{snippet.pk}/", **HX)
    assert response.status_code == 200
    runs = list(Run.objects.order_by("pk"))
    assert [r.line for r in runs] == list(snippet.lines.values_list("command", flat=True))
    assert len({r.batch for r in runs}) == 1 and runs[0].batch
    html = response.content.decode()
    for run in runs:
        assert f'id="line-{run.snippet_line_id}-output" hx-swap-oob="innerHTML"' in html


def test_it_shows_the_last_output_to_every_reader(client, line, runner_up):
    Run.objects.create(
        snippet_line=line,
        visitor="someone",
        line=line.command,
        argv=["docker", "service", "ls"],
        status=Run.Status.SUCCEEDED,
        exit_code=0,
        stdout="ID   NAME   MODE   REPLICAS",
        engine_version="20.10.24",
        started_at=timezone.now() - timedelta(seconds=1),
        finished_at=timezone.now(),
    )
    html = Client().get("/c/dockercon-2016/day-1/").content.decode()
    assert "ID   NAME   MODE   REPLICAS" in html
    assert "Docker Engine 20.10.24" in html
    assert f'hx-post="/run/line/{line.pk}/"' in html
    assert '<span class="run-origin">Last run by a reader</span>' in html  # not this reader's


def test_it_labels_a_visitors_own_run_while_it_polls(client, line):
    html = client.post(f"/run/line/{line.pk}/", **HX).content.decode()
    run = Run.objects.get()
    assert '<span class="run-origin">Your run</span>' in html
    assert f'hx-get="/runs/{run.pk}/?origin=yours"' in html
    polled = client.get(f"/runs/{run.pk}/", {"origin": "yours"}, **HX).content.decode()
    assert '<span class="run-origin">Your run</span>' in polled
    other = client.get(f"/runs/{run.pk}/", {"origin": "<b>x</b>"}, **HX).content.decode()
    assert "run-origin" not in other and "<b>x</b>" not in other


def test_it_explains_how_to_enable_running_when_no_worker_runs(client, line):
    html = client.get("/c/dockercon-2016/day-1/").content.decode()
    assert "No runner worker is running" in html
    assert "/run/line/" not in html


def test_it_explains_why_the_engine_is_unavailable(client, line):
    RunnerStatus.objects.create(
        available=False, explanation="Sandboxes are unavailable: the worker is not root."
    )
    html = client.get("/c/dockercon-2016/day-1/").content.decode()
    assert "Sandboxes are unavailable: the worker is not root." in html
    assert "/run/line/" not in html


def test_it_treats_a_stale_heartbeat_as_no_worker(client, line, runner_up):
    RunnerStatus.objects.update(checked_at=timezone.now() - timedelta(hours=1))
    html = client.get("/c/dockercon-2016/day-1/").content.decode()
    assert "No runner worker is running" in html


def test_it_shows_the_run_history_of_a_block(client, line):
    snippet = line.snippet
    response = client.get(f"/snippets/{snippet.pk}/history/")
    assert response.status_code == 200
    assert "Nobody has run these lines yet." in response.content.decode()
    Run.objects.create(
        snippet_line=line, visitor="abcdef123", line=line.command, status=Run.Status.FAILED,
        exit_code=1, stderr="boom", started_at=timezone.now(), finished_at=timezone.now(),
    )  # fmt: skip
    html = client.get(f"/snippets/{snippet.pk}/history/").content.decode()
    assert "visitor abcdef" in html and "Failed" in html and "boom" in html


def test_it_closes_runs_left_running_by_a_dead_worker(line):
    stuck = Run.objects.create(
        snippet_line=line, visitor="v", line=line.command, status=Run.Status.RUNNING,
        worker=f"{__import__('socket').gethostname()}:999999", started_at=timezone.now(),
        batch="b1",
    )  # fmt: skip
    after = Run.objects.create(snippet_line=line, visitor="v", line=line.command, batch="b1")
    assert recover_stuck_runs() == 1
    stuck.refresh_from_db()
    after.refresh_from_db()
    assert stuck.status == Run.Status.ERROR
    assert "The worker stopped while this run was in flight" in stuck.reason
    assert after.status == Run.Status.SKIPPED


def test_it_resets_only_with_a_post(client, demo_day):
    assert client.get("/sandbox/reset/").status_code == 405
    response = client.post("/sandbox/reset/", **HX)
    assert response.status_code == 200
    assert "You have no sandbox yet" in response.content.decode()
    assert not Sandbox.objects.exists()


def test_a_reset_without_javascript_says_what_happened_and_links_back(demo_day, line):
    client = Client(enforce_csrf_checks=True)
    day = line.snippet.talk.day.get_absolute_url()
    html = client.get(
        "/run/confirm/", {"action": "/sandbox/reset/"}, HTTP_REFERER=f"http://testserver{day}"
    ).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    assert f'<input type="hidden" name="next" value="http://testserver{day}">' in html
    response = client.post(
        "/sandbox/reset/",
        {"csrfmiddlewaretoken": token, "next": f"http://testserver{day}"},
        HTTP_REFERER="http://testserver/run/confirm/?action=/sandbox/reset/",
    )
    assert response.status_code == 200  # not back to the question, as if nothing happened
    html = response.content.decode()
    assert '<p class="notice" role="alert">You have no sandbox yet' in html
    assert f'<a href="http://testserver{day}">Back</a>' in html
    evil = client.post(
        "/sandbox/reset/", {"csrfmiddlewaretoken": token, "next": "https://evil.example/"}
    )
    assert "evil.example" not in evil.content.decode()


def test_it_shows_the_audit_trail_to_staff_read_only(staff_client, line):
    Run.objects.create(snippet_line=line, visitor="v1", line=line.command, remote_addr="127.0.0.1")
    response = staff_client.get("/admin/runner/run/")
    assert response.status_code == 200
    assert "docker service ls" in response.content.decode()
    run = Run.objects.get()
    assert (
        staff_client.post(f"/admin/runner/run/{run.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    assert Run.objects.filter(pk=run.pk).exists()
    assert staff_client.get("/admin/runner/run/add/").status_code == 403
    assert staff_client.get("/admin/admin/logentry/").status_code == 200


def test_only_recent_runs_count_against_the_rate_but_every_run_in_flight_does(line, settings):
    settings.RUNNER_RATE_PER_MINUTE = 1
    settings.RUNNER_MAX_IN_FLIGHT = 1
    visitor = Visitor(key="r" * 24, user_id=None, remote_addr="192.0.2.9")
    long_ago = timezone.now() - timedelta(minutes=5)
    for _ in range(3):  # finished long ago: neither recent nor in flight
        Run.objects.create(
            snippet_line=line,
            visitor=visitor.key,
            remote_addr=visitor.remote_addr,
            line=line.command,
            created_at=long_ago,
            status=Run.Status.SUCCEEDED,
        )
    (queued,) = request_runs(lines=[line], visitor=visitor)  # stays queued (no on_commit here)
    with pytest.raises(RunRefused, match="at most 1 a minute per visitor"):
        request_runs(lines=[line], visitor=visitor)
    Run.objects.filter(pk=queued.pk).update(created_at=long_ago)  # old, but still in flight
    with pytest.raises(RunRefused, match="You already have 1 run waiting or running"):
        request_runs(lines=[line], visitor=visitor)
    Run.objects.filter(pk=queued.pk).update(status=Run.Status.SUCCEEDED)
    assert request_runs(lines=[line], visitor=visitor)[0].status == Run.Status.QUEUED


def test_the_rate_check_reads_index_ranges_not_a_visitors_whole_history(db):
    """Its cost must not grow with the runs a visitor or an address made before."""
    if connection.vendor != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's; the same indexes serve PostgreSQL")
    connection.ensure_connection()
    sql = _rate_sql(connection.alias).replace("%s", "?")
    plan = connection.connection.execute(f"EXPLAIN QUERY PLAN {sql}", [""] * 7).fetchall()
    reads = [detail for *_, detail in plan if "runner_run" in detail]
    assert len(reads) == 3, plan
    assert all(detail.startswith("SEARCH runner_run USING") for detail in reads), plan
    assert {detail.split(" INDEX ")[1].split()[0] for detail in reads} == {
        "run_visitor_recent",
        "run_net_recent",
        "run_visitor_status",
    }


def test_it_limits_runs_from_one_network_address_across_visitors(line, settings):
    settings.RUNNER_RATE_PER_MINUTE = 1
    settings.RUNNER_MODE = "off"
    for _ in range(3):  # three visitors behind one address: three times a visitor's limit
        assert Client().post(f"/run/line/{line.pk}/", **HX).status_code == 200
    response = Client().post(f"/run/line/{line.pk}/", **HX)
    assert response.status_code == 429
    assert "Too many runs from your network address" in response.content.decode()
    elsewhere = Client(REMOTE_ADDR="192.0.2.7").post(f"/run/line/{line.pk}/", **HX)
    assert elsewhere.status_code == 200


def test_a_visitor_without_an_address_is_limited_by_their_own_runs(line, settings):
    settings.RUNNER_RATE_PER_MINUTE = 1
    visitor = Visitor(key="k" * 32, user_id=None, remote_addr=None)
    request_runs(lines=[line], visitor=visitor)
    with pytest.raises(RunRefused, match="at most 1 a minute per visitor"):
        request_runs(lines=[line], visitor=visitor)


def test_without_javascript_run_opens_a_confirmation_that_runs_it(demo_day, line, runner_up):
    client = Client(enforce_csrf_checks=True)
    day_page = client.get(demo_day.get_absolute_url()).content.decode()
    run_form = f'<form method="get" action="/run/confirm/" hx-post="/run/line/{line.pk}/"'
    assert run_form in day_page  # no token in the page; htmx posts, a plain submit GETs
    response = client.get("/run/confirm/", {"action": f"/run/line/{line.pk}/"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Run this command?" in html and "$ docker service ls" in html
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    assert f'<form method="post" action="/run/line/{line.pk}/">' in html
    posted = client.post(f"/run/line/{line.pk}/", {"csrfmiddlewaretoken": token})
    assert posted.status_code == 302 and Run.objects.get().line == "docker service ls"


@pytest.mark.parametrize(
    ("action", "heading"),
    [
        ("/run/snippet/{snippet}/", "Run these commands?"),
        ("/sandbox/reset/", "Reset your sandbox?"),
    ],
)
def test_the_confirmation_says_what_run_all_and_reset_do(client, line, action, heading):
    url = action.format(snippet=line.snippet_id)
    html = client.get("/run/confirm/", {"action": url}).content.decode()
    assert heading in html and f'action="{url}"' in html


@pytest.mark.parametrize(
    "action", ["", "/admin/", "https://evil.example/run/line/1/", "/run/line/999999/", "/nope/"]
)
def test_the_confirmation_refuses_anything_but_our_run_buttons(client, demo_day, action):
    response = client.get("/run/confirm/", {"action": action})
    assert response.status_code == 404
    assert "evil.example" not in response.content.decode()


def test_a_run_and_its_queued_task_are_written_together(line, settings):
    from django.db import transaction
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    visitor = Visitor(key="v" * 24, user_id=None, remote_addr="192.0.2.1")
    with pytest.raises(RuntimeError), transaction.atomic():
        request_runs(lines=[line], visitor=visitor)
        raise RuntimeError("the request fails after the run was recorded")
    assert not Run.objects.exists() and not DBTaskResult.objects.exists()
    [run] = request_runs(lines=[line], visitor=visitor)
    task = DBTaskResult.objects.get()
    assert task.args_kwargs["kwargs"] == {"run_ids": [run.pk]}


def test_it_lets_the_keyboard_scroll_every_code_block(client, line):
    """Commands and outputs may be wider than a phone: each <pre> is focusable and named, with
    a role (a group; a region where a landmark is wanted)."""
    Run.objects.create(
        snippet_line=line, visitor="abcdef123", line=line.command, status=Run.Status.FAILED,
        exit_code=1, stdout="out", stderr="boom", finished_at=timezone.now(),
    )  # fmt: skip
    pages = [
        f"/snippets/{line.snippet.pk}/history/",
        f"/runs/{Run.objects.get().pk}/",
        f"/run/confirm/?action=/run/line/{line.pk}/",
    ]
    for url in pages:
        blocks = re.findall(r"<pre[^>]*>", client.get(url).content.decode())
        assert blocks, url
        for block in blocks:
            named = re.search(r'tabindex="0" role="(group|region)" aria-label="', block)
            assert named, (url, block)


def test_a_visitors_runs_are_claimed_in_the_order_asked_for(line, monkeypatch):
    """With several workers, a run waits while an earlier run of the same visitor is in
    flight; other visitors' runs do not wait for it."""
    from runner import runs

    def make(visitor: str, status: str) -> Run:
        return Run.objects.create(snippet_line=line, visitor=visitor, line=line.command,
                                  status=status)  # fmt: skip

    earlier, later = make("v" * 24, Run.Status.RUNNING), make("v" * 24, Run.Status.QUEUED)
    other = make("w" * 24, Run.Status.QUEUED)
    assert runs._claim_queued(later.pk, None) is None  # not its turn
    assert runs._claim_queued(other.pk, None).status == Run.Status.RUNNING
    waited = []

    def the_earlier_run_ends(seconds: float) -> None:
        waited.append(seconds)
        Run.objects.filter(pk=earlier.pk).update(status=Run.Status.SUCCEEDED)

    monkeypatch.setattr(runs.time, "sleep", the_earlier_run_ends)
    assert runs._wait_for_turn(later.pk) is True and waited == [runs.TURN_POLL_SECONDS]
    claimed = runs._claim_queued(later.pk, None)
    assert claimed.pk == later.pk and claimed.status == Run.Status.RUNNING
    assert runs._wait_for_turn(later.pk) is False  # taken: nothing to wait for


def test_a_run_closed_while_it_waits_for_its_turn_is_left_alone(line, monkeypatch):
    from runner import runs

    earlier = Run.objects.create(
        snippet_line=line, visitor="v" * 24, line=line.command, status=Run.Status.RUNNING
    )
    later = Run.objects.create(
        snippet_line=line, visitor="v" * 24, line=line.command, status=Run.Status.QUEUED
    )
    monkeypatch.setattr(
        runs.time,
        "sleep",
        lambda seconds: Run.objects.filter(pk=later.pk).update(status=Run.Status.ERROR),
    )
    assert runs._wait_for_turn(later.pk) is False
    assert Run.objects.get(pk=earlier.pk).status == Run.Status.RUNNING
