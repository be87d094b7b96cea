"""Bare URLs end as GitHub's autolinker ends them (talks.markdown): one in parentheses is now
linked, and one holding "(...)" is linked whole. Stored HTML is rendered again, as saving would,
where it changes; the day pages' version moves so no cached page keeps the old links."""

import secrets

from django.db import migrations


def render_again(apps, schema_editor):
    from talks.markdown import render_markdown

    alias = schema_editor.connection.alias

    def again(model: str, fields: dict, batch: int = 1000) -> int:
        rows = apps.get_model("talks", model).objects.using(alias)
        names = [name for source, (target, _) in fields.items() for name in (source, target)]
        changed = []
        for row in rows.only("pk", *names).iterator(chunk_size=2000):
            dirty = False
            for source, (target, inline) in fields.items():
                html = render_markdown(getattr(row, source), inline=inline(row))
                if html != getattr(row, target):
                    setattr(row, target, html)
                    dirty = True
            if dirty:
                changed.append(row)
        rows.bulk_update(changed, [target for target, _ in fields.values()], batch_size=batch)
        return len(changed)

    block = lambda row: False  # noqa: E731
    changed = again(
        "Highlight",
        {
            "text": ("text_html", lambda row: row.style != "paragraph"),
            "resolution": ("resolution_html", lambda row: True),
        },
    )
    changed += again("Day", {"intro": ("intro_html", block), "summary": ("summary_html", block)})
    changed += again("Conference", {"description": ("description_html", block)})
    if changed:
        versions = apps.get_model("talks", "NotesVersion").objects.using(alias)
        versions.filter(pk=1).update(token=secrets.token_hex(8))


class Migration(migrations.Migration):
    dependencies = [("talks", "0007_day_number_range_and_snippets_outlive_notes")]

    operations = [migrations.RunPython(render_again, migrations.RunPython.noop)]
