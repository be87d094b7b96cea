"""Command lines' highlighted HTML without Pygments' spans around spaces (talks.markdown
highlight_shell): stored rows are rendered again, as saving them would."""

from django.db import migrations


def render_again(apps, schema_editor):
    from talks.markdown import highlight_shell

    SnippetLine = apps.get_model("talks", "SnippetLine")
    lines = SnippetLine.objects.using(schema_editor.connection.alias)
    changed = []
    for line in lines.only("pk", "command", "command_html").iterator(chunk_size=2000):
        html = highlight_shell(line.command)
        if html != line.command_html:
            line.command_html = html
            changed.append(line)
    lines.bulk_update(changed, ["command_html"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("talks", "0005_tag_order_and_web_addresses")]

    operations = [migrations.RunPython(render_again, migrations.RunPython.noop)]
