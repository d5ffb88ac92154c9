"""Run code we do not trust inside bubblewrap, with hard limits, and say honestly how it ended.

Why bubblewrap: it puts one program in fresh Linux namespaces without a daemon or root, and
Debian ships it (``apt-get install bubblewrap``). Each run gets:

* new user, pid, network, ipc, uts and cgroup namespaces (``--unshare-all``); the network
  namespace has only its own loopback, so nothing on this machine or beyond is reachable;
* an empty tmpfs root holding read-only binds of ``/usr`` (plus the ``/bin``, ``/lib*``
  symlinks or binds, ``/etc/alternatives`` for ``cc`` and ``/etc/ld.so.cache``) and nothing
  else: no home directory, no working directory, no ``/etc/passwd``; then ``/`` and ``/dev``
  are made read-only;
* a private, size-capped tmpfs at ``/work`` (the working directory, with the files copied in),
  ``/tmp`` and ``/dev/shm``; a fresh ``/proc`` and a minimal ``/dev``;
* uid/gid 65534 inside; when we are root, bubblewrap itself is started as uid 65534 too,
  because the kernel never enforces ``RLIMIT_NPROC`` for real uid 0 (a fork bomb would
  otherwise run free);
* ``prlimit`` inside the sandbox sets CPU seconds, address space, processes, file size and
  no core files, so the limits bind the program and not bubblewrap's own set-up.

We kill the sandbox when it passes the wall-clock limit or prints more than allowed, and we
return only once every process in it is gone. Blocking by design: callers use a thread.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Literal

import attrs

from peer.errors import PeerclassError

__all__ = [
    "DEFAULT_LIMITS",
    "ENV_SANDBOX",
    "Limits",
    "RunResult",
    "RunStatus",
    "SandboxUnavailable",
    "run_sandboxed",
    "run_unsandboxed",
    "sandbox_available",
    "sandbox_python",
]

INSTALL_HINT = "install bubblewrap: apt-get install bubblewrap"
#: Set to ``off`` to make this computer behave as one without a sandbox, for every caller
#: (tests, and trying the refusal). It can only take the sandbox away: hidden tests then do
#: not run at all; only a self-check whose caller allows it runs the student's own code plainly.
ENV_SANDBOX = "PEERCLASS_SANDBOX"
#: The uid and gid the program runs as, inside the sandbox and (when we are root) outside.
NOBODY = 65534
WORK_DIR = "/work"
#: How much of stderr is kept (its end, where tracebacks are).
STDERR_KEEP = 64 * 1024
MiB = 1024 * 1024
_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")
_READ_CHUNK = 65536
#: How long to wait for the sandbox to vanish once we killed it or it ended; it takes
#: milliseconds, this is only a bound against a kernel that misbehaves.
_TEARDOWN_SECONDS = 10.0
#: How long bubblewrap may take to name the sandbox's pid 1. Milliseconds normally; this
#: bound is for a machine loaded far past its cores. The program has not started by then,
#: so this time is not charged to its wall-clock limit.
_SETUP_SECONDS = 20.0

RunStatus = Literal["ok", "exit_error", "killed", "timeout", "memory", "output_limit", "file_limit"]
"""How a run ended.

``ok``: exit status 0. ``exit_error``: a non-zero exit status. ``killed``: ended by a signal
(a crash such as SIGSEGV or SIGABRT). ``timeout``: passed the CPU limit (SIGXCPU, or SIGKILL
at the hard limit) or the wall-clock limit (we killed it). ``memory``: an allocation failed
under the address-space limit; seen from its stderr (Python's ``MemoryError``, C++'s
``std::bad_alloc``, "Cannot allocate memory", "out of memory"), because the kernel gives no
other sign; so a program that gets NULL from ``malloc`` and exits without a word is an
``exit_error``, never a claimed ``memory``. ``output_limit``: printed more than the limit
(we killed it). ``file_limit``: wrote a file past the file-size limit (SIGXFSZ, or "File too
large" on stderr when the signal is ignored, as Python does).
"""

_MEMORY_MARKERS = (b"MemoryError", b"std::bad_alloc", b"Cannot allocate memory", b"out of memory")
_FILE_MARKERS = (b"File too large",)


class SandboxUnavailable(PeerclassError):
    """Hidden tests must never run unsandboxed; this says why the sandbox cannot be used."""


@attrs.frozen
class Limits:
    """What one run may use. Every limit is hard: passing it ends the run."""

    cpu_seconds: int = attrs.field(default=2, validator=attrs.validators.gt(0))
    #: Counted from when the program is let go, not while bubblewrap creates the sandbox.
    wall_seconds: float = attrs.field(default=6.0, validator=attrs.validators.gt(0))
    #: Address space (RLIMIT_AS), which is what a failed ``malloc`` or ``MemoryError`` sees.
    memory_bytes: int = attrs.field(default=512 * MiB, validator=attrs.validators.gt(0))
    #: Processes and threads in the sandbox, its own init process included.
    processes: int = attrs.field(default=32, validator=attrs.validators.gt(0))
    #: stdout and stderr together.
    output_bytes: int = attrs.field(default=16 * MiB, validator=attrs.validators.gt(0))
    #: Largest single file the program may write (RLIMIT_FSIZE).
    file_bytes: int = attrs.field(default=16 * MiB, validator=attrs.validators.gt(0))
    #: Room in each of /work (on top of the files copied in), /tmp and /dev/shm.
    tmpfs_bytes: int = attrs.field(default=64 * MiB, validator=attrs.validators.gt(0))


DEFAULT_LIMITS = Limits()


@attrs.frozen
class RunResult:
    """How a run ended and what it printed (stdout capped, stderr's last 64 KiB)."""

    status: RunStatus
    #: The exit status; ``-N`` when ended by signal N; None when we stopped it (timeout,
    #: output limit). Inside the sandbox an exit status above 128 reads as a signal, since
    #: bubblewrap reports "killed by signal N" as 128 + N.
    exit_code: int | None
    stdout: bytes
    stderr: bytes
    wall_seconds: float


# --- availability -------------------------------------------------------------------------


def sandbox_available() -> str | None:
    """None when sandboxed runs work here, else why not (a sentence saying what to install).

    Found once per process by running Python inside a sandbox, since bubblewrap can be
    installed yet unable to work (user namespaces disabled, too old a version).
    ``PEERCLASS_SANDBOX=off`` (read on every call) makes it answer as if there were none.
    """
    if os.environ.get(ENV_SANDBOX, "").strip().lower() == "off":
        return f"the sandbox is turned off by {ENV_SANDBOX}=off"
    return _probe()


@functools.cache
def _probe() -> str | None:
    if not sys.platform.startswith("linux"):
        return f"the sandbox needs Linux (this is {sys.platform}); no hidden tests run here"
    if _bwrap() is None:
        return f"bubblewrap (bwrap) is not installed; {INSTALL_HINT}"
    if not Path("/usr/bin/prlimit").is_file():
        return "prlimit is missing from /usr/bin; install util-linux: apt-get install util-linux"
    python = sandbox_python()
    if python is None:
        return "no Python for the sandbox; install python3: apt-get install python3"
    try:
        result = _run_bwrap([python, "-c", "pass"], {}, (), b"", Limits(wall_seconds=20.0))
    except SandboxUnavailable as exc:
        return str(exc)
    if result.status != "ok":
        detail = result.stderr.decode(errors="replace").strip()[-300:]
        return f"a trial run in the sandbox failed ({result.status}): {detail}; {INSTALL_HINT}"
    return None


def _bwrap() -> str | None:
    return shutil.which("bwrap") or (
        "/usr/bin/bwrap" if os.access("/usr/bin/bwrap", os.X_OK) else None
    )


def sandbox_python() -> str | None:
    """The Python interpreter to run inside the sandbox, by its path there (and here).

    The system ``/usr/bin/python3`` when present, since ``/usr`` is bound anyway; else the
    install this process runs from, whose prefix is then bound read-only on its own (never
    the home directory around it).
    """
    if Path("/usr/bin/python3").is_file():
        return "/usr/bin/python3"
    prefix = _python_prefix()
    if prefix is None:
        return None
    return str(Path(os.path.realpath(sys.executable)))


def _python_prefix() -> str | None:
    """The install prefix to bind for a Python outside /usr, or None if none is needed."""
    if Path("/usr/bin/python3").is_file():
        return None
    prefix = os.path.realpath(sys.base_prefix)
    executable = os.path.realpath(sys.executable)
    if prefix in ("/", "/usr") or not executable.startswith(prefix + "/"):
        return None
    return prefix


# --- the sandboxed run --------------------------------------------------------------------


def run_sandboxed(
    argv: Sequence[str],
    files: Mapping[str, bytes] | None = None,
    *,
    executables: Collection[str] = (),
    stdin: bytes = b"",
    limits: Limits = DEFAULT_LIMITS,
) -> RunResult:
    """Run ``argv`` in a fresh sandbox whose working directory holds ``files``.

    ``files`` maps plain names (no slashes) to contents, copied into ``/work``; names in
    ``executables`` get mode 0755. ``argv[0]`` is looked up on ``/usr/bin:/bin`` in the
    sandbox. Raises SandboxUnavailable rather than ever running the code another way.
    """
    reason = sandbox_available()
    if reason is not None:
        raise SandboxUnavailable(reason)
    return _run_bwrap(argv, files or {}, executables, stdin, limits)


def _run_bwrap(
    argv: Sequence[str],
    files: Mapping[str, bytes],
    executables: Collection[str],
    stdin: bytes,
    limits: Limits,
) -> RunResult:
    bwrap = _bwrap()
    if bwrap is None:
        raise SandboxUnavailable(f"bubblewrap (bwrap) is not installed; {INSTALL_HINT}")
    if not argv:
        raise ValueError("argv is empty")
    _check_names(files, executables)
    with contextlib.ExitStack() as stack:
        fds: list[int] = []

        def data_fd(data: bytes) -> int:
            fd = _memfd(data)
            stack.callback(os.close, fd)
            return fd

        status_read, status_write = _pipe(stack)
        block_read, block_write = _pipe(stack)
        work_size = limits.tmpfs_bytes + sum(len(data) for data in files.values())
        args = [bwrap, *_namespace_args(), *_filesystem_args(limits, work_size)]
        prefix = _python_prefix()
        if prefix is not None:
            args += ["--ro-bind", prefix, prefix]
        for name, data in sorted(files.items()):
            mode = "0755" if name in executables else "0644"
            fd = data_fd(data)
            fds.append(fd)
            args += ["--perms", mode, "--file", str(fd), f"{WORK_DIR}/{name}"]
        args += ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", WORK_DIR]
        args += ["--json-status-fd", str(status_write.fd), "--block-fd", str(block_read.fd)]
        args += ["--", *_prlimit_args(limits), *argv]
        stdin_fd = _read_only(data_fd(stdin))
        stack.callback(os.close, stdin_fd)
        try:
            proc = _popen_bwrap(args, stdin_fd, [*fds, status_write.fd, block_read.fd])
        except OSError as exc:
            raise SandboxUnavailable(f"could not start bubblewrap: {exc}") from exc
        init = _SandboxInit(proc.pid)
        stack.callback(init.close)
        stack.callback(_stop, proc, init)  # if we leave early, before _collect took over
        status_write.close()
        block_read.close()
        # bubblewrap names the sandbox's pid 1, then holds it on --block-fd until we have a
        # handle on it, so the handle surely is that process.
        status = init.learn(status_read.fd, time.monotonic() + _SETUP_SECONDS)
        if init.known:
            block_write.write(b"go")
        else:
            # Without that handle nothing could make sure the sandbox is gone when we return,
            # so the program never starts: pid 1, still waiting on --block-fd, is in
            # bubblewrap's process group and dies with it. (Closing the pipe releases it.)
            _kill_all(proc, init)
        block_write.close()
        started = time.monotonic()  # the program's wall clock starts once it is released
        collected = _collect(
            proc,
            limits,
            started + limits.wall_seconds,
            status_fd=status_read.fd,
            status=status,
            on_exit=init.kill,
            kill=functools.partial(_kill_all, proc, init),
        )
        init.wait_gone()
        wall = time.monotonic() - started
        exit_code = _bwrap_exit_code(collected.status)
        if collected.stopped is None and exit_code is None:
            message = collected.stderr.decode(errors="replace").strip()[-500:] or (
                f"no handle on its first process after up to {_SETUP_SECONDS:g} s"
            )
            raise SandboxUnavailable(
                f"bubblewrap could not set up the sandbox: {message} (it needs bubblewrap 0.8 or"
                " later and unprivileged user namespaces enabled)"
            )
        return _result(collected, exit_code, wall, limits)


def _popen_bwrap(args: list[str], stdin_fd: int, pass_fds: list[int]) -> subprocess.Popen[bytes]:
    """Start bubblewrap, as uid 65534 when we are root: RLIMIT_NPROC never binds uid 0."""
    as_nobody = os.geteuid() == 0
    return subprocess.Popen(
        args,
        stdin=stdin_fd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        pass_fds=pass_fds,
        cwd="/",
        env={"PATH": "/usr/bin:/bin"},
        start_new_session=True,
        user=NOBODY if as_nobody else None,
        group=NOBODY if as_nobody else None,
        extra_groups=[] if as_nobody else None,
    )


def _stop(proc: subprocess.Popen[bytes], init: _SandboxInit) -> None:
    """Kill and reap the sandbox unless that already happened; close our pipe ends."""
    if proc.poll() is None:
        _kill_all(proc, init)
        proc.wait()
        init.wait_gone()
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


def _kill_all(proc: subprocess.Popen[bytes], init: _SandboxInit) -> None:
    _kill_group(proc)
    init.kill()


class _Fd:
    """A file descriptor closed exactly once, whoever gets there first."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._open = True

    def write(self, data: bytes) -> None:
        with contextlib.suppress(BrokenPipeError):  # bubblewrap already gave up
            os.write(self.fd, data)

    def close(self) -> None:
        if self._open:
            self._open = False
            os.close(self.fd)


def _pipe(stack: contextlib.ExitStack) -> tuple[_Fd, _Fd]:
    read, write = (_Fd(fd) for fd in os.pipe())
    stack.callback(read.close)
    stack.callback(write.close)
    return read, write


def _namespace_args() -> list[str]:
    uid, gid = str(NOBODY), str(NOBODY)
    return [
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--uid",
        uid,
        "--gid",
        gid,
        "--die-with-parent",
        "--new-session",
        "--hostname",
        "sandbox",
        "--clearenv",
        "--setenv",
        "PATH",
        "/usr/bin:/bin",
        "--setenv",
        "HOME",
        WORK_DIR,
        "--setenv",
        "TMPDIR",
        "/tmp",
        "--setenv",
        "LANG",
        "C.UTF-8",
        "--setenv",
        "PYTHONDONTWRITEBYTECODE",
        "1",
    ]


def _filesystem_args(limits: Limits, work_size: int) -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    for path in ("/etc/alternatives", "/etc/ld.so.cache"):
        args += ["--ro-bind-try", path, path]
    size = str(limits.tmpfs_bytes)
    args += ["--proc", "/proc", "--dev", "/dev", "--size", size, "--tmpfs", "/dev/shm"]
    args += ["--size", size, "--tmpfs", "/tmp", "--size", str(work_size), "--tmpfs", WORK_DIR]
    return args


def _prlimit_args(limits: Limits) -> list[str]:
    cpu = limits.cpu_seconds
    return [
        "/usr/bin/prlimit",
        f"--cpu={cpu}:{cpu + 1}",
        f"--as={limits.memory_bytes}",
        f"--nproc={limits.processes}",
        f"--fsize={limits.file_bytes}",
        "--core=0",
        "--",
    ]


def _bwrap_exit_code(status: bytes) -> int | None:
    """The program's exit code from bubblewrap's status lines; None if it never started."""
    for line in status.decode(errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict) and isinstance(record.get("exit-code"), int):
                code: int = record["exit-code"]
                return -(code - 128) if 128 < code <= 128 + 64 else code
    return None


class _SandboxInit:
    """The sandbox's pid 1 (bubblewrap's reaper), held by a pidfd.

    When it is gone, the kernel has killed and reaped everything in the sandbox's pid
    namespace; waiting for it is how a run makes sure nothing outlives it.
    """

    def __init__(self, bwrap_pid: int) -> None:
        self._bwrap_pid = bwrap_pid
        self._pidfd: int | None = None

    @property
    def known(self) -> bool:
        """Whether we hold the handle (so can make sure the sandbox is gone)."""
        return self._pidfd is not None

    def learn(self, status_fd: int, deadline: float) -> bytes:
        """Read bubblewrap's first status line and take a pidfd on the pid it names.

        Returns what was read (EOF before a full line means set-up failed; the caller sees
        that later, since no exit code follows).
        """
        status = bytearray()
        with selectors.DefaultSelector() as selector:
            selector.register(status_fd, selectors.EVENT_READ)
            while b"\n" not in status and selector.select(max(0.0, deadline - time.monotonic())):
                chunk = os.read(status_fd, _READ_CHUNK)
                if not chunk:
                    break
                status += chunk
        if b"\n" in status:
            with contextlib.suppress(ValueError, AttributeError):
                pid = json.loads(status.split(b"\n", 1)[0]).get("child-pid")
                if isinstance(pid, int):
                    self._pidfd = _verified_pidfd(pid, self._bwrap_pid)
        return bytes(status)

    def kill(self) -> None:
        if self._pidfd is not None:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)

    def wait_gone(self) -> None:
        """Return once pid 1, and so all of the sandbox, is gone (SIGKILLed if need be)."""
        if self._pidfd is None:
            return
        self.kill()
        with selectors.DefaultSelector() as selector:
            selector.register(self._pidfd, selectors.EVENT_READ)
            selector.select(_TEARDOWN_SECONDS)

    def close(self) -> None:
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None


def _verified_pidfd(pid: int, parent: int) -> int | None:
    """A pidfd for ``pid`` if it is still ``parent``'s child, so surely the process meant.

    ``parent`` is our unreaped bubblewrap, so its pid cannot have been reused; a process that
    still names it as parent is the real one even if its own number was reused later.
    """
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        return None
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        os.close(pidfd)
        return None
    match = re.search(r"^PPid:\s*(\d+)", status, re.MULTILINE)
    if match is None or int(match.group(1)) != parent:
        os.close(pidfd)
        return None
    return pidfd


# --- the unsandboxed run (a student's own code on their own machine only) ------------------


def run_unsandboxed(
    argv: Sequence[str],
    files: Mapping[str, bytes] | None = None,
    *,
    executables: Collection[str] = (),
    stdin: bytes = b"",
    limits: Limits = DEFAULT_LIMITS,
) -> RunResult:
    """Run ``argv`` as a plain subprocess in a scratch directory, with the same limits where
    the platform has them (no process limit: it would count all of the user's processes).

    Only for a student's own code on their own computer; never for someone else's code.
    POSIX only (it relies on process groups).
    """
    _check_names(files or {}, executables)
    with tempfile.TemporaryDirectory(prefix="peerclass-own-") as tmp, tempfile.TemporaryFile() as i:
        for name, data in (files or {}).items():
            path = Path(tmp) / name
            path.write_bytes(data)
            path.chmod(0o755 if name in executables else 0o644)
        i.write(stdin)
        i.seek(0)
        prlimit = shutil.which("prlimit")
        prefix: list[str] = []
        preexec: Callable[[], None] | None = None
        if prlimit is not None:
            cpu = limits.cpu_seconds
            prefix = [prlimit, f"--cpu={cpu}:{cpu + 1}", f"--as={limits.memory_bytes}"]
            prefix += [f"--fsize={limits.file_bytes}", "--core=0", "--"]
        else:
            preexec = functools.partial(_set_own_limits, limits)
        env = {"PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8", "TMPDIR": tmp}
        started = time.monotonic()
        proc = subprocess.Popen(
            [*prefix, *argv],
            stdin=i,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=tmp,
            env=env,
            start_new_session=True,
            preexec_fn=preexec,  # only where prlimit is missing (not Linux)
        )
        collected = _collect(
            proc,
            limits,
            started + limits.wall_seconds,
            on_exit=lambda: _kill_group(proc),
            kill=lambda: _kill_group(proc),
        )
        code = proc.returncode
        return _result(collected, code, time.monotonic() - started, limits)


def _set_own_limits(limits: Limits) -> None:  # pragma: no cover (runs in the child)
    import resource

    cpu = limits.cpu_seconds
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    with contextlib.suppress(ValueError, OSError):  # macOS refuses RLIMIT_AS
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


# --- shared: supervising the process --------------------------------------------------------


@attrs.frozen
class _Collected:
    stdout: bytes
    stderr: bytes
    status: bytes
    stopped: Literal["timeout", "output_limit"] | None


def _collect(
    proc: subprocess.Popen[bytes],
    limits: Limits,
    deadline: float,
    *,
    kill: Callable[[], object],
    on_exit: Callable[[], object],
    status_fd: int | None = None,
    status: bytes = b"",
) -> _Collected:
    """Read stdout and stderr until both close and the process has exited, or a limit hits.

    Kills (``kill``) on the wall-clock deadline or when output passes the limit; ``on_exit``
    runs once the process has exited but before it is reaped, to end what it left behind.
    Returns with the process reaped.
    """
    assert proc.stdout is not None and proc.stderr is not None
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    stdout, stderr, status_read = bytearray(), bytearray(), bytearray(status)
    stopped: Literal["timeout", "output_limit"] | None = None
    total = 0
    exit_fd = os.pidfd_open(proc.pid) if hasattr(os, "pidfd_open") else None
    selector = selectors.DefaultSelector()
    try:
        for fd in (out_fd, err_fd, status_fd, exit_fd):
            if fd is not None:
                selector.register(fd, selectors.EVENT_READ)
        while selector.get_map() and stopped is None:
            remaining = deadline - time.monotonic()
            if exit_fd is None and not ({out_fd, err_fd} & set(selector.get_map())):
                break  # no pidfd here: wait for the exit below
            events = selector.select(remaining) if remaining > 0 else []
            if not events:
                stopped = "timeout"
                break
            # The exit last: what the process wrote before it is read first.
            for key, _ in sorted(events, key=lambda event: event[0].fd == exit_fd):
                fd = int(key.fd)
                if fd == exit_fd:
                    selector.unregister(fd)
                    on_exit()
                    continue
                chunk = os.read(fd, _READ_CHUNK)
                if not chunk:
                    selector.unregister(fd)
                elif fd == status_fd:
                    status_read += chunk
                else:
                    total += len(chunk)
                    if total > limits.output_bytes:
                        stopped = "output_limit"
                    if fd == out_fd:
                        stdout += chunk[: max(0, limits.output_bytes - len(stdout))]
                    else:
                        stderr += chunk
                        del stderr[:-STDERR_KEEP]
        if stopped is None and exit_fd is None:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                stopped = "timeout"
        if stopped is not None:
            kill()
        proc.wait()
    finally:
        selector.close()
        if exit_fd is not None:
            os.close(exit_fd)
        if proc.poll() is None:
            kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    return _Collected(bytes(stdout), bytes(stderr), bytes(status_read), stopped)


def _result(collected: _Collected, code: int | None, wall: float, limits: Limits) -> RunResult:
    status: RunStatus
    if collected.stopped is not None:
        status, code = collected.stopped, None
    else:
        status = _classify(code, collected.stderr, wall, limits)
    return RunResult(status, code, collected.stdout, collected.stderr, wall)


def _classify(code: int | None, stderr: bytes, wall: float, limits: Limits) -> RunStatus:
    """Name how a run that ended by itself ended; see RunStatus for what each name means."""
    if code == 0:
        return "ok"
    if code is None:
        return "killed"
    if code == -signal.SIGXCPU or (code == -signal.SIGKILL and wall >= limits.cpu_seconds):
        return "timeout"  # the soft CPU limit's signal, or SIGKILL at the hard limit
    if code == -signal.SIGXFSZ:
        return "file_limit"
    tail = stderr[-4096:]
    if any(marker in tail for marker in _MEMORY_MARKERS):
        return "memory"
    if any(marker in tail for marker in _FILE_MARKERS):
        return "file_limit"
    return "killed" if code < 0 else "exit_error"


# --- small helpers --------------------------------------------------------------------------


def _check_names(files: Mapping[str, bytes], executables: Collection[str]) -> None:
    for name in [*files, *executables]:
        if not _NAME_RE.fullmatch(name) or name in (".", ".."):
            raise ValueError(f"not a plain file name: {name!r}")
    missing = set(executables) - set(files)
    if missing:
        raise ValueError(f"executables not among the files: {sorted(missing)}")


def _memfd(data: bytes) -> int:
    """An anonymous in-memory file holding ``data``, positioned at its start."""
    fd = os.memfd_create("peerclass-sandbox", os.MFD_CLOEXEC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _read_only(fd: int) -> int:
    """A second, read-only descriptor of ``fd``'s file, so stdin cannot be written back."""
    return os.open(f"/proc/self/fd/{fd}", os.O_RDONLY | os.O_CLOEXEC)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process group ``proc`` leads; it is unreaped, so its id is still ours."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
