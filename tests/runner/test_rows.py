"""runner.rows builds the same instances as Model.objects.raw() from the same row."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from runner import rows
from runner.models import Run, Sandbox
from runner.tasks import execute_runs
from talks.models import SnippetLine

pytestmark = pytest.mark.django_db


def values(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def both_ways(model, pk) -> tuple:
    table = connection.ops.quote_name(model._meta.db_table)
    where = f" FROM {table} WHERE {connection.ops.quote_name(model._meta.pk.column)} = %s"
    pk = model._meta.pk.get_db_prep_value(pk, connection)  # a UUID is hex on SQLite
    fetched = rows.fetch(
        model, f"SELECT {rows.columns(model, DEFAULT_DB_ALIAS)}{where}", [pk], using="default"
    )
    raw = list(model.objects.raw(f"SELECT *{where}", [pk]))
    assert len(fetched) == len(raw) == 1
    return values(fetched[0]), values(raw[0]), fetched[0]


def test_a_run_with_every_kind_of_field(demo_day):
    now = timezone.now()
    box = Sandbox.objects.create(name="sbx-rows", visitor="a" * 24, docker_host="unix:///x")
    run = Run.objects.create(
        snippet_line=SnippetLine.objects.first(),
        sandbox=box,
        visitor="a" * 24,
        remote_addr="192.0.2.7",
        line="docker service ls",
        argv=["docker", "service", "ls"],
        status=Run.Status.SUCCEEDED,
        exit_code=0,
        stdout="ID  NAME\n",
        snapshot={"nodes": [{"id": "n1"}], "services": []},
        progress={"done": 6, "total": 6},
        created_at=now - timedelta(seconds=3),
        started_at=now - timedelta(seconds=2),
        finished_at=now,
    )
    fetched, raw, instance = both_ways(Run, run.pk)
    assert fetched == raw
    assert instance.finished_at == now and instance.finished_at.tzinfo is not None
    assert instance.argv == ["docker", "service", "ls"] and instance.snapshot["nodes"]
    assert not instance._state.adding and instance._state.db == "default"
    assert instance.duration == 2.0  # a model instance, with its methods


def test_a_sandbox(db):
    box = Sandbox.objects.create(name="sbx-rows", visitor="b" * 24, docker_host="unix:///y")
    fetched, raw, _ = both_ways(Sandbox, box.pk)
    assert fetched == raw


def test_a_task_result(db, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    result = execute_runs.enqueue(run_ids=[1, 2])
    fetched, raw, instance = both_ways(DBTaskResult, result.id)
    assert fetched == raw
    assert instance.args_kwargs["kwargs"] == {"run_ids": [1, 2]}


def test_nothing_found_is_an_empty_list(db):
    sql = f"SELECT {rows.columns(Sandbox, 'default')} FROM runner_sandbox WHERE 1 = 0"  # noqa: S608
    assert rows.fetch(Sandbox, sql, [], using="default") == []


def test_get_is_the_orms_row_by_primary_key(demo_day):
    line = SnippetLine.objects.order_by("pk").last()
    got = rows.get(SnippetLine, line.pk, using="default")
    assert values(got) == values(line)
    assert not got._state.adding and got.anchor == line.anchor


def test_get_takes_a_uuid_key(db, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    result = execute_runs.enqueue(run_ids=[3])
    got = rows.get(DBTaskResult, result.id, using="default")
    assert values(got) == values(DBTaskResult.objects.get(pk=result.id))


def test_get_finds_nothing_for_an_unknown_key(db):
    assert rows.get(Sandbox, 987654, using="default") is None


def test_get_is_one_query(demo_day, django_assert_num_queries):
    pk = SnippetLine.objects.values_list("pk", flat=True).first()
    with django_assert_num_queries(1):
        rows.get(SnippetLine, pk, using="default")


def test_insert_writes_the_row_save_would(demo_day):
    """The same fields, prepared the same way (JSON, an address, a time), read back equal."""
    line = SnippetLine.objects.first()
    now = timezone.now()

    def new_run() -> Run:
        return Run(
            snippet_line=line,
            visitor="c" * 24,
            remote_addr="2001:db8::7",
            line=line.command,
            argv=["docker", "service", "ls"],
            note="rewritten",
            progress={"done": 1, "total": 2},
            created_at=now,
        )

    saved, inserted = new_run(), new_run()
    saved.save()
    assert rows.insert(inserted, using="default") is inserted
    assert inserted.pk and inserted.pk != saved.pk
    assert not inserted._state.adding and inserted._state.db == "default"
    read_back = Run.objects.get(pk=inserted.pk)
    assert {**values(read_back), "id": None} == {**values(Run.objects.get(pk=saved.pk)), "id": None}
    assert read_back.status == Run.Status.QUEUED and read_back.created_at == now  # defaults


def test_insert_is_one_query_and_rolls_back_with_its_transaction(demo_day):
    run = Run(snippet_line=SnippetLine.objects.first(), visitor="d" * 24, line="docker node ls")
    with CaptureQueriesContext(connection) as queries:
        try:
            with transaction.atomic():
                rows.insert(run, using="default")
                raise RuntimeError("the request failed later")
        except RuntimeError:
            pass
    assert len([q for q in queries.captured_queries if "INSERT" in q["sql"]]) == 1
    assert not Run.objects.filter(visitor="d" * 24).exists()


@pytest.mark.skipif(
    connection.vendor != "sqlite",
    reason="Django's PostgreSQL backend inserts with RETURNING only (psycopg has no lastrowid)",
)
def test_insert_falls_back_to_save_where_an_insert_cannot_return_its_key(demo_day, monkeypatch):
    """On a database without INSERT … RETURNING, ``save()`` writes the row: the same row.
    (Played on SQLite, whose Django backend can also insert without it.)"""
    monkeypatch.setattr(connection.features, "can_return_columns_from_insert", False)
    run = Run(snippet_line=SnippetLine.objects.first(), visitor="e" * 24, line="docker node ls")
    with CaptureQueriesContext(connection) as queries:
        assert rows.insert(run, using="default") is run
    assert [q["sql"] for q in queries.captured_queries if "RETURNING" in q["sql"]] == []
    assert run.pk and not run._state.adding and run._state.db == "default"
    assert Run.objects.get(pk=run.pk).line == "docker node ls"
