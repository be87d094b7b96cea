"""rebuild_search_index's options: an unknown database alias, or a database without the index,
is a CommandError that says what to do, not a traceback."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from tests.commands import manage


def test_an_unknown_database_is_named_with_the_known_aliases(tmp_path):
    done = manage("rebuild_search_index", "--database", "nope", var_dir=tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        "CommandError: Unknown database 'nope': the aliases in settings.DATABASES are default."
    )


def test_an_unknown_database_from_call_command():
    with pytest.raises(CommandError, match=r"Unknown database 'nope'.* are default\.$"):
        call_command("rebuild_search_index", database="nope")


def test_a_database_without_the_index_says_to_migrate(tmp_path):
    done = manage("rebuild_search_index", var_dir=tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        "CommandError: Database 'default' has no search index table (talks_search): run "
        "`manage.py migrate --database default` first."
    )


@pytest.mark.django_db
def test_verbosity_0_rebuilds_quietly(demo_day):
    out = io.StringIO()
    call_command("rebuild_search_index", verbosity=0, stdout=out)
    assert out.getvalue() == ""
    call_command("rebuild_search_index", stdout=out)
    assert "Search index rebuilt" in out.getvalue()
