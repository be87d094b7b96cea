"""Whether a worker process named by its pid is still there (this machine only)."""

from __future__ import annotations

import os


def worker_alive(pid: int) -> bool:
    """Is ``pid`` a live Django process (a worker, or a test run)? A pid that is gone, a zombie
    or an unrelated process that reused the number counts as dead."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        cmdline = open(f"/proc/{pid}/cmdline", "rb").read()  # noqa: SIM115
    except OSError:
        return False
    return b"manage.py" in cmdline or b"pytest" in cmdline
