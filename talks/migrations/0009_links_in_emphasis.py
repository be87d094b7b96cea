"""Bare URLs no longer end with Markdown's emphasis around them (talks.markdown): in
"**https://example.com/x**" the link was https://example.com/x** and the note was not bold.
Stored HTML is rendered again where it changes, as in 0008 (same function)."""

from importlib import import_module

from django.db import migrations

render_again = import_module("talks.migrations.0008_links_in_parentheses").render_again


class Migration(migrations.Migration):
    dependencies = [("talks", "0008_links_in_parentheses")]

    operations = [migrations.RunPython(render_again, migrations.RunPython.noop)]
