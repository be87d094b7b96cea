"""Production settings (notes_site.settings) with static files collected into a benchmark's own
temporary folder, ``BENCH_STATIC_ROOT``, instead of the project's ``staticfiles/``."""

import os
from pathlib import Path

from notes_site.settings import *  # noqa: F403

STATIC_ROOT = Path(os.environ["BENCH_STATIC_ROOT"])
