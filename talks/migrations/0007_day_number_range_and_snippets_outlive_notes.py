"""Day numbers from 1 to 999, as the importer reads them; a snippet outlives the note it
follows (SET_NULL: the block moves to the end of the talk). Python-side only: no SQL."""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("talks", "0006_commands_without_space_spans"),
    ]

    operations = [
        migrations.AlterField(
            model_name="day",
            name="number",
            field=models.PositiveSmallIntegerField(
                help_text="1 for the first day, and so on.",
                validators=[
                    django.core.validators.MinValueValidator(
                        1, message="Day numbers go from 1 to 999: 1 for the first day, and so on."
                    ),
                    django.core.validators.MaxValueValidator(
                        999, message="Day numbers go from 1 to 999: 1 for the first day, and so on."
                    ),
                ],
            ),
        ),
        migrations.AlterField(
            model_name="snippet",
            name="highlight",
            field=models.ForeignKey(
                blank=True,
                help_text="The highlight the block follows; empty puts it at the end of the talk (where the block goes if its highlight is deleted).",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="snippets",
                to="talks.highlight",
            ),
        ),
    ]
