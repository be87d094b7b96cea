"""Run one docker CLI argv against a sandbox engine, safely.

The argv has already passed the command policy; this module only makes running it harmless:
no shell, a clean environment pointing at the sandbox's engine, a bound on the CLI's memory, a
timeout that kills the whole process group, and output capped in memory while the pipes are
still drained.
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

from django.conf import settings

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
# Invisible format characters (Unicode category Cf, which the policy refuses in commands):
# bidirectional embeddings, overrides, isolates and marks (the "Trojan Source" characters),
# zero-width spaces, tag characters (text hidden in plain sight)... Not the zero-width
# (non-)joiners, which emoji sequences and some scripts need. tests/runner/test_execute.py
# checks this against the unicodedata of the running Python.
_INVISIBLE = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b\u200e-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U00013438\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
    "\U000e0020-\U000e007f]"
)
# How the Go runtime says the memory limit stopped it (it then exits with status 2). The words
# depend on where it ran out: "runtime: out of memory", "cannot allocate memory", "out of memory
# allocating heap arena map", or a thread it could not start (errno 12 is ENOMEM).
_OUT_OF_MEMORY = re.compile(
    r"^(?:fatal error: .*(?:out of memory|cannot allocate memory)"
    r"|runtime: out of memory"
    r"|runtime: failed to create new OS thread .*errno=12)",
    re.MULTILINE,
)
_GO_FATAL_EXIT = 2
# The stack dump that follows a Go fatal error: hundreds of lines of no use to a visitor.
_STACK_DUMP = re.compile(r"^(?:goroutine \d+|runtime stack:)", re.MULTILINE)


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
    out_of_memory: bool = False  # the CLI stopped at its memory limit (see run_docker)

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
    memory_mb: int | None = None,
) -> ExecResult:
    """Run argv (``docker ...``) against docker_host with a timeout, capped output and memory.

    argv[0] == "docker" is replaced by the CLI found on PATH at call time. A CLI that cannot
    be found gives exit code 127 and an explanation in stderr, like a shell would. The CLI may
    use at most memory_mb megabytes (settings.RUNNER_CLI_MEMORY_MB unless given): a template
    can make it build gigabytes of output in memory before printing any.
    """
    args = tuple(argv)
    if not args:
        raise ValueError("argv must not be empty")
    if memory_mb is None:
        memory_mb = settings.RUNNER_CLI_MEMORY_MB
    path = os.environ.get("PATH", os.defpath)
    executable = args[0]
    if executable == "docker":
        found = shutil.which("docker", path=path)
        if found is None:
            return _not_run(
                args, "docker: command not found (install the docker CLI on the worker)"
            )
        executable = found
    # The limit is set by util-linux's prlimit, which sets it on itself and then execs the CLI:
    # it holds from the CLI's first instruction, and no Python runs between fork and exec. A
    # preexec_fn would run Python in the forked child of a process with threads (the worker's
    # pools, the sandboxes' reapers), which the subprocess docs warn can deadlock on a lock
    # another thread held at the fork. The data limit (RLIMIT_DATA), not the address-space one:
    # Go reserves far more address space than it uses and cannot start below about 1 GB of it,
    # while the data limit counts only the memory it can write to.
    prlimit = shutil.which("prlimit", path=path)
    if prlimit is None:
        return _not_run(
            args,
            "prlimit: command not found (install util-linux on the worker: it bounds the memory "
            "of the docker CLI)",
        )

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
                (prlimit, f"--data={memory_mb * 1024 * 1024}", "--", executable, *args[1:]),
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
    out_of_memory = exit_code == _GO_FATAL_EXIT and _OUT_OF_MEMORY.search(stderr) is not None
    if out_of_memory:
        stderr = _without_stack_dump(stderr) + (
            f"[The docker command ran out of memory (it may use at most {memory_mb} MB here), "
            "so it was stopped; the Go runtime's stack dump that followed is left out.]\n"
        )
    return ExecResult(
        argv=args,
        exit_code=exit_code,
        stdout=stdout,
        stderr=stderr,
        truncated=out.truncated or (err.truncated and not out_of_memory),
        timed_out=timed_out,
        duration=duration,
        out_of_memory=out_of_memory,
    )


def _not_run(args: tuple[str, ...], problem: str) -> ExecResult:
    """A program the run needs is missing: exit code 127 and why, like a shell would say."""
    return ExecResult(
        argv=args,
        exit_code=127,
        stdout="",
        stderr=problem + "\n",
        truncated=False,
        timed_out=False,
        duration=0.0,
    )


def _without_stack_dump(stderr: str) -> str:
    """stderr up to the Go runtime's fatal error, without the stack dump that follows it."""
    fatal = _OUT_OF_MEMORY.search(stderr)
    dump = _STACK_DUMP.search(stderr, fatal.end()) if fatal else None
    kept = stderr[: dump.start()] if dump else stderr
    return kept.rstrip("\n") + "\n"


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
    """Remove ANSI escape sequences and control characters other than newline and tab, and
    show invisible format characters (bidirectional controls, zero-width spaces...) as what
    they are (``[U+202E]``): a task may print them, and left in, they would make its output
    read differently from what it holds."""
    text = _ANSI.sub("", text)
    # Progress output rewrites lines with a bare carriage return; show each state on its own line.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    return _INVISIBLE.sub(lambda m: f"[U+{ord(m.group()):04X}]", text)


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
