"""rebuild_search_index's options: an unknown database alias, or a database without the index,
is a CommandError that says what to do, not a traceback."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

ROOT = Path(__file__).resolve().parents[2]


def manage(*argv: str, var_dir: Path) -> subprocess.CompletedProcess[str]:
    """manage.py in a process of its own, on a new SQLite database in var_dir."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {"DJANGO_SETTINGS_MODULE": "notes_site.test_settings", "CONFNOTES_VAR_DIR": str(var_dir)}
    return subprocess.run(
        [sys.executable, "manage.py", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


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
