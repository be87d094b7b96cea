"""The full-text search index (see talks/search.py): FTS5 on SQLite, tsvector + GIN on PostgreSQL.

The table is not a model: each database gets its own kind of table, created here by vendor, and
talks.search reads and writes it with SQL. Existing notes are indexed by the last migration of
the index (0004), with today's code.
"""

from django.db import migrations

SQLITE = [
    # Words arrive folded and space-separated (talks.search.index_text); unicode61 with
    # remove_diacritics is a second line of defence. Prefix indexes keep "sw*" fast.
    """CREATE VIRTUAL TABLE talks_search USING fts5(
        title, body, talk_id UNINDEXED, day_id UNINDEXED,
        tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
    )""",
]

POSTGRESQL = [
    """CREATE TABLE talks_search (
        id bigint PRIMARY KEY,
        talk_id bigint NULL,
        day_id bigint NOT NULL,
        document tsvector NOT NULL
    )""",
    "CREATE INDEX talks_search_document ON talks_search USING GIN (document)",
    "CREATE INDEX talks_search_day_id ON talks_search (day_id)",
    "CREATE INDEX talks_search_talk_id ON talks_search (talk_id)",
]


class RunSQLOn(migrations.RunSQL):
    """RunSQL on one database vendor only; a no-op elsewhere."""

    def __init__(self, vendor, sql, reverse_sql):
        self.vendor = vendor
        super().__init__(sql, reverse_sql)

    def deconstruct(self):
        name, args, kwargs = super().deconstruct()
        return name, args, {"vendor": self.vendor, **kwargs}

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == self.vendor:
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == self.vendor:
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [("talks", "0001_initial")]

    operations = [
        RunSQLOn("sqlite", SQLITE, "DROP TABLE talks_search"),
        RunSQLOn("postgresql", POSTGRESQL, "DROP TABLE talks_search"),
    ]
