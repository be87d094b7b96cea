"""Shared by the benchmarks: a production-like site in a temporary folder, gunicorn, a load tool.

``production_env`` gives the environment of a production deployment (DEBUG off, a secret key,
hashed and compressed static files) whose database and static files live in a temporary folder;
``gunicorn`` serves it on 127.0.0.1; ``load`` drives a URL for a bounded time with wrk when it is
installed (``apt-get install wrk``), else with a small multi-process Python client, and reports
requests per second and latency percentiles.
"""

from __future__ import annotations

import http.client
import multiprocessing
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"


def production_env(tmp: Path, **extra: str) -> dict[str, str]:
    """The environment of a production deployment, with its state under ``tmp``."""
    (tmp / "var").mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key-not-used-for-anything-0123456789abcdef",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}",
        # Persistent connections, as production should run them: opening SQLite and reading its
        # schema costs about 1 ms per request otherwise, more than serving a cached page.
        "DATABASE_CONN_MAX_AGE": "60",
        "CONFNOTES_VAR_DIR": str(tmp / "var"),
        # notes_site.settings, with STATIC_ROOT in BENCH_STATIC_ROOT (see bench/_settings.py).
        "DJANGO_SETTINGS_MODULE": "_settings",
        "BENCH_STATIC_ROOT": str(tmp / "static"),
        "PYTHONPATH": os.pathsep.join([str(BENCH_DIR), str(ROOT)]),
        "LOG_LEVEL": "WARNING",
    }
    env.update(extra)
    return env


def run_python(env: dict[str, str], *args: str) -> str:
    """Run the venv's Python (``manage.py ...`` or a script) in the project; return stdout."""
    result = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        tail = (result.stdout + result.stderr)[-4000:]  # the end of a traceback says most
        raise SystemExit(f"{' '.join(args)} failed:\n{tail}")
    return result.stdout


def percentile(samples: list[float], pct: float) -> float:
    """The ``pct``-th percentile (1 to 99) of ``samples``, interpolated as statistics.quantiles
    does with method="inclusive"; every benchmark reports percentiles this way."""
    if len(samples) < 2:
        return samples[0] if samples else 0.0
    return statistics.quantiles(samples, n=100, method="inclusive")[round(pct) - 1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str, *, timeout: float = 30) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (http://127.0.0.1)
        return response.read()


@dataclass(frozen=True)
class Server:
    url: str
    pid: int

    def cpu_seconds(self) -> float:
        """CPU time used so far by the server: the master and its workers (Linux /proc)."""
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the process ended meanwhile
            pid, parent = int(stat.parent.name), int(fields[1])
            if self.pid in (pid, parent):
                total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
        return total / os.sysconf("SC_CLK_TCK")


@contextmanager
def gunicorn(env: dict[str, str], *, workers: int = 2, ready_path: str = "/") -> Iterator[Server]:
    """Serve the site with gunicorn on a free port of 127.0.0.1; yields the server."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "notes_site.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                fetch(base + ready_path, timeout=5)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("gunicorn did not start; see its output above.") from None
                time.sleep(0.2)
        yield Server(url=base, pid=server.pid)
    finally:
        server.send_signal(signal.SIGTERM)  # the master stops its workers
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@dataclass
class LoadResult:
    tool: str
    requests: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


def load(
    url: str, *, seconds: float = 10, connections: int = 4, headers: dict[str, str] | None = None
) -> LoadResult:
    """Request ``url`` as fast as ``connections`` concurrent clients can, for ``seconds``."""
    if shutil.which("wrk"):
        return _wrk(url, seconds=seconds, connections=connections, headers=headers or {})
    return _python_load(url, seconds=seconds, connections=connections, headers=headers or {})


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS_MS[unit]


def _wrk(url: str, *, seconds: float, connections: int, headers: dict[str, str]) -> LoadResult:
    extra = [arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")]
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{round(seconds)}s", "--latency", *extra, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    latency = dict(re.findall(r"^\s+(50|99)(?:\.0+)?%\s+(\S+)\s*$", out, re.MULTILINE))
    if set(latency) != {"50", "99"}:
        raise SystemExit(f"Could not read wrk's report:\n{out}")
    requests, took = re.search(r"(\d+) requests in ([\d.]+)(\w+),", out).groups()[:2]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read \d+, write (\d+), timeout (\d+)", out
    )
    failed = int(errors.group(1)) if errors else 0
    if socket_errors:
        failed += sum(int(n) for n in socket_errors.groups())
    return LoadResult(
        tool="wrk",
        requests=int(requests),
        seconds=float(took) if float(took) > 0 else seconds,
        requests_per_second=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        p50_ms=_ms(latency["50"]),
        p99_ms=_ms(latency["99"]),
        errors=failed,
    )


def _client(args: tuple[str, float, dict[str, str]]) -> tuple[list[float], int]:
    url, deadline, headers = args
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    samples, errors = [], 0
    while time.monotonic() < deadline:
        started = time.perf_counter()
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                errors += 1
        except OSError:
            errors += 1
        finally:
            connection.close()
        samples.append((time.perf_counter() - started) * 1000)
    return samples, errors


def _python_load(
    url: str, *, seconds: float, connections: int, headers: dict[str, str]
) -> LoadResult:
    started = time.monotonic()
    deadline = started + seconds
    with multiprocessing.Pool(connections) as pool:
        results = pool.map(_client, [(url, deadline, headers)] * connections)
    took = time.monotonic() - started
    samples = sorted(s for part, _ in results for s in part)
    return LoadResult(
        tool="python",
        requests=len(samples),
        seconds=took,
        requests_per_second=len(samples) / took,
        p50_ms=percentile(samples, 50),
        p99_ms=percentile(samples, 99),
        errors=sum(errors for _, errors in results),
    )
