"""Production settings pass `check --deploy`; bad environment values give clear errors."""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_KEY = "a-very-long-production-secret-key-with-enough-entropy-1234567890!@#"
# What the surrounding environment might set that these tests decide themselves.
_OWN = (
    "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "DATABASE_", "SQLITE_",
    "DATA_UPLOAD_", "RUNNER_", "SECURE_", "BEHIND_TLS_PROXY", "LOG_LEVEL", "TIME_ZONE",
    "FORWARDED_ALLOW_IPS", "GUNICORN_CMD_ARGS",
)  # fmt: skip


def _env(env_extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN)}
    env.update({"DJANGO_SETTINGS_MODULE": "notes_site.settings", **env_extra})
    return env


def _run(*args, env_extra):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=_env(env_extra),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _python(code: str, **env_extra: str) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter with production settings and `env_extra` set."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=_env({"SECRET_KEY": PRODUCTION_KEY, **env_extra}),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_passes_the_deploy_check_in_production():
    result = _run(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env_extra={"SECRET_KEY": PRODUCTION_KEY, "ALLOWED_HOSTS": "notes.example.com"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_it_refuses_to_start_without_a_secret_key_in_production():
    result = _run("check", env_extra={})
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off." in result.stderr


def test_it_explains_a_bad_boolean():
    result = _run("check", env_extra={"DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DEBUG must be true or false, not 'maybe'." in result.stderr


# -- every value is checked when the settings load, with the variable, the value and what is allowed

REFUSED = [
    # cache_size=--1024 made every connection fail ("incomplete input"); 0 meant no cache.
    (
        {"SQLITE_CACHE_MB": "-1"},
        "SQLITE_CACHE_MB must be a whole number of MB, 1 or more, not '-1'.",
    ),
    ({"SQLITE_CACHE_MB": "0"}, "SQLITE_CACHE_MB must be a whole number of MB, 1 or more, not '0'."),
    (
        {"SQLITE_CACHE_MB": "lots"},
        "SQLITE_CACHE_MB must be a whole number of MB, 1 or more, not 'lots'.",
    ),
    (
        {"LOG_LEVEL": "LOUD"},
        "LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL (any case), not 'LOUD'.",
    ),
    (
        {"TIME_ZONE": "Mars/Base"},
        "TIME_ZONE must be a time zone name such as UTC or Europe/Paris, not 'Mars/Base'.",
    ),
    (
        {"TIME_ZONE": "../etc/passwd"},
        "TIME_ZONE must be a time zone name such as UTC or Europe/Paris, not '../etc/passwd'.",
    ),
    (
        {"ALLOWED_HOSTS": "notes.example.com 127.0.0.1"},
        "Separate the entries of ALLOWED_HOSTS with commas:"
        " 'notes.example.com 127.0.0.1' holds a space.",
    ),
    (
        {"ALLOWED_HOSTS": "a.example.com, b.example.com c.example.com"},
        "Separate the entries of ALLOWED_HOSTS with commas:"
        " 'b.example.com c.example.com' holds a space.",
    ),
    (
        {"ALLOWED_HOSTS": "https://notes.example.com"},
        "ALLOWED_HOSTS holds host names such as notes.example.com (IPv6 in brackets), without a"
        " scheme, path or port, not 'https://notes.example.com'.",
    ),
    ({"ALLOWED_HOSTS": "notes.example.com:8000"}, "not 'notes.example.com:8000'."),
    ({"ALLOWED_HOSTS": "[::1]:8000"}, "not '[::1]:8000'."),
    (
        {"CSRF_TRUSTED_ORIGINS": "https://notes.example.com https://b.example.com"},
        "Separate the entries of CSRF_TRUSTED_ORIGINS with commas:",
    ),
    (
        {"CSRF_TRUSTED_ORIGINS": "https://notes.example.com/"},
        "CSRF_TRUSTED_ORIGINS holds origins, scheme://host[:port] with nothing after, such as"
        " https://notes.example.com, not 'https://notes.example.com/'.",
    ),
    ({"CSRF_TRUSTED_ORIGINS": "notes.example.com"}, "origins, scheme://host[:port]"),
    ({"CSRF_TRUSTED_ORIGINS": "https://notes.example.com/admin/"}, "origins, scheme://host[:port]"),
    ({"CSRF_TRUSTED_ORIGINS": "https://notes.example.com:https"}, "origins, scheme://host[:port]"),
    ({"CSRF_TRUSTED_ORIGINS": "https://"}, "origins, scheme://host[:port]"),
    # Below about ten fields every form post, the admin's login included, was a bare 400.
    (
        {"DATA_UPLOAD_MAX_NUMBER_FIELDS": "0"},
        "DATA_UPLOAD_MAX_NUMBER_FIELDS must be a whole number, 1000 or more, not '0'.",
    ),
    ({"DATA_UPLOAD_MAX_NUMBER_FIELDS": "-5"}, "1000 or more, not '-5'."),
    ({"DATA_UPLOAD_MAX_NUMBER_FIELDS": "none"}, "1000 or more, not 'none'."),
    (
        {"DATABASE_CONN_MAX_AGE": "-1"},
        "DATABASE_CONN_MAX_AGE must be a whole number of seconds, 0 or more, not '-1'.",
    ),
    (
        {"SECURE_HSTS_SECONDS": "-1"},
        "SECURE_HSTS_SECONDS must be a whole number of seconds, 0 or more, not '-1'.",
    ),
    (
        {"RUNNER_NODES": "5", "RUNNER_MAX_NODES": "3"},
        "RUNNER_NODES must be a whole number from 1 to RUNNER_MAX_NODES (3), not 5.",
    ),
    ({"RUNNER_NODES": "0"}, "RUNNER_NODES must be a whole number from 1 to 9, not '0'."),
    ({"RUNNER_MAX_NODES": "0"}, "RUNNER_MAX_NODES must be a whole number from 1 to 9, not '0'."),
    ({"RUNNER_MAX_NODES": "10"}, "RUNNER_MAX_NODES must be a whole number from 1 to 9, not '10'."),
    ({"RUNNER_POOL_SIZE": "-3"}, "RUNNER_POOL_SIZE must be a whole number, 0 or more, not '-3'."),
    ({"RUNNER_MAX_SANDBOXES": "0"}, "RUNNER_MAX_SANDBOXES must be a whole number, 1 or more"),
    (
        {"RUNNER_TIMEOUT": "0"},
        "RUNNER_TIMEOUT must be a whole number of seconds, 1 or more, not '0'.",
    ),
    ({"RUNNER_CONVERGE_SECONDS": "0"}, "RUNNER_CONVERGE_SECONDS must be a whole number of seconds"),
    ({"RUNNER_MAX_OUTPUT": "0"}, "RUNNER_MAX_OUTPUT must be a whole number of bytes, 1 or more"),
    ({"RUNNER_RATE_PER_MINUTE": "0"}, "RUNNER_RATE_PER_MINUTE must be a whole number, 1 or more"),
    ({"RUNNER_MAX_IN_FLIGHT": "-1"}, "RUNNER_MAX_IN_FLIGHT must be a whole number, 1 or more"),
    ({"RUNNER_MAX_SERVICES": "0"}, "RUNNER_MAX_SERVICES must be a whole number, 1 or more"),
    ({"RUNNER_MAX_REPLICAS": "0"}, "RUNNER_MAX_REPLICAS must be a whole number, 1 or more"),
    (
        {"RUNNER_HEARTBEAT_STALE": "10"},
        "RUNNER_HEARTBEAT_STALE must be a whole number of seconds, 60 or more",
    ),
    ({"RUNNER_IDLE_TTL": "0"}, "RUNNER_IDLE_TTL must be a whole number of seconds, 60 or more"),
    (
        {"RUNNER_IDLE_TTL": "9999", "RUNNER_HARD_TTL": "10"},
        "RUNNER_HARD_TTL must be a whole number of seconds, 60 or more, not '10'.",
    ),
    (
        {"RUNNER_IDLE_TTL": "9999", "RUNNER_HARD_TTL": "600"},
        "RUNNER_IDLE_TTL must be at most RUNNER_HARD_TTL (600), not 9999",
    ),
]


@pytest.mark.parametrize(("env", "message"), REFUSED, ids=lambda v: str(v)[:60])
def test_it_refuses_a_bad_value_naming_the_variable_and_what_is_allowed(env, message):
    result = _python("import notes_site.settings", **env)
    assert result.returncode != 0, f"{env} was accepted"
    assert "ImproperlyConfigured: " in result.stderr
    assert message in result.stderr


SHOW = """
import json, django
django.setup()
from django.conf import settings as s
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("PRAGMA cache_size")
    cache_size = cursor.fetchone()[0]
print(json.dumps({
    "ALLOWED_HOSTS": s.ALLOWED_HOSTS, "CSRF_TRUSTED_ORIGINS": s.CSRF_TRUSTED_ORIGINS,
    "LOG_LEVEL": s.LOGGING["root"]["level"], "TIME_ZONE": s.TIME_ZONE, "cache_size": cache_size,
    "RUNNER_NODES": s.RUNNER_NODES, "RUNNER_MAX_NODES": s.RUNNER_MAX_NODES,
    "RUNNER_POOL_SIZE": s.RUNNER_POOL_SIZE, "CONN_MAX_AGE": s.DATABASES["default"]["CONN_MAX_AGE"],
    "RUNNER_IDLE_TTL": s.RUNNER_IDLE_TTL, "RUNNER_HARD_TTL": s.RUNNER_HARD_TTL,
}))
"""


def test_it_accepts_good_values_at_the_edges_of_their_ranges(tmp_path):
    result = _python(
        SHOW,
        CONFNOTES_VAR_DIR=str(tmp_path),
        LOG_LEVEL=" info",  # any case; logging itself knows only upper case
        TIME_ZONE="Europe/Paris",
        ALLOWED_HOSTS="notes.example.com, 127.0.0.1 ,[::1],.example.org",  # spaces around commas
        CSRF_TRUSTED_ORIGINS="https://notes.example.com, https://*.example.org:8443",
        SQLITE_CACHE_MB="1",
        RUNNER_NODES="9",
        RUNNER_MAX_NODES="9",
        RUNNER_POOL_SIZE="0",
        DATABASE_CONN_MAX_AGE="0",
        RUNNER_IDLE_TTL="60",
        RUNNER_HARD_TTL="60",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "ALLOWED_HOSTS": ["notes.example.com", "127.0.0.1", "[::1]", ".example.org"],
        "CSRF_TRUSTED_ORIGINS": ["https://notes.example.com", "https://*.example.org:8443"],
        "LOG_LEVEL": "INFO",
        "TIME_ZONE": "Europe/Paris",
        "cache_size": -1024,  # KiB
        "RUNNER_NODES": 9,
        "RUNNER_MAX_NODES": 9,
        "RUNNER_POOL_SIZE": 0,
        "CONN_MAX_AGE": 0,
        "RUNNER_IDLE_TTL": 60,
        "RUNNER_HARD_TTL": 60,
    }


# -- only Django's SECURE_PROXY_SSL_HEADER (BEHIND_TLS_PROXY) decides what counts as HTTPS ---------


@pytest.fixture(scope="module")
def migrated_var_dir(tmp_path_factory) -> Path:
    var_dir = tmp_path_factory.mktemp("var")
    result = _run(
        "migrate",
        "--noinput",
        "-v",
        "0",
        env_extra={"SECRET_KEY": PRODUCTION_KEY, "CONFNOTES_VAR_DIR": str(var_dir)},
    )
    assert result.returncode == 0, result.stderr
    return var_dir


@contextmanager
def _gunicorn(var_dir: Path, **env_extra: str):
    """The README's production command, run from the project's folder; yields its port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = _env(
        {
            "DEBUG": "false",
            "SECRET_KEY": PRODUCTION_KEY,
            "ALLOWED_HOSTS": "127.0.0.1",
            "CONFNOTES_VAR_DIR": str(var_dir),
            "LOG_LEVEL": "WARNING",
            **env_extra,
        }
    )
    command = ["notes_site.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"]
    log = var_dir / f"gunicorn-{port}.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *command],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"gunicorn did not start:\n{log.read_text()}")
                time.sleep(0.05)
        yield port
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _get(port: int, path: str, **headers: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        return response
    finally:
        connection.close()


FEED = "/feeds/days.atom"  # needs the database, not collected static files


def test_gunicorn_does_not_take_a_forwarded_https_claim_on_its_own(migrated_var_dir):
    with _gunicorn(migrated_var_dir) as port:
        claimed = _get(port, FEED, **{"X-Forwarded-Proto": "https"})
        assert claimed.status == 301, claimed.status
        assert claimed.getheader("Location") == f"https://127.0.0.1:{port}{FEED}"
        assert _get(port, FEED).status == 301


def test_behind_tls_proxy_makes_django_trust_the_forwarded_https(migrated_var_dir):
    with _gunicorn(migrated_var_dir, BEHIND_TLS_PROXY="true") as port:
        claimed = _get(port, FEED, **{"X-Forwarded-Proto": "https"})
        assert claimed.status == 200, claimed.status
        assert claimed.getheader("Strict-Transport-Security")
        assert _get(port, FEED).status == 301  # plain HTTP from the proxy: redirected still


@pytest.mark.parametrize(
    ("env_extra", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG must be true or false, not 'maybe'."),
        ({"DEBUG": "false", "SECRET_KEY": ""}, "SECRET_KEY must be set when DEBUG is off."),
        ({"DEBUG": "true", "RUNNER_TIMEOUT": "abc"}, "RUNNER_TIMEOUT"),
    ],
)
def test_a_bad_setting_is_one_line_from_manage_py_not_a_traceback(env_extra, message):
    result = _run("check", env_extra=env_extra)
    assert result.returncode == 1
    assert result.stderr.startswith("Configuration error: ") and message in result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


def test_gunicorn_says_which_setting_is_wrong_in_one_line_and_stops(tmp_path):
    env = _env({"DEBUG": "maybe", "CONFNOTES_VAR_DIR": str(tmp_path)})
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "notes_site.wsgi", "--bind", "127.0.0.1:0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0  # the master stops: "Worker failed to boot"
    assert "Configuration error: DEBUG must be true or false, not 'maybe'." in result.stderr
    assert "Traceback" not in result.stderr
