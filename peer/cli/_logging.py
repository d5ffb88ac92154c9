"""Where log records go. ``peerclass run`` keeps its full log in a rotating file in the data
dir; the terminal shows what the person needs (warnings, errors, who joined or left), one line
each, without tracebacks, and never the same message more than a few times a minute. Other
commands show warnings on the terminal only. An unexpected error's traceback goes to the log
file, and the terminal gets a one-line pointer to it."""

from __future__ import annotations

import contextlib
import datetime
import functools
import logging
import logging.handlers
import os
import sys
import tempfile
import traceback
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import trio

from peer.logsummary import RepeatLimiter, is_for_people

LOG_FILE = "peerclass.log"
LOG_FILE_BYTES = 1 << 20
LOG_FILE_BACKUPS = 3
#: Per message and minute: what the terminal shows, and what the file keeps, of a repeat.
TERMINAL_BURST = 3
FILE_BURST = 20
SUMMARY_INTERVAL = 60.0
_FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@attrs.frozen
class LogSetup:
    """What :func:`setup_logging` installed: the log file (if any) and the tasks that end
    each summary interval on time (the running peer runs them in its nursery)."""

    file: Path | None
    tasks: Sequence[Callable[[], Awaitable[None]]] = ()


class _TerminalFormatter(logging.Formatter):
    """One line per record: a time, 'warning:'/'error:' where it is one, the message, and a
    pointer to the log file instead of a traceback."""

    def __init__(self, log_file: Path | None) -> None:
        super().__init__("%(asctime)s %(message)s", datefmt="%H:%M:%S")
        self._pointer = f" (details in {log_file})" if log_file is not None else ""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage().splitlines()[0] if record.getMessage() else ""
        if record.levelno >= logging.ERROR:
            message = f"error: {message}"
        elif record.levelno >= logging.WARNING:
            message = f"warning: {message}"
        if record.exc_info or record.exc_text:
            message += self._pointer
        return f"{self.formatTime(record, self.datefmt)} {message}"


class _LogFile(logging.handlers.RotatingFileHandler):
    """The rotating log file; on a full or read-only disk it drops records with one warning
    on the terminal, not logging's traceback per record."""

    failing = False
    _failed_now = False

    def _open(self) -> Any:
        """Open the file (a new one after each rollover) private to its owner, as everything
        in a data dir is (0600), whatever the umask or the directory's mode."""
        with contextlib.suppress(OSError):
            os.close(os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        stream = super()._open()
        with contextlib.suppress(OSError):
            os.fchmod(stream.fileno(), 0o600)
        return stream

    def emit(self, record: logging.LogRecord) -> None:
        self._failed_now = False
        super().emit(record)
        if not self._failed_now:
            self.failing = False  # written again: a new failure will be told again

    def close(self) -> None:
        # On a full disk what was buffered is dropped (the file is closed all the same).
        with contextlib.suppress(OSError):
            super().close()

    def handleError(self, record: logging.LogRecord) -> None:
        self._failed_now = True
        if self.failing:
            return
        self.failing = True
        error = sys.exc_info()[1]
        print(
            f"peerclass: warning: cannot write the log file {self.baseFilename} ({error}); "
            "its records are dropped until it can",
            file=sys.stderr,
        )


def _for_terminal(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING or is_for_people(record)


def _remove_ours(root: logging.Logger) -> None:
    """Take out the handlers an earlier call installed (tests call ``main`` many times)."""
    for handler in list(root.handlers):
        if getattr(handler, "peerclass", False):
            root.removeHandler(handler)
            handler.close()


#: How often the running peer ends summary intervals that nothing more was logged in.
CHECK_EVERY = 5.0


async def end_intervals_on_time(limiter: RepeatLimiter) -> None:
    """Say a limiter's summaries when their interval ends, even if nothing more is logged
    (a task in the running peer's nursery); until cancelled."""
    while True:
        await trio.sleep(CHECK_EVERY)
        limiter.flush_due()


def close_logging() -> None:
    """Take out what :func:`setup_logging` installed, saying any pending summaries (a command
    run in-process, as the tests do, leaves nothing behind)."""
    _remove_ours(logging.getLogger())


def setup_logging(command: str, data_dir: Path, *, file_log: bool) -> LogSetup:
    """Install the terminal handler, and for ``file_log`` the rotating file in ``data_dir``
    (an OSError if it cannot be written: the caller tells the person why)."""
    root = logging.getLogger()
    _remove_ours(root)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    log_file = data_dir / LOG_FILE if file_log else None
    handlers: list[logging.Handler] = []
    tasks: list[Callable[[], Awaitable[None]]] = []
    if log_file is not None:
        to_file = _LogFile(
            log_file, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_BACKUPS, encoding="utf-8"
        )
        to_file.setFormatter(logging.Formatter(_FILE_FORMAT))
        limited = RepeatLimiter(to_file, interval=SUMMARY_INTERVAL, burst=FILE_BURST)
        handlers.append(limited)
        tasks.append(functools.partial(end_intervals_on_time, limited))
    terminal = logging.StreamHandler(sys.stderr)
    terminal.setFormatter(_TerminalFormatter(log_file))
    where = f"all in {log_file}" if log_file is not None else ""
    shown = RepeatLimiter(terminal, interval=SUMMARY_INTERVAL, burst=TERMINAL_BURST, where=where)
    shown.addFilter(_for_terminal)
    handlers.append(shown)
    tasks.append(functools.partial(end_intervals_on_time, shown))
    for handler in handlers:
        handler.peerclass = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(logging.INFO if command in ("run", "demo") else logging.WARNING)
    return LogSetup(log_file, tuple(tasks) if file_log else ())


def record_internal_error(exc: BaseException, data_dir: Path, argv: Sequence[str]) -> Path | None:
    """Append ``exc``'s traceback to the data dir's log file (or, if that cannot be written,
    to one in the temp dir); the file written, or None if none could be."""
    when = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    text = f"{when} CRITICAL peerclass: internal error in 'peerclass {' '.join(argv)}'\n" + "".join(
        traceback.format_exception(exc)
    )
    fallback = Path(tempfile.gettempdir()) / f"peerclass-{os.getuid()}-{LOG_FILE}"
    for path in (data_dir / LOG_FILE, fallback):
        if path == fallback or path.parent.is_dir():
            try:
                with path.open("a", encoding="utf-8") as out:
                    out.write(text)
                return path
            except OSError:
                continue
    return None
