"""Tags in case-insensitive order; links only http(s). Python-side only: no SQL on any database."""

import django.core.validators
import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("talks", "0004_search_prefixes_and_titles"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="tag",
            options={"ordering": [django.db.models.functions.text.Lower("name")]},
        ),
        migrations.AlterField(
            model_name="highlight",
            name="resolution_url",
            field=models.URLField(
                blank=True,
                max_length=500,
                validators=[
                    django.core.validators.URLValidator(
                        code="web_address",
                        message="Enter a web address starting with http:// or https://, such as https://docs.docker.com/.",
                        schemes=["http", "https"],
                    )
                ],
            ),
        ),
        migrations.AlterField(
            model_name="talk",
            name="session_url",
            field=models.URLField(
                blank=True,
                max_length=500,
                validators=[
                    django.core.validators.URLValidator(
                        code="web_address",
                        message="Enter a web address starting with http:// or https://, such as https://docs.docker.com/.",
                        schemes=["http", "https"],
                    )
                ],
            ),
        ),
    ]
