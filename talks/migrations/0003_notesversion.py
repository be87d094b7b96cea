"""The notes' version row, read by talks.cache to key cached pages."""

import secrets

from django.db import migrations, models


def create_row(apps, schema_editor) -> None:
    NotesVersion = apps.get_model("talks", "NotesVersion")
    db = schema_editor.connection.alias
    NotesVersion.objects.using(db).get_or_create(pk=1, defaults={"token": secrets.token_hex(8)})


class Migration(migrations.Migration):
    dependencies = [("talks", "0002_search_index")]

    operations = [
        migrations.CreateModel(
            name="NotesVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("token", models.CharField(max_length=32)),
            ],
        ),
        migrations.RunPython(create_row, migrations.RunPython.noop),
    ]
