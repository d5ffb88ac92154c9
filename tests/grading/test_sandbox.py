"""Escape attempts: each one must be stopped inside the sandbox and reported as what it was.

Every test starts real sandboxes (bubblewrap) and real programs; nothing is mocked.
"""

from __future__ import annotations

import ast
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from peer.grading import (
    DEFAULT_LIMITS,
    CompileError,
    Limits,
    RunResult,
    SandboxUnavailable,
    _sandbox,
    prepare_program,
    run_program,
    run_sandboxed,
    sandbox_python,
)

from .helpers import live_processes_named, needs_sandbox, unique_process_name

pytestmark = needs_sandbox
NOBODY = 65534
MiB = 1024 * 1024
#: What the sandbox's root may hold: /usr and its companions, and the sandbox's own mounts.
ROOT_ENTRIES = {"bin", "sbin", "lib", "lib64", "lib32", "libx32", "usr", "dev", "proc", "tmp"}
ROOT_ENTRIES |= {"work"}


def run_python(code: str, limits: Limits = DEFAULT_LIMITS, stdin: bytes = b"") -> RunResult:
    python = sandbox_python()
    assert python is not None
    files = {"main.py": textwrap.dedent(code).encode()}
    return run_sandboxed([python, "main.py"], files, stdin=stdin, limits=limits)


def run_c(code: str, limits: Limits = DEFAULT_LIMITS) -> RunResult:
    program = prepare_program("c", textwrap.dedent(code))
    assert not isinstance(program, CompileError), program
    return run_program(program, b"", limits)


def lines(result: RunResult) -> list[str]:
    return result.stdout.decode().splitlines()


def test_plain_run_sees_only_its_files_and_stdin() -> None:
    result = run_python(
        """
        import os, sys
        print(os.getuid(), os.getgid(), os.getcwd(), sorted(os.listdir(".")))
        print(sys.stdin.read())
        """,
        stdin=b"hello",
    )
    assert result.status == "ok", result
    assert lines(result) == [f"{NOBODY} {NOBODY} /work ['main.py']", "hello"]


def test_no_network_not_even_the_hosts_loopback() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        result = run_python(
            f"""
            import socket
            print("interfaces", [name for _, name in socket.if_nameindex()])
            def attempt(address):
                try:
                    socket.create_connection(address, timeout=2).close()
                    print(address[0], "connected")
                except OSError as exc:
                    print(address[0], type(exc).__name__)
            attempt(("127.0.0.1", {port}))  # the host's listener, on the host's loopback
            attempt(("127.0.0.1", 9))
            # Only loopback exists (checked above), so this cannot leave the sandbox; the
            # address is TEST-NET-1 (RFC 5737), which is never routed anyway.
            attempt(("192.0.2.1", 80))
            """
        )
        assert result.status == "ok", result
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody knocked
    assert lines(result) == [
        "interfaces ['lo']",
        "127.0.0.1 ConnectionRefusedError",
        "127.0.0.1 ConnectionRefusedError",
        "192.0.2.1 OSError",  # ENETUNREACH: no route at all
    ]


def test_cannot_see_home_tmp_or_any_host_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("the answers")
    result = run_python(
        f"""
        import os
        print(sorted(os.listdir("/")))
        for path in ["/root", "/home", {str(secret)!r}, "/etc/passwd", "/etc/shadow",
                     {str(Path.cwd())!r}, "/proc/1/root/root"]:
            try:
                shown = os.listdir(path) if os.path.isdir(path) else open(path).read()
                print(path, "visible", shown)
            except OSError as exc:
                print(path, type(exc).__name__)
        for path in ["/usr/evil", "/evil", "/dev/evil", "/etc/evil"]:
            try:
                open(path, "w")
                print(path, "writable")
            except OSError as exc:
                print(path, type(exc).__name__)
        """
    )
    assert result.status == "ok", result
    out = lines(result)
    top = set(ast.literal_eval(out[0]))
    assert {"dev", "proc", "tmp", "usr", "work"} <= top <= {*ROOT_ENTRIES, "etc"}, top
    assert "the answers" not in result.stdout.decode()
    assert not [line for line in out if "visible" in line or "writable" in line], out
    assert f"{secret} FileNotFoundError" in out
    assert "/root FileNotFoundError" in out
    assert "/evil OSError" in out  # read-only root


def test_cannot_make_a_user_namespace_to_regain_privileges() -> None:
    result = run_sandboxed(["unshare", "--user", "--map-root-user", "true"])
    assert result.status == "exit_error"
    assert b"unshare failed" in result.stderr


def test_processes_are_counted_by_the_name_they_give_themselves() -> None:
    # What the fork-bomb tests rely on: a process that renames itself (as the bombs do
    # first) is counted while it runs, and no longer once it is gone.
    name = unique_process_name()
    code = f"open('/proc/self/comm', 'w').write({name!r})\nprint('named', flush=True)\ninput()"
    with subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    ) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        assert proc.stdout.readline() == b"named\n"
        assert live_processes_named(name) == 1
        proc.stdin.write(b"\n")
        proc.stdin.flush()
        assert proc.wait(timeout=60) == 0
    assert live_processes_named(name) == 0


def test_fork_bomb_hits_the_process_limit_and_leaves_nothing_behind() -> None:
    name = unique_process_name()
    limits = Limits(processes=20)
    result = run_python(
        f"""
        import os, signal
        with open("/proc/self/comm", "w") as comm:  # inherited: the count below finds them
            comm.write({name!r})
        children = 0
        try:
            while True:
                if os.fork() == 0:
                    # Each child stays alive, holding its slot, and lets go of stdout and
                    # stderr, so only the sandbox's teardown can tell us it is gone.
                    os.close(1)
                    os.close(2)
                    signal.pause()
                children += 1
        except OSError as exc:
            print(children, type(exc).__name__, open("/proc/self/comm").read().strip())
        """,
        limits,
    )
    assert result.status == "ok", result
    children, error, comm = lines(result)[0].split()
    # 20 processes in all: bubblewrap's init, the program, and the rest as children.
    assert (int(children), error, comm) == (18, "BlockingIOError", name)
    # The paused children were killed with the sandbox before run_sandboxed returned.
    assert live_processes_named(name) == 0


def test_endless_fork_bomb_is_stopped_by_the_clock() -> None:
    name = unique_process_name()
    result = run_python(
        f"""
        import os
        with open("/proc/self/comm", "w") as comm:
            comm.write({name!r})
        while True:
            try:
                os.fork()
            except OSError:
                pass
        """,
        Limits(cpu_seconds=1, wall_seconds=2.0, processes=30),
    )
    # The CPU limit (if the program got a second of CPU) or the wall clock, whichever comes
    # first on a loaded machine; either way nothing of the bomb outlives run_sandboxed.
    assert result.status == "timeout", result
    assert live_processes_named(name) == 0


def test_c_fork_bomb_is_stopped_too() -> None:
    name = unique_process_name()
    result = run_c(
        f"""
        #include <sys/prctl.h>
        #include <unistd.h>
        int main(void) {{
            if (prctl(PR_SET_NAME, "{name}") != 0) return 3;
            for (;;) fork();
        }}
        """,
        Limits(cpu_seconds=1, wall_seconds=2.0, processes=30),
    )
    assert result.status == "timeout", result
    assert live_processes_named(name) == 0


def test_the_sandbox_is_not_started_without_a_handle_on_its_first_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Without the handle nothing could make sure the sandbox is gone on return, so the
    # program must not start (it would pause, named, until the wall clock).
    monkeypatch.setattr(_sandbox, "_verified_pidfd", lambda pid, parent: None)
    name = unique_process_name()
    code = f"open('/proc/self/comm', 'w').write({name!r})\nimport signal\nsignal.pause()"
    with pytest.raises(SandboxUnavailable, match="no handle on its first process"):
        run_python(code, Limits(wall_seconds=30.0))
    assert live_processes_named(name) == 0


def test_allocating_4_gib_is_a_memory_failure() -> None:
    result = run_python("data = bytearray(4 * 1024**3)\nprint('allocated')", Limits())
    assert result.status == "memory", result
    assert result.stdout == b""


def test_c_allocating_4_gib_is_a_memory_failure() -> None:
    result = run_c(
        """
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        int main(void) {
            size_t size = (size_t)4 << 30;
            char *p = malloc(size);
            if (!p) { perror("malloc"); return 1; }
            memset(p, 1, size);
            puts("allocated");
            return 0;
        }
        """
    )
    assert result.status == "memory", result  # perror says "Cannot allocate memory"
    assert result.stdout == b""


def test_printing_forever_hits_the_output_limit() -> None:
    result = run_python("while True:\n    print('x' * 1000)", Limits(output_bytes=1 * MiB))
    assert result.status == "output_limit", result
    assert len(result.stdout) == 1 * MiB
    assert result.exit_code is None


def test_writing_a_huge_file_hits_the_file_size_limit() -> None:
    result = run_python(
        "open('big', 'wb').write(b'x' * (100 * 1024**2))", Limits(file_bytes=1 * MiB)
    )
    assert result.status == "file_limit", result


def test_c_writing_a_huge_file_is_killed_by_sigxfsz() -> None:
    result = run_c(
        """
        #include <stdio.h>
        int main(void) {
            static char block[65536];
            FILE *f = fopen("big", "wb");
            for (int i = 0; i < 1600; i++) fwrite(block, 1, sizeof block, f);
            fclose(f);
            puts("written");
            return 0;
        }
        """,
        Limits(file_bytes=1 * MiB),
    )
    assert (result.status, result.exit_code) == ("file_limit", -25), result
    assert result.stdout == b""


def test_many_small_files_cannot_fill_memory() -> None:
    result = run_python(
        """
        import os
        written = 0
        try:
            for i in range(10_000):
                with open(f"f{i}", "wb") as f:
                    f.write(b"x" * 1024**2)
                written += 1
        except OSError as exc:
            print(written, exc.strerror)
        """,
        Limits(tmpfs_bytes=8 * MiB, file_bytes=2 * MiB),
    )
    assert result.status == "ok", result
    written, error = lines(result)[0].split(" ", 1)
    assert int(written) <= 8 and error == "No space left on device"


def test_endless_loop_hits_the_cpu_limit() -> None:
    # CPU time accrues only while the program is scheduled, so on a loaded machine one CPU
    # second can take many wall seconds: the wall limit is far away, and only SIGXCPU (the
    # kernel's signal for RLIMIT_CPU) passes. The program tells its CPU time as it goes.
    code = """
        import os, time
        told = 0.0
        while True:
            used = time.process_time()
            if used >= told + 0.1:
                os.write(2, f"{used:.3f}\\n".encode())
                told = used
        """
    result = run_python(code, Limits(cpu_seconds=1, wall_seconds=120.0))
    assert (result.status, result.exit_code) == ("timeout", -24), result  # SIGXCPU
    # It had used its CPU second, and was stopped before the hard limit (2 s) would kill it.
    assert 0.9 <= float(result.stderr.split()[-1]) < 2.0, result


def test_waiting_forever_hits_the_wall_clock_limit() -> None:
    result = run_python("import signal\nsignal.pause()", Limits(wall_seconds=1.0))
    assert (result.status, result.exit_code) == ("timeout", None), result
    assert result.wall_seconds >= 1  # the wall clock, started when the program was let go


def test_crash_and_exit_status_are_told_apart() -> None:
    assert run_python("raise SystemExit(3)").exit_code == 3
    assert run_python("raise SystemExit(3)").status == "exit_error"
    crash = run_python("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)")
    assert (crash.status, crash.exit_code) == ("killed", -11)


def test_bubblewrap_missing_is_reported_with_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_sandbox, "_bwrap", lambda: None)
    reason = _sandbox._probe.__wrapped__()
    assert reason is not None and "apt-get install bubblewrap" in reason


def test_the_compiler_is_sandboxed_too(tmp_path: Path) -> None:
    secret = tmp_path / "secret.h"
    secret.write_text("int leaked = 1;\n")
    hostile = [
        f'#include "{secret}"',  # a host file: not there
        '#include "/root/.bashrc"',  # the instructor's home: not there
        '#include "/dev/zero"',  # endless input: stopped by the compile limits
    ]
    for line in hostile:
        program = prepare_program("c", f"{line}\nint main(void) {{ return 0; }}\n")
        assert isinstance(program, CompileError), line
    assert "No such file or directory" in str(
        prepare_program("c", f'#include "{secret}"\nint main(void) {{ return 0; }}\n')
    )
