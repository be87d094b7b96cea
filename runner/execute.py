"""Run one docker CLI argv against a sandbox engine, safely.

The argv has already passed the command policy; this module only makes running it harmless:
no shell, a clean environment pointing at the sandbox's engine, a timeout that kills the whole
process group, and output capped in memory while the pipes are still drained.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass

# How long a process group gets between SIGTERM and SIGKILL once the timeout has passed.
KILL_GRACE = 1.0
# After the CLI exits, how long to keep reading pipes that a leftover child still holds open.
DRAIN_GRACE = 0.5
_CHUNK = 64 * 1024

# CSI (colours, cursor moves), OSC (window titles, hyperlinks) and two-byte ESC sequences.
_ANSI = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]               # CSI ... final byte
    | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?  # OSC ... BEL or ST
    | \x1b[PX^_][^\x1b]*(?:\x1b\\)?       # DCS, SOS, PM, APC strings
    | \x1b[ -/]*[0-~]                     # other ESC sequences (charset, keypad modes...)
    | \x9b[0-?]*[ -/]*[@-~]               # 8-bit CSI
    """,
    re.VERBOSE,
)
# Everything else a terminal would interpret: C0 controls except \t and \n, DEL, C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class ExecResult:
    """What one docker CLI invocation did, ready to store and show."""

    argv: tuple[str, ...]
    exit_code: int | None  # None when killed by timeout; 128+N when killed by signal N
    stdout: str  # decoded utf-8 (errors=replace), escapes stripped, capped
    stderr: str
    truncated: bool  # a marker line such as "[output truncated at 64 KiB]" ends the capped stream
    timed_out: bool
    duration: float  # seconds

    @property
    def ok(self) -> bool:
        """True when the command ran to completion and exited 0."""
        return self.exit_code == 0


class _CappedBuffer:
    """Keeps the first `limit` bytes of a stream and counts (but drops) the rest."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.data = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.limit - len(self.data)
        if room > 0:
            self.data += chunk[:room]

    @property
    def truncated(self) -> bool:
        return self.total > self.limit


def run_docker(
    argv: Sequence[str],
    *,
    docker_host: str,
    timeout: float = 30.0,
    max_output: int = 64 * 1024,
) -> ExecResult:
    """Run argv (``docker ...``) against docker_host with a timeout and capped output.

    argv[0] == "docker" is replaced by the CLI found on PATH at call time. A CLI that cannot
    be found gives exit code 127 and an explanation in stderr, like a shell would.
    """
    args = tuple(argv)
    if not args:
        raise ValueError("argv must not be empty")
    executable = args[0]
    if executable == "docker":
        found = shutil.which("docker", path=os.environ.get("PATH", os.defpath))
        if found is None:
            return ExecResult(
                argv=args,
                exit_code=127,
                stdout="",
                stderr="docker: command not found (install the docker CLI on the worker)\n",
                truncated=False,
                timed_out=False,
                duration=0.0,
            )
        executable = found

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="confnotes-run-") as home:
        docker_config = os.path.join(home, "docker-config")
        os.mkdir(docker_config, 0o700)
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "LANG": "C.UTF-8",
            "HOME": home,
            "DOCKER_HOST": docker_host,
            "DOCKER_CONFIG": docker_config,
            "DOCKER_CLI_HINTS": "false",
        }
        try:
            proc = subprocess.Popen(
                (executable, *args[1:]),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                cwd=home,  # relative paths in argv resolve to an empty directory
                start_new_session=True,  # own process group, so a timeout can kill all of it
                close_fds=True,
            )
        except OSError as exc:
            return ExecResult(
                argv=args,
                exit_code=126 if isinstance(exc, PermissionError) else 127,
                stdout="",
                stderr=f"{executable}: {exc.strerror or exc}\n",
                truncated=False,
                timed_out=False,
                duration=time.monotonic() - started,
            )
        out, err, timed_out = _communicate(proc, timeout=timeout, max_output=max_output)
        returncode = proc.wait()
    duration = time.monotonic() - started

    if timed_out:
        exit_code: int | None = None
    elif returncode < 0:
        exit_code = 128 - returncode  # shell convention for "killed by signal N"
    else:
        exit_code = returncode
    stdout = _render(out, max_output)
    stderr = _render(err, max_output)
    if timed_out:
        stderr += f"[timed out after {timeout:g} s: the command and its children were killed]\n"
    return ExecResult(
        argv=args,
        exit_code=exit_code,
        stdout=stdout,
        stderr=stderr,
        truncated=out.truncated or err.truncated,
        timed_out=timed_out,
        duration=duration,
    )


def _communicate(
    proc: subprocess.Popen[bytes], *, timeout: float, max_output: int
) -> tuple[_CappedBuffer, _CappedBuffer, bool]:
    """Drain both pipes until the process exits, killing its group on timeout.

    One selector loop instead of reader threads: a pipe held open by an escaped grandchild
    cannot then block us forever, and memory stays bounded by the caps plus one chunk.
    """
    assert proc.stdout is not None and proc.stderr is not None
    buffers = {proc.stdout.fileno(): _CappedBuffer(max_output)}
    buffers[proc.stderr.fileno()] = _CappedBuffer(max_output)
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()

    sel = selectors.DefaultSelector()
    for fd in buffers:
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ)
    # A pidfd becomes readable when the process exits: no polling interval, no added latency.
    pidfd = _pidfd_open(proc.pid)
    if pidfd is not None:
        sel.register(pidfd, selectors.EVENT_READ)

    deadline = time.monotonic() + timeout
    timed_out = False
    hard_kill_at: float | None = None
    drain_until: float | None = None
    try:
        while True:
            now = time.monotonic()
            exited = _has_exited(proc.pid)
            open_pipes = [fd for fd in buffers if fd in sel.get_map()]
            if exited:
                if not open_pipes:
                    break
                if drain_until is None:
                    drain_until = now + DRAIN_GRACE
                    if pidfd is not None:
                        sel.unregister(pidfd)
                elif now >= drain_until:
                    break
            elif now >= deadline:
                if not timed_out:
                    timed_out = True
                    _kill_group(proc.pid, signal.SIGTERM)
                    hard_kill_at = now + KILL_GRACE
                elif hard_kill_at is not None and now >= hard_kill_at:
                    _kill_group(proc.pid, signal.SIGKILL)
                    hard_kill_at = None

            wake = [t for t in (hard_kill_at, drain_until) if t is not None]
            if not exited and not timed_out:
                wake.append(deadline)
            wait: float | None = max(min(wake) - now, 0.0) if wake else None
            if pidfd is None:
                wait = 0.05 if wait is None else min(wait, 0.05)  # no pidfd: poll for exit
            for key, _ in sel.select(wait):
                fd = key.fd
                if fd == pidfd:
                    continue
                try:
                    chunk = os.read(fd, _CHUNK)
                except BlockingIOError:
                    continue
                if chunk:
                    buffers[fd].feed(chunk)
                else:
                    sel.unregister(fd)
    finally:
        sel.close()
        if pidfd is not None:
            os.close(pidfd)
        # Whatever is left of the group (the leader is still a zombie, so its pgid is not
        # reused) goes too: a finished or timed-out run leaves no process behind.
        _kill_group(proc.pid, signal.SIGKILL)
        proc.stdout.close()
        proc.stderr.close()
    return buffers[out_fd], buffers[err_fd], timed_out


def _render(buffer: _CappedBuffer, max_output: int) -> str:
    # A final=False decoder drops a multi-byte character cut in half by the cap instead of
    # turning it into a replacement character.
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    text = decoder.decode(bytes(buffer.data), final=not buffer.truncated)
    text = strip_terminal_escapes(text)
    if buffer.truncated:
        if text and not text.endswith("\n"):
            text += "\n"
        text += f"[output truncated at {_human_size(max_output)}]\n"
    return text


def strip_terminal_escapes(text: str) -> str:
    """Remove ANSI escape sequences and control characters other than newline and tab."""
    text = _ANSI.sub("", text)
    # Progress output rewrites lines with a bare carriage return; show each state on its own line.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


def _human_size(n: int) -> str:
    if n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MiB"
    if n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n} bytes"


def _pidfd_open(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _has_exited(pid: int) -> bool:
    """True once pid has exited, without reaping it (WNOWAIT keeps the zombie and its pgid)."""
    try:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return info is not None


def _kill_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
