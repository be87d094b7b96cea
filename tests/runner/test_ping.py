"""The liveness check before every run: a plain ``GET /_ping`` on a sandbox's Unix socket."""

from __future__ import annotations

import time

from runner.swarm import ping


def test_an_engine_that_answers_200_is_alive(engine_socket):
    host, replies, requests = engine_socket
    replies.append(b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\n\r\nOK")
    assert ping(host) is True
    assert requests[0].startswith(b"GET /_ping HTTP/1.0\r\n")


def test_an_engine_that_answers_an_error_is_not(engine_socket):
    host, replies, _ = engine_socket
    replies.append(b"HTTP/1.1 500 Internal Server Error\r\n\r\n")
    assert ping(host) is False


def test_garbage_or_silence_is_not_alive(engine_socket):
    host, replies, _ = engine_socket
    replies.append(b"200 OK but not HTTP")
    assert ping(host) is False
    started = time.monotonic()
    assert ping(host, timeout=0.3) is False  # frozen: the timeout bounds the wait
    assert time.monotonic() - started < 1.5


def test_a_missing_socket_is_not_alive(tmp_path):
    assert ping(f"unix://{tmp_path}/nothing.sock") is False
