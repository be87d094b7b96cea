"""Model instances from the hand-written statements on every run's way (bench/bench_runner.py).

Three statements are written by hand because the ORM cannot say them in one go: claiming the
next task, finding the run's ready sandbox, claiming the run. ``Model.objects.raw()`` would load
their rows, but it works out anew on each call which column is which field and how to convert
it (about 0.2-0.3 ms a statement on the 2-core benchmark machine, against 0.03 ms for the query
itself). Here the columns are named in the model's own order, the converters are looked up once
per model and database, and the instances are built as the ORM builds them (``Model.from_db``).

Two more are on that way in the web process, where the ORM builds them anew per request:
``get`` loads a row by its primary key (the Run button's line) and ``insert`` writes a new one
(the run). Building ``filter(pk=...)`` took 0.4 ms warm and 1.0-1.5 ms in a process that had
been idle, as a web process is between requests; ``save()`` about 0.4 ms more than the INSERT
written once. With both, bench/bench_runner.py's added time fell from 11-13 ms to 6-10 ms.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.db import connections
from django.db.models import Model

M = TypeVar("M", bound=Model)


def columns(model: type[Model], alias: str, *, table: str = "") -> str:
    """The model's concrete columns, quoted, in the order ``fetch`` expects; each prefixed by
    ``table.`` when given (in a join)."""
    quote = connections[alias].ops.quote_name
    prefix = f"{table}." if table else ""
    return ", ".join(prefix + quote(field.column) for field in model._meta.concrete_fields)


def fetch(model: type[M], sql: str, params: Sequence[Any], *, using: str) -> list[M]:
    """Run ``sql``, which selects or returns ``columns(model)``, and build its rows."""
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()  # read to the end: SQLite's statement (and its write) is done
    if not rows:
        return []
    names, converters = _plan(model, using, connection.vendor)
    instances = []
    for row in rows:
        values = list(row)
        for index, expression, functions in converters:
            for convert in functions:
                values[index] = convert(values[index], expression, connection)
        instances.append(model.from_db(using, names, values))
    return instances


def get(model: type[M], pk: Any, *, using: str) -> M | None:
    """The instance whose primary key is ``pk``, or None: ``filter(pk=pk).first()`` in one
    statement written once per model and database."""
    connection = connections[using]
    pk = model._meta.pk.get_db_prep_value(pk, connection)
    if _out_of_range(model._meta.pk, pk, connection):
        return None  # no row can have it; the driver would raise (OverflowError on SQLite)
    found = fetch(model, _get_sql(model, using), [pk], using=using)
    return found[0] if found else None


def _out_of_range(field: Any, value: Any, connection: Any) -> bool:
    """Is ``value`` an integer outside what ``field``'s column holds? The ORM's lookups answer
    such a key with no rows (lookups.IntegerFieldOverflow); a statement written by hand must
    ask for itself, as a URL's ``<int:...>`` takes any number of digits."""
    if not isinstance(value, int) or isinstance(value, bool):
        return False
    try:
        low, high = connection.ops.integer_field_range(field.get_internal_type())
    except KeyError:  # not an integer column
        return False
    return (low is not None and value < low) or (high is not None and value > high)


@functools.cache
def _get_sql(model: type[Model], using: str) -> str:
    quote = connections[using].ops.quote_name
    table, key = quote(model._meta.db_table), quote(model._meta.pk.column)
    return f"SELECT {columns(model, using)} FROM {table} WHERE {key} = %s"  # noqa: S608


@functools.cache
def _plan(
    model: type[Model], using: str, vendor: str
) -> tuple[list[str], list[tuple[int, Any, list[Callable]]]]:
    """Field names, and the converters of the columns that have any, as the ORM's compiler
    finds them (SQLCompiler.get_converters): the backend's, then the field's."""
    connection = connections[using]
    names, converters = [], []
    for index, field in enumerate(model._meta.concrete_fields):
        names.append(field.attname)
        expression = field.get_col(model._meta.db_table)
        functions = connection.ops.get_db_converters(expression)
        functions += expression.get_db_converters(connection)
        if functions:
            converters.append((index, expression, functions))
    return names, converters


def insert(instance: M, *, using: str) -> M:
    """Write a new instance as ``save()`` would (its fields' ``pre_save`` and preparation
    applied), in one INSERT written once per model and database, and set its primary key.
    No signals are sent: for models that have no receivers (runner.Run)."""
    connection = connections[using]
    if not connection.features.can_return_columns_from_insert:
        instance.save(using=using, force_insert=True)
        return instance
    fields, sql = _insert_sql(type(instance), using)
    params = [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        instance.pk = cursor.fetchone()[0]
    instance._state.adding, instance._state.db = False, using
    return instance


@functools.cache
def _insert_sql(model: type[Model], using: str) -> tuple[list, str]:
    quote = connections[using].ops.quote_name
    pk = model._meta.pk
    fields = [f for f in model._meta.concrete_fields if f is not pk]
    names = ", ".join(quote(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    table, key = quote(model._meta.db_table), quote(pk.column)
    return fields, f"INSERT INTO {table} ({names}) VALUES ({marks}) RETURNING {key}"  # noqa: S608
