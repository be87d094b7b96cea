"""Confnotes settings: one module, read from the environment with typed helpers.

Every setting that differs between a laptop and production comes from an environment
variable; the README lists them. Development defaults are safe for 127.0.0.1 only.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from .env import envbool, envchoice, envhosts, envint, envorigins, envstr, envzone

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = envbool("DEBUG", False)
_DEV_SECRET = "insecure-development-key-only-for-127.0.0.1"  # noqa: S105 (DEBUG only)
SECRET_KEY = envstr("SECRET_KEY", _DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
ALLOWED_HOSTS = envhosts("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = envorigins("CSRF_TRUSTED_ORIGINS")
SITE_NAME = envstr("SITE_NAME", "Confnotes")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "django_tasks",
    "django_tasks_db",
    "talks",
    "runner",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "talks.cache.DayPageCacheMiddleware",  # cached day pages for anonymous readers, early
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "runner.visitors.VisitorCookieMiddleware",  # the runner's visitor key (runner.visitors)
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "notes_site.middleware.SiteCSPMiddleware",  # django-csp's, with a policy on our DEBUG 404
    "django_htmx.middleware.HtmxMiddleware",
    "notes_site.middleware.ReaderErrorPagesMiddleware",  # last: the site's 404 with DEBUG, 405
]

ROOT_URLCONF = "notes_site.urls"
WSGI_APPLICATION = "notes_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "notes_site.context_processors.site",
            ],
        },
    }
]

# The embedded default is SQLite in WAL mode (SQLITE_OPTIONS, below); PostgreSQL via
# DATABASE_URL, e.g. postgres://user:pass@127.0.0.1:5432/confnotes.
VAR_DIR = Path(envstr("CONFNOTES_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        envstr("DATABASE_URL", f"sqlite:///{VAR_DIR / 'confnotes.sqlite3'}"),
        # Kept open between requests and worker polls: opening SQLite anew (with its PRAGMAs)
        # costs about a millisecond each time. Checked before reuse, so a restarted
        # PostgreSQL costs one reconnect, not an error.
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", 60, minimum=0, unit="seconds"),
        conn_health_checks=True,
    )
}
# SQLite's page cache is 2 MB by default, less than the notes of a few conferences with their
# search index: each connection may keep up to this much of the database in memory, so
# searches and pages read memory, not the file (bench/bench_search.py measures with it).
SQLITE_CACHE_MB = envint("SQLITE_CACHE_MB", 64, minimum=1, unit="MB")
SQLITE_OPTIONS = {
    # Wait for a writer instead of failing at once; IMMEDIATE avoids upgrade deadlocks.
    "timeout": 20,
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    f" PRAGMA cache_size=-{SQLITE_CACHE_MB * 1024};",  # negative: KiB
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = SQLITE_OPTIONS
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "confnotes",
    }
}

TASKS = {
    "default": {
        "BACKEND": envstr("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

# The runner. "sandbox": every visitor gets a private Docker Engine in swarm mode, started by the
# worker (which must run as root). "shared": every run goes to the engine at DOCKER_HOST: a
# trusted engine of your own, UNSAFE for strangers. "off": pages show recorded outputs only.
RUNNER_MODE = envstr("RUNNER_MODE", "sandbox")
if RUNNER_MODE not in {"sandbox", "shared", "off"}:
    raise ImproperlyConfigured(f"RUNNER_MODE must be sandbox, shared or off, not {RUNNER_MODE!r}.")
RUNNER_SHARED_DOCKER_HOST = envstr("DOCKER_HOST", "unix:///var/run/docker.sock")
RUNNER_BASE_DIR = Path(envstr("RUNNER_BASE_DIR", "/var/lib/confnotes/sandboxes"))
RUNNER_IMAGES_DIR = Path(envstr("RUNNER_IMAGES_DIR", str(VAR_DIR / "images")))
# Workers listen here for "work was queued" (runner/wakeup.py); web and worker must share it.
RUNNER_WAKEUP_DIR = Path(envstr("RUNNER_WAKEUP_DIR", str(VAR_DIR / "wakeup")))
RUNNER_ANONYMOUS = envbool("RUNNER_ANONYMOUS", DEBUG)  # production: logged-in with permission
RUNNER_POOL_SIZE = envint("RUNNER_POOL_SIZE", 1, minimum=0)  # 0: no warm sandbox
RUNNER_MAX_SANDBOXES = envint("RUNNER_MAX_SANDBOXES", 12, minimum=1)
# runner/sandbox.py starts at most 9 nodes a sandbox.
RUNNER_MAX_NODES = envint("RUNNER_MAX_NODES", 3, minimum=1, maximum=9)
RUNNER_NODES = envint("RUNNER_NODES", 1, minimum=1, maximum=9)
if RUNNER_NODES > RUNNER_MAX_NODES:
    raise ImproperlyConfigured(
        f"RUNNER_NODES must be a whole number from 1 to RUNNER_MAX_NODES ({RUNNER_MAX_NODES}),"
        f" not {RUNNER_NODES}."
    )
# Lifetimes are reaped every 30 s and shown to visitors in minutes: a minute at least.
RUNNER_IDLE_TTL = envint("RUNNER_IDLE_TTL", 30 * 60, minimum=60, unit="seconds")
RUNNER_HARD_TTL = envint("RUNNER_HARD_TTL", 2 * 60 * 60, minimum=60, unit="seconds")
if RUNNER_IDLE_TTL > RUNNER_HARD_TTL:
    raise ImproperlyConfigured(
        f"RUNNER_IDLE_TTL must be at most RUNNER_HARD_TTL ({RUNNER_HARD_TTL}), not"
        f" {RUNNER_IDLE_TTL}: a sandbox's idle time cannot outlast its whole life."
    )
RUNNER_TIMEOUT = envint("RUNNER_TIMEOUT", 30, minimum=1, unit="seconds")
RUNNER_MAX_OUTPUT = envint("RUNNER_MAX_OUTPUT", 64 * 1024, minimum=1, unit="bytes")
RUNNER_CONVERGE_SECONDS = envint("RUNNER_CONVERGE_SECONDS", 120, minimum=1, unit="seconds")
# Limits of 0 would refuse every run with a misleading reason: RUNNER_MODE=off is the switch.
RUNNER_RATE_PER_MINUTE = envint("RUNNER_RATE_PER_MINUTE", 30, minimum=1)
RUNNER_MAX_IN_FLIGHT = envint("RUNNER_MAX_IN_FLIGHT", 8, minimum=1)
RUNNER_MAX_SERVICES = envint("RUNNER_MAX_SERVICES", 5, minimum=1)
RUNNER_MAX_REPLICAS = envint("RUNNER_MAX_REPLICAS", 10, minimum=1)
# One sandbox's budget, however many nodes it has (runner.sandbox.SandboxLimits), whatever the
# quotas above allow one by one: memory and processes for all its tasks together, CPU for its
# tasks and its engines together (dockerd, containerd and the shims, which log what tasks
# print). Each node's engine also has up to 512 MB and 2048 processes of its own (it holds
# about 50 MB idle). RUNNER_MAX_SANDBOXES budgets, and their engines, must fit the machine.
RUNNER_SANDBOX_MEMORY_MB = envint("RUNNER_SANDBOX_MEMORY_MB", 512, minimum=64, unit="MB")
RUNNER_SANDBOX_PIDS = envint("RUNNER_SANDBOX_PIDS", 1024, minimum=64)
# At least 25: a quota below a task's own (--limit-cpu 0.25) would refuse every task. Not per
# node: a sandbox's nodes share it, so any node count up to RUNNER_MAX_NODES fits in it.
RUNNER_SANDBOX_CPU_PERCENT = envint(
    "RUNNER_SANDBOX_CPU_PERCENT", 100, minimum=25, unit="% of a CPU"
)
# The docker CLI a run executes formats its output in memory: this bounds what it may take.
RUNNER_CLI_MEMORY_MB = envint("RUNNER_CLI_MEMORY_MB", 256, minimum=64, unit="MB")
# Sandboxes live at once for one client address (cookies are free to drop).
RUNNER_SANDBOXES_PER_ADDRESS = envint("RUNNER_SANDBOXES_PER_ADDRESS", 3, minimum=1)
# Workers write their heartbeat every 30 s (run_worker --housekeeping): staler means none runs.
RUNNER_HEARTBEAT_STALE = envint("RUNNER_HEARTBEAT_STALE", 180, minimum=60, unit="seconds")
# Production runs tasks as unprivileged host users (root in a task is uid 100000 on the host).
# It costs nothing measurable here, but every directory above RUNNER_BASE_DIR must be o+x.
RUNNER_USERNS_REMAP = envbool("RUNNER_USERNS_REMAP", not DEBUG)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
# A talk's change page posts every note of it (seven fields a note, plus blocks and lines):
# Django's default of 1,000 fields refused a talk of 140 notes with a bare "Bad Request",
# losing the edit. Still a bound on what a request may make the server parse, so there is no
# "no limit"; below Django's default of 1,000 the admin's own pages would be refused.
DATA_UPLOAD_MAX_NUMBER_FIELDS = envint("DATA_UPLOAD_MAX_NUMBER_FIELDS", 20_000, minimum=1000)

LANGUAGE_CODE = "en-us"
TIME_ZONE = envzone("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# In development whitenoise serves straight from the app folders; production uses collectstatic.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# Security. Production (DEBUG off) gets HTTPS-only cookies, HSTS and SECURE_SSL_REDIRECT: plain
# HTTP is redirected to https. Behind a TLS-terminating proxy, set BEHIND_TLS_PROXY=true so the
# proxy's X-Forwarded-Proto: https counts (gunicorn.conf.py makes gunicorn itself trust none),
# and the runner takes a client's address from the last X-Forwarded-For entry, the one the proxy
# added (runner.addresses).
BEHIND_TLS_PROXY = envbool("BEHIND_TLS_PROXY", False)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", not DEBUG)
# A refused form or htmx request gets a page (or an alert) in plain words, in the site's style.
CSRF_FAILURE_VIEW = "notes_site.csrf.csrf_failure"
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = envint(
    "SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0, unit="seconds"
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
X_FRAME_OPTIONS = "DENY"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": [
            "'self'",
            "'unsafe-inline'",
        ],  # the admin uses style attributes; scripts stay strict
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

LOG_LEVEL = envchoice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}
