"""Model instances from the hand-written statements on every run's way (bench/bench_runner.py).

Three statements are written by hand because the ORM cannot say them in one go: claiming the
next task, finding the run's ready sandbox, claiming the run. ``Model.objects.raw()`` would load
their rows, but it works out anew on each call which column is which field and how to convert
it (about 0.2-0.3 ms a statement on the 2-core benchmark machine, against 0.03 ms for the query
itself). Here the columns are named in the model's own order, the converters are looked up once
per model and database, and the instances are built as the ORM builds them (``Model.from_db``).

``get`` is the same for the plainest query of all, a row by its primary key: the Run button's
view loads its line with it, where building ``filter(pk=...)`` took 0.4 ms warm and 1.0-1.5 ms
in a process that had been idle (as a web process is between requests), and the statement
itself 0.05 ms.
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
    found = fetch(model, _get_sql(model, using), [pk], using=using)
    return found[0] if found else None


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
