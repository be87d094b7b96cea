"""A link the sanitiser disarmed (a ``javascript:`` or ``data:`` address) is plain text now
(talks.markdown._fix_links), not an ``<a>`` without an href that looks like a link and does
nothing; an image is a link to it named by its alt text (talks.markdown._image_links), not
nothing. Stored HTML is rendered again where it changes, as in 0008 (same function)."""

from importlib import import_module

from django.db import migrations

render_again = import_module("talks.migrations.0008_links_in_parentheses").render_again


class Migration(migrations.Migration):
    dependencies = [("talks", "0009_links_in_emphasis")]

    operations = [migrations.RunPython(render_again, migrations.RunPython.noop)]
