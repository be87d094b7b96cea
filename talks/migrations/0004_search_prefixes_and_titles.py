"""SQLite search index, second version (see talks/search.py, SQLiteEngine).

- Prefix indexes for prefixes of 2 to 12 characters, not only 2 and 3: a prefix query then
  reads one list of rows instead of merging the lists of every word it starts, which made a
  search for a common word ("docker", which also finds "dockerfile") about 2x slower. The
  index grows by about 70%.
- ``talks_search_titles``: the rows that have a title, again, so that title matches are found
  without reading every match of a common word.

FTS5 options cannot be altered, so the table is made anew. PostgreSQL's index is unchanged.
The index is filled here, from the notes, on both databases: this is the last migration of
the search index, and filling runs today's code (talks.search.rebuild_index).
"""

from django.db import migrations

COLUMNS = "title, body, talk_id UNINDEXED, day_id UNINDEXED"
TOKENIZE = "tokenize = 'unicode61 remove_diacritics 2'"
PREFIXES = "prefix = '2 3 4 5 6 7 8 9 10 11 12'"

SQLITE_FORWARDS = [
    "DROP TABLE talks_search",
    f"CREATE VIRTUAL TABLE talks_search USING fts5({COLUMNS}, {TOKENIZE}, {PREFIXES})",
    "CREATE VIRTUAL TABLE talks_search_titles USING fts5("
    f"title, talk_id UNINDEXED, day_id UNINDEXED, {TOKENIZE}, {PREFIXES})",
]
SQLITE_BACKWARDS = [  # the first version, with the rows it had
    "DROP TABLE talks_search_titles",
    f"CREATE VIRTUAL TABLE talks_search_old USING fts5({COLUMNS}, {TOKENIZE}, prefix = '2 3')",
    "INSERT INTO talks_search_old (rowid, title, body, talk_id, day_id)"
    " SELECT rowid, title, body, talk_id, day_id FROM talks_search",
    "DROP TABLE talks_search",
    "ALTER TABLE talks_search_old RENAME TO talks_search",
]


def _on_sqlite(statements: list[str]):
    def run(apps, schema_editor) -> None:
        if schema_editor.connection.vendor == "sqlite":
            for statement in statements:
                schema_editor.execute(statement)

    return run


def fill_index(apps, schema_editor) -> None:
    connection = schema_editor.connection
    if connection.vendor not in {"sqlite", "postgresql"}:
        return
    names = ["Day", "Talk", "Highlight", "Snippet", "SnippetLine"]
    models = {name: apps.get_model("talks", name) for name in names}
    if not models["Day"].objects.using(connection.alias).exists():
        return  # a new database: nothing to index yet
    from talks.search import rebuild_index

    rebuild_index(using=connection.alias, models=models)


class Migration(migrations.Migration):
    dependencies = [("talks", "0003_notesversion")]

    operations = [
        migrations.RunPython(_on_sqlite(SQLITE_FORWARDS), _on_sqlite(SQLITE_BACKWARDS)),
        migrations.RunPython(fill_index, migrations.RunPython.noop, elidable=True),
    ]
