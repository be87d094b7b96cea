"""manage.py in a process of its own, for tests of a command's command line (usage errors,
exit codes, what it prints) rather than of what it does (call_command is for that)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def manage(*argv: str, var_dir: Path) -> subprocess.CompletedProcess[str]:
    """manage.py with the test settings, on a new SQLite database in var_dir."""
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
