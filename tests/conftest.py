"""Shared fixtures: the demo day, a generated large day, users."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from shutil import which

import pytest

from talks.demo import DOCKERCON_2016_DAY_1
from talks.documents import save_day
from tests.factories import make_big_day


def _engine_missing() -> str:
    if os.geteuid() != 0:
        return "the Docker engine tests need root (they create network namespaces)"
    tools = ("dockerd", "containerd", "docker", "nsenter", "ip")
    missing = [tool for tool in tools if not which(tool)]
    if missing:
        return "missing programs: " + ", ".join(missing) + " (apt-get install docker.io iproute2)"
    return ""


def _browser_missing() -> str:
    if not Path("/usr/bin/chromium").exists():
        return "Chromium is not installed (apt-get install chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -r requirements-dev.txt)"
    return ""


def pytest_sessionstart(session):
    """Each test run has a SQLite database of its own in var/, named by its pid (see
    notes_site.test_settings). A run killed halfway leaves it behind, with its -wal and -shm
    files (megabytes each): remove those of runs that are no longer alive."""
    from django.conf import settings

    from runner.processes import worker_alive

    name = settings.DATABASES["default"].get("TEST", {}).get("NAME") or ""
    if not name.startswith(str(settings.VAR_DIR)):
        return
    for path in Path(settings.VAR_DIR).glob("test-confnotes-*.sqlite3*"):
        pid = path.name.removeprefix("test-confnotes-").split(".", 1)[0]
        if pid.isdigit() and not worker_alive(int(pid)):
            path.unlink(missing_ok=True)
    # Likewise the sandboxes that tests of a run killed halfway left (see pytest_sessionfinish).
    for path in Path(settings.TEST_SANDBOXES_DIR).glob("run-*"):
        pid = path.name.removeprefix("run-")
        if pid.isdigit() and not worker_alive(int(pid)):
            _reap_test_sandboxes(path)


def pytest_sessionfinish(session):
    """A test that pressed Run without the ``sandboxes`` fixture started a real sandbox in this
    run's default directory (test_settings.RUNNER_BASE_DIR); stop them all, and say so."""
    from django.conf import settings

    base_dir = Path(settings.TEST_SANDBOXES_DIR) / f"run-{os.getpid()}"
    if base_dir.is_dir():
        session.config.stash[_LEFT_BEHIND] = _reap_test_sandboxes(base_dir)


def pytest_terminal_summary(terminalreporter, config):
    if left := config.stash.get(_LEFT_BEHIND, []):
        terminalreporter.write_line(
            f"Reaped {len(left)} sandbox(es) that tests started without the `sandboxes` fixture:"
            f" {', '.join(left)}. Give those tests the fixture.",
            yellow=True,
        )


_LEFT_BEHIND = pytest.StashKey[list]()


def _reap_test_sandboxes(base_dir: Path) -> list[str]:
    from runner.sandbox import reap_sandboxes

    removed = reap_sandboxes(base_dir=base_dir)
    shutil.rmtree(base_dir, ignore_errors=True)
    return removed


def pytest_runtest_setup(item):
    """Engine and browser tests run wherever they can; in CI a missing part is a failure."""
    for marker, check in (("engine", _engine_missing), ("browser", _browser_missing)):
        if item.get_closest_marker(marker) and (problem := check()):
            if in_ci():
                pytest.fail(f"CI must run the {marker} tests, but {problem}.", pytrace=False)
            pytest.skip(problem)


@pytest.fixture(autouse=True)
def _empty_search_index_after_a_flush(request, django_db_blocker):
    """A transactional test's data is flushed afterwards, table by table of the models; the
    search index's tables (created by a migration, not models) are emptied here as well, so
    no later test finds the rows of notes that are gone."""
    yield
    marker = request.node.get_closest_marker("django_db")
    transactional = marker is not None and marker.kwargs.get("transaction", False)
    if not (transactional or {"transactional_db", "live_server"} & set(request.fixturenames)):
        return
    from django.db import connection

    from talks.search import engine_for

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        engine_for().clear(cursor)


@pytest.fixture
def demo_day(db):
    day, _ = save_day(DOCKERCON_2016_DAY_1)
    return day


@pytest.fixture
def big_day(db):
    return make_big_day(talks=200, highlights_per_talk=10)


@pytest.fixture
def staff_user(db, django_user_model):
    return django_user_model.objects.create_user(
        username="editor", password="editor-password", is_staff=True, is_superuser=True
    )


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def plain_user(db, django_user_model):
    return django_user_model.objects.create_user(username="reader", password="reader-password")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def images_dir(tmp_path_factory) -> Path:
    """The offline stand-in images, built once per test session."""
    from runner.images import build_demo_images

    path = tmp_path_factory.mktemp("images")
    build_demo_images(out_dir=path)
    return path


@pytest.fixture
def sandboxes(settings, tmp_path_factory, images_dir):
    """Real private sandboxes for one test, in a base directory of its own, reaped after it."""
    from runner.sandbox import reap_sandboxes

    settings.RUNNER_MODE = "sandbox"
    settings.RUNNER_BASE_DIR = tmp_path_factory.mktemp("sbx")
    settings.RUNNER_IMAGES_DIR = images_dir
    settings.RUNNER_POOL_SIZE = 0
    settings.RUNNER_CONVERGE_SECONDS = 120
    yield settings.RUNNER_BASE_DIR
    reap_sandboxes(base_dir=settings.RUNNER_BASE_DIR)
