"""Fault tests for run_docker, with a fake `docker` put first on PATH."""

from __future__ import annotations

import json
import sys
import time
import tracemalloc
import unicodedata
from pathlib import Path

import pytest

from runner.execute import KILL_GRACE, ExecResult, run_docker, strip_terminal_escapes

HOST = "unix:///nonexistent/docker.sock"


def _alive(pid: int) -> bool:
    # A zombie is dead for our purposes: it holds no resources and its parent will reap it.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_it_kills_the_whole_process_group_on_timeout(fake_docker, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    fake_docker(
        f"""#!/bin/sh
echo started
echo $$ >> {pids}
# A child that ignores SIGTERM: only the SIGKILL that follows gets rid of it.
sh -c 'trap "" TERM; echo $$ >> {pids}; exec sleep 60' &
exec sleep 60
"""
    )
    started = time.monotonic()
    result = run_docker(["docker", "service", "ls"], docker_host=HOST, timeout=1.0)
    elapsed = time.monotonic() - started

    assert result.timed_out
    assert result.exit_code is None
    assert result.stdout == "started\n"
    assert "[timed out after 1 s: the command and its children were killed]" in result.stderr
    assert 1.0 <= elapsed < 1.0 + KILL_GRACE + 2.0
    recorded = [int(line) for line in pids.read_text().split()]
    assert len(recorded) == 2
    deadline = time.monotonic() + 2
    while any(_alive(pid) for pid in recorded) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in recorded if _alive(pid)]


def test_it_caps_a_flood_of_output_without_holding_it(fake_docker) -> None:
    fake_docker(
        """#!/bin/sh
head -c 52428800 /dev/zero | tr '\\0' x
echo "an error line" >&2
"""
    )
    tracemalloc.start()
    try:
        result = run_docker(["docker", "service", "logs", "vote"], docker_host=HOST, timeout=60)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert result.exit_code == 0  # drained to the end, not killed
    assert result.truncated
    assert not result.timed_out
    assert result.stdout.endswith("\n[output truncated at 64 KiB]\n")
    assert result.stdout.startswith("x" * 1000)
    assert len(result.stdout) <= 64 * 1024 + 100
    assert result.stderr == "an error line\n"
    assert peak < 8 * 1024 * 1024, f"peak traced memory {peak} bytes for 50 MB of output"


def test_it_caps_each_stream_to_max_output(fake_docker) -> None:
    fake_docker("#!/bin/sh\nhead -c 5000 /dev/zero | tr '\\0' e >&2\necho short\n")

    result = run_docker(["docker", "ps"], docker_host=HOST, max_output=1000)

    assert result.stdout == "short\n"
    assert result.stderr == "e" * 1000 + "\n[output truncated at 1000 bytes]\n"
    assert result.truncated


def test_it_passes_arguments_without_a_shell(fake_docker) -> None:
    fake_docker('#!/bin/sh\nfor arg in "$@"; do echo "[$arg]"; done\n')

    result = run_docker(
        ["docker", "service", "create", "--name", "x; rm -rf /", "$(id)", "a|b", "*"],
        docker_host=HOST,
    )

    assert result.stdout.splitlines() == [
        "[service]",
        "[create]",
        "[--name]",
        "[x; rm -rf /]",
        "[$(id)]",
        "[a|b]",
        "[*]",
    ]


def test_it_resolves_docker_on_path_at_call_time(fake_docker) -> None:
    fake = fake_docker('#!/bin/sh\necho "$0"\n')

    result = run_docker(["docker", "version"], docker_host=HOST)

    assert result.stdout == f"{fake}\n"
    assert result.argv == ("docker", "version")  # the argv as asked, for the record


def test_it_runs_with_a_clean_environment(fake_docker, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "do-not-leak")
    monkeypatch.setenv("DOCKER_CONTEXT", "host-engine")
    fake_docker(
        f"""#!{sys.executable}
import json, os
print(json.dumps({{"env": dict(os.environ), "cwd": os.getcwd(),
    "config": os.listdir(os.environ["DOCKER_CONFIG"])}}))
"""
    )

    result = run_docker(["docker", "info"], docker_host="unix:///srv/sbx/docker.sock")

    seen = json.loads(result.stdout)
    env = seen["env"]
    assert set(env) == {"PATH", "LANG", "HOME", "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CLI_HINTS"}
    assert env["DOCKER_HOST"] == "unix:///srv/sbx/docker.sock"
    assert env["LANG"] == "C.UTF-8"
    assert env["DOCKER_CLI_HINTS"] == "false"
    assert seen["config"] == []
    assert seen["cwd"] == env["HOME"]
    assert not Path(env["HOME"]).exists()  # the temporary home is removed afterwards


def test_it_strips_terminal_escapes_and_control_characters(fake_docker) -> None:
    fake_docker(
        r"""#!/bin/sh
printf '\033]0;window title\007\033[1;31mred\033[0m and\tplain\n'
printf 'progress 1/3\rprogress 3/3\r\nbell\007 null\000 del\177 end\n'
printf '\033[2K\033[1A\033(Bdone\n' >&2
"""
    )

    result = run_docker(["docker", "service", "create", "vote"], docker_host=HOST)

    assert result.stdout == "red and\tplain\nprogress 1/3\nprogress 3/3\nbell null del end\n"
    assert result.stderr == "done\n"


def test_it_strips_escapes_from_plain_strings() -> None:
    assert strip_terminal_escapes("\x1b[32mok\x1b[0m\x9b1m\x07") == "ok"


def test_it_shows_bidirectional_controls_instead_of_obeying_them() -> None:
    # "access granted" that a right-to-left override would make read otherwise; emoji joiners
    # and other format characters are left alone.
    printed = "user \u202egnirts\u202c ok \u2066x\u2069 \u200f 👩\u200d💻"
    assert strip_terminal_escapes(printed) == (
        "user [U+202E]gnirts[U+202C] ok [U+2066]x[U+2069] [U+200F] 👩\u200d💻"
    )


def test_it_shows_every_invisible_format_character_but_the_joiners() -> None:
    """A zero-width space in a task's output was passed through, unseen; the policy refuses
    the same category (Cf) in commands."""
    invisible = [
        chr(code)
        for code in range(0x110000)
        if unicodedata.category(chr(code)) == "Cf" and code not in {0x200C, 0x200D}
    ]
    shown = strip_terminal_escapes("".join(invisible))
    assert shown == "".join(f"[U+{ord(c):04X}]" for c in invisible)
    assert strip_terminal_escapes("a\u200bb \u200c\u200d") == "a[U+200B]b \u200c\u200d"


def test_it_decodes_invalid_utf8_with_replacement_characters(fake_docker) -> None:
    fake_docker("#!/bin/sh\nprintf 'caf\\303\\251 \\377\\376 ok\\n'\n")

    result = run_docker(["docker", "ps"], docker_host=HOST)

    assert result.stdout == "café \ufffd\ufffd ok\n"


def test_it_does_not_split_a_character_at_the_cap(fake_docker) -> None:
    fake_docker("#!/bin/sh\nprintf 'aa\\303\\251\\303\\251'\n")  # "aaéé": 6 bytes

    result = run_docker(["docker", "ps"], docker_host=HOST, max_output=3)

    assert result.stdout == "aa\n[output truncated at 3 bytes]\n"


@pytest.mark.parametrize(
    ("script", "expected"),
    [("exit 0", 0), ("exit 3", 3), ("kill -9 $$", 137)],
)
def test_it_reports_exit_codes(fake_docker, script: str, expected: int) -> None:
    fake_docker(f"#!/bin/sh\n{script}\n")

    result = run_docker(["docker", "ps"], docker_host=HOST)

    assert result.exit_code == expected
    assert result.ok is (expected == 0)
    assert not result.timed_out


def test_it_explains_a_missing_docker_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    result = run_docker(["docker", "ps"], docker_host=HOST)

    assert result == ExecResult(
        argv=("docker", "ps"),
        exit_code=127,
        stdout="",
        stderr="docker: command not found (install the docker CLI on the worker)\n",
        truncated=False,
        timed_out=False,
        duration=0.0,
    )


def test_it_is_quick_for_a_quick_command(fake_docker) -> None:
    fake_docker("#!/bin/sh\necho ok\n")

    result = run_docker(["docker", "ps"], docker_host=HOST)

    assert result.stdout == "ok\n"
    assert result.duration < 0.5  # no polling interval or drain delay on a normal exit


def test_it_does_not_wait_for_an_escaped_child_holding_the_pipe(fake_docker) -> None:
    # The CLI exits but leaves a child (same process group) with stdout open: we stop
    # reading shortly after the exit and the child is killed with the group.
    fake_docker("#!/bin/sh\necho parent\nsleep 30 &\n")

    started = time.monotonic()
    result = run_docker(["docker", "ps"], docker_host=HOST, timeout=20)

    assert result.exit_code == 0
    assert result.stdout == "parent\n"
    assert time.monotonic() - started < 3
