"""Fixtures for the runner's tests."""

from __future__ import annotations

import os
import socket
import stat
import threading
import time
from pathlib import Path

import pytest
from django.utils import timezone

from runner.models import RunnerStatus, Sandbox
from talks.models import SnippetLine


@pytest.fixture
def fake_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Return a function that installs a fake `docker` script and puts it first on PATH.

    For fault tests only (hangs, floods, odd exits); real behaviour is tested on real engines.
    """
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', os.defpath)}")

    def install(script: str) -> Path:
        path = bin_dir / "docker"
        path.write_text(script)
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        return path

    return install


@pytest.fixture
def engine_socket(tmp_path):
    """A stand-in engine socket that answers each connection with the reply given."""
    path = tmp_path / "docker.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(4)
    replies: list[bytes | None] = []
    requests: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                requests.append(conn.recv(1024))
                reply = replies.pop(0) if replies else None
                if reply is None:
                    time.sleep(2)  # a frozen engine: connected, never answers
                else:
                    conn.sendall(reply)

    threading.Thread(target=serve, daemon=True).start()
    yield f"unix://{path}", replies, requests
    server.close()


@pytest.fixture
def line(demo_day):
    """The demo day's `docker service ls`, a line the policy allows."""
    return SnippetLine.objects.get(command="docker service ls")


@pytest.fixture
def runner_up(db):
    """A fresh heartbeat of a worker that can run: the pages offer Run."""
    return RunnerStatus.objects.create(
        pk=1, available=True, explanation="Sandboxes available.", checked_at=timezone.now()
    )


FAKE_HOST = "unix:///nonexistent/confnotes-fake-docker.sock"


@pytest.fixture
def fake_shared_engine(settings):
    """Runs go to a "shared" engine at FAKE_HOST: a fake `docker` binary answers for it
    (``fake_docker``), and the worker knows it already (a ready Sandbox row)."""
    settings.RUNNER_MODE = "shared"
    settings.RUNNER_SHARED_DOCKER_HOST = FAKE_HOST
    settings.RUNNER_TIMEOUT = 5
    return Sandbox.objects.create(
        name="shared",
        shared=True,
        status=Sandbox.Status.READY,
        docker_host=FAKE_HOST,
        engine_version="20.10.24-fake",
    )
