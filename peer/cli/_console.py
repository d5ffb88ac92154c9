"""What a person running ``peerclass run`` sees and types: arriving chat and curriculum news,
lines sent as chat."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import signal
import sys
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import trio

from peer.cli._console_chat import (
    announce_chat,
    announce_join,
    announce_revision,
    private_recipient,
    reply_recipient,
    waiting_lines,
)
from peer.cli._output import display_width, safe_line
from peer.cli._seen import Announcer, Seen
from peer.cli._speech import _, number, when
from peer.errors import PeerclassError, UsageError
from peer.identity import Membership, short_id
from peer.log import (
    MAX_CHAT_TEXT,
    Event,
    check_room,
    decode_event,
    is_late,
    normalize_newlines,
    seal,
)
from storage import AsyncStore, ClassNames, Store
from storage.queries import (
    chat_rooms,
    has_submitted,
    list_feedback,
    load_attestor,
    newest_revision,
    submission_ref,
)

log = logging.getLogger("peerclass.console")

if TYPE_CHECKING:
    from peer.cli._console_chat import Resolver


def _announce_problem(event: Event, seen: Seen) -> str | None:
    if event.author == seen.me.peer_id:
        return None
    official = event.author == seen.me.klass.instructor
    revised = bool(event.body.get("supersedes"))
    values = {
        "title": repr(event.body["title"]),
        "who": seen.name_of(event.author),
        "command": f"peerclass problem show {short_id(event.id)}",
    }
    if official:
        if revised:
            return _("[curriculum] revised official problem {title} by {who}: {command}", **values)
        return _("[curriculum] new official problem {title} by {who}: {command}", **values)
    if revised:
        return _("[curriculum] revised practice problem {title} by {who}: {command}", **values)
    return _("[curriculum] new practice problem {title} by {who}: {command}", **values)


def _problem_title(seen: Seen, problem: bytes) -> str:
    found = newest_revision(seen.store, problem, seen.me.klass.instructor)
    return _("a problem not yet here") if found is None else repr(found.title)


def _announce_submission(event: Event, seen: Seen) -> str | None:
    """For the instructor, every student's attempt; for a student, someone else's attempt at a
    problem they have submitted to too."""
    me, problem = seen.me.peer_id, event.body["problem"]
    if event.author == me:
        return None
    if seen.me.is_instructor:
        return _new_work(event, seen)
    if not has_submitted(seen.store, me, problem):
        return None
    return _(
        "[curriculum] {who} submitted attempt {attempt} at {title}: {id}",
        who=seen.name_of(event.author),
        attempt=event.body["attempt"],
        title=_problem_title(seen, problem),
        id=short_id(event.id),
    )


def _new_work(event: Event, seen: Seen) -> str:
    """One line the instructor reads about one new submission."""
    found = newest_revision(seen.store, event.body["problem"], seen.me.klass.instructor)
    title = _("a problem not yet here") if found is None else repr(found.title)
    attest = load_attestor(seen.store)  # witnessed time decides (issue 18)
    late = found is not None and (
        is_late(event.ts, found.due, found.late_policy)
        if attest is None
        else attest.late(event.author, event.seq, event.ts, found.due, found.late_policy)
    )
    values = {
        "who": seen.name_of(event.author),
        "attempt": event.body["attempt"],
        "title": title,
        "command": f"peerclass submission show {short_id(event.id)}",
    }
    if late:
        return _(
            "[submission] {who} submitted attempt {attempt} at {title} (late): {command}", **values
        )
    return _("[submission] {who} submitted attempt {attempt} at {title}: {command}", **values)


def _batched_work(events: Sequence[Event], seen: Seen) -> str:
    """One line for many submissions arriving at once (a catch-up), by problem."""
    titles: Counter[str] = Counter()
    for event in events:
        found = newest_revision(seen.store, event.body["problem"], seen.me.klass.instructor)
        titles[_("a problem not yet here") if found is None else repr(found.title)] += 1
    by_problem = ", ".join(
        _("{count} at {title}", count=count, title=title) for title, count in sorted(titles.items())
    )
    return _(
        "[submission] {count} new submissions ({by_problem}); "
        "'peerclass queue' lists those waiting for your verdict",
        count=len(events),
        by_problem=by_problem,
    )


def _announce_feedback(event: Event, seen: Seen) -> str | None:
    """Feedback on one of our submissions."""
    me = seen.me.peer_id
    reviewed = submission_ref(seen.store, event.body["submission"])
    if event.author == me or reviewed is None or reviewed.author != me:
        return None
    role = _("instructor") if event.author == seen.me.klass.instructor else _("peer")
    # The verdict and score are sealed (issue 10): read them as the projection opened them.
    opened = next(
        (
            f
            for f in list_feedback(
                seen.store, seen.me.klass.instructor, submission=event.body["submission"]
            )
            if f.id == event.id
        ),
        None,
    )
    verdict = event.body.get("verdict") or (opened.verdict if opened else None) or _("sealed")
    score = event.body.get("score", opened.score if opened else None)
    said = _(
        "[curriculum] {who} ({role}) on your attempt {attempt} at {title}: {verdict}",
        who=seen.name_of(event.author),
        role=role,
        attempt=reviewed.attempt,
        title=_problem_title(seen, reviewed.problem),
        verdict=verdict,  # the verdict word is the protocol's (accept, revise...): as signed
    )
    if score is not None:
        said += f" ({score}/100)"
    return said + (_(" (revised)") if event.body.get("supersedes") else "")


#: The kinds worth a line on the terminal, and how each is told.
_ANNOUNCERS: dict[str, Announcer] = {
    "chat": announce_chat,
    "edit": announce_revision,
    "delete": announce_revision,
    "join": announce_join,
    "problem": _announce_problem,
    "submission": _announce_submission,
    "feedback": _announce_feedback,
}


#: More new submissions than this in one batch are told in one line (the instructor's view).
MAX_SUBMISSION_LINES = 5


def announcements(
    store: Store, me: Membership, raws: Sequence[bytes], names: ClassNames | None = None
) -> list[str]:
    """The lines to print for newly stored events (blocking: call it in a worker thread);
    ``names`` is the class's names where the caller holds them still current."""
    seen = Seen(me, store, store.names() if names is None else names)
    events = [decode_event(raw) for raw in raws]
    work = [
        e for e in events if me.is_instructor and e.kind == "submission" and e.author != me.peer_id
    ]
    lines = []
    if len(work) > MAX_SUBMISSION_LINES:
        lines.append(_batched_work(work, seen))
        events = [e for e in events if e.id not in {w.id for w in work}]
    for event in events:
        line = _ANNOUNCERS[event.kind](event, seen)
        if line is not None:
            lines.append(line)
    return lines


#: A batch with more chat than this is a catch-up: summarise instead of scrolling it all past.
MAX_CHAT_LINES = 10


async def follow_events(
    store: AsyncStore, membership: Membership, announce: Callable[[str], None]
) -> None:
    """Print a line for each newly stored event worth telling the user about (and, for an
    instructor, first: who is waiting to be admitted)."""
    cursor = store.watch.max_local_id
    for line in await store.query(waiting_lines, membership):
        announce(line)
    # Who is called what, read again only when a batch holds more than chat (a profile, a
    # roster change): a line of chat changes no name, and this runs for every one.
    names: ClassNames | None = None
    while True:
        await store.watch.wait_beyond(cursor)
        batch = await store.refs_after(cursor, 1000)
        if not batch:
            continue
        cursor = batch[-1].local_id
        if names is None or any(r.kind != "chat" for r in batch):
            names = await store.names()
        chat = [r for r in batch if r.kind == "chat" and r.author != membership.peer_id]
        if len(chat) > MAX_CHAT_LINES:
            announce(
                _(
                    "({count} messages arrived while catching up; 'peerclass chat log' "
                    "shows them all; the latest follow)",
                    count=len(chat),
                )
            )
            skip = {r.local_id for r in chat[:-3]}
            batch = [r for r in batch if r.local_id not in skip]
        batch = [r for r in batch if r.kind in _ANNOUNCERS]
        if not batch:
            continue
        raws = await store.raws([r.local_id for r in batch])
        for line in await store.query(announcements, membership, raws, names):
            announce(line)


def help_text() -> str:
    """What ``/help`` prints."""
    return _(
        "/help this list; /who who is online and who was seen; /rooms rooms with messages; "
        "/room NAME switch rooms; /msg NAME TEXT a private message; /reply TEXT answer the "
        "last private message; /quit stop the peer. Any other line is sent as chat."
    )


#: A canonical-mode terminal line holds at most this many characters: a longer paste arrives
#: cut (the kernel drops the rest), so a line this long is refused rather than sent cut short.
TERMINAL_LINE_LIMIT = 4095


@attrs.frozen
class Command:
    """What one typed line asks for: ``chat`` (send ``arg``), a console command, or an error."""

    name: str
    arg: str = ""


def parse_line(text: str, *, cooked: bool = True) -> Command:
    """A typed line as a command: lines starting with ``/`` are never sent as chat. A
    ``cooked`` terminal (no prompt_toolkit) cuts lines at its limit without telling."""
    if text.startswith("/"):
        word, _space, rest = text[1:].partition(" ")
        word = word.lower()
        if word in ("help", "who", "rooms", "quit"):
            return Command(word)
        if word == "room":
            return Command("room", rest.strip()) if rest.strip() else Command("error", "/room NAME")
        if word == "msg":
            said = rest.strip().partition(" ")[2]
            return (
                Command("msg", rest.strip()) if said.strip() else Command("error", "/msg NAME TEXT")
            )
        if word == "reply":
            return (
                Command("reply", rest.strip()) if rest.strip() else Command("error", "/reply TEXT")
            )
        return Command("error", _("unknown command /{word}; /help lists the commands", word=word))
    if len(text) > MAX_CHAT_TEXT:
        return Command(
            "error",
            _(
                "not sent: the message is {length} characters; the limit is {limit}. "
                "Split it, or share long text as a problem or submission",
                length=number(len(text)),
                limit=number(MAX_CHAT_TEXT),
            ),
        )
    if cooked and len(text) >= TERMINAL_LINE_LIMIT:
        return Command(
            "error",
            _(
                "not sent: the line is {length} characters, the terminal's limit, so it was "
                "probably cut; send long text with 'peerclass chat send' or the web UI",
                length=number(len(text)),
            ),
        )
    return Command("chat", text)


def _who(store: Store, me: Membership) -> list[str]:
    names = store.names()
    lines = []
    records = store.peer_records()
    for record in sorted(records, key=lambda r: (not r.connected, names.label(r.id))):
        if record.id == me.peer_id:
            continue
        name = names.label(record.id)
        if record.connected:
            state = _("online")
        elif record.last_seen is None:
            state = _("not seen yet")
        else:
            state = _("last seen {when}", when=when(record.last_seen))
        lines.append(f"  {name} ({short_id(record.id)}): {state}")
    return lines or ["  " + _("nobody else yet")]


def _rooms(store: Store) -> list[str]:
    rooms = sorted({*chat_rooms(store), "general"})
    return ["  " + ", ".join(f"#{r}" for r in rooms)]


@attrs.frozen
class Typist:
    """Who types at this console, into which store; ``resolve`` turns a typed name or id
    prefix into a peer id (for ``/msg``)."""

    store: AsyncStore
    me: Membership
    resolve: Resolver


async def read_terminal(
    store: AsyncStore, membership: Membership, room: str, *, resolve: Resolver
) -> None:
    """Send each typed line as chat to the current room; lines starting with ``/`` are
    console commands (``/help``). On a terminal, arriving lines are printed above the line
    being typed (prompt_toolkit), which is redrawn intact below them."""
    print(
        _(
            "type a message and press Enter to send it to #{room}; /help lists the commands",
            room=room,
        )
    )
    typist = Typist(store, membership, resolve)
    if sys.stdin.isatty() and sys.stdout.isatty():
        await _prompt_loop(typist, room)
        return
    send, receive = trio.open_memory_channel[str | None](LINE_QUEUE)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_read_lines, send)
        async with receive:
            while True:
                lines = [await receive.receive()]
                # Lines that arrived while the last ones were being saved go in together.
                while lines[-1] is not None and len(lines) < LINE_QUEUE:
                    try:
                        lines.append(receive.receive_nowait())
                    except trio.WouldBlock:
                        break
                typed = [line for line in lines if line is not None]
                room = await _handle_lines(typist, room, typed)
                if lines[-1] is None:
                    return  # end of input: keep running, stop reading


#: Typed lines read ahead while earlier ones are saved (and saved together).
LINE_QUEUE = 256


async def _read_lines(send: trio.MemorySendChannel[str | None]) -> None:
    async with send:
        while True:
            line = await trio.to_thread.run_sync(sys.stdin.readline, abandon_on_cancel=True)
            await send.send(line.rstrip("\r\n") if line else None)
            if not line:
                return


async def _handle_lines(typist: Typist, room: str, lines: list[str]) -> str:
    """Handle typed lines in order; consecutive chat lines are saved in one transaction (one
    disk sync for a burst), commands between them keep their place."""
    store, membership = typist.store, typist.me
    chat: list[tuple[str, dict[str, Any]]] = []

    async def flush() -> None:
        if len(chat) > 1:
            try:
                await store.append_many(membership.signing_key, list(chat))
                chat.clear()
            except PeerclassError:
                pass  # one bad line spoils no other: save them one by one, and say which
        for kind, body in chat:
            try:
                await store.append(membership.signing_key, kind, body)
            except PeerclassError as exc:
                print(_("not sent: {reason}", reason=exc))
        chat.clear()

    for text in lines:
        command = parse_line(text.strip(), cooked=True) if text.strip() else None
        if command is not None and command.name == "chat":
            chat.append(("chat", {"room": room, "text": normalize_newlines(command.arg)}))
            continue
        await flush()
        room = await _handle(typist, room, text, cooked=True)
    await flush()
    return room


async def _handle(typist: Typist, room: str, text: str, *, cooked: bool) -> str:
    """Do what one typed line asks; the room to use from now on."""
    if not text.strip():
        return room
    store, membership = typist.store, typist.me
    command = parse_line(text.strip(), cooked=cooked)
    try:
        if command.name == "help":
            print(help_text())
        elif command.name == "who":
            _print_block(await store.query(_who, membership))
        elif command.name == "rooms":
            _print_block(await store.query(_rooms))
        elif command.name in ("msg", "reply"):
            await _send_private(typist, room, command)
        elif command.name == "room":
            room = check_room(command.arg)
            print(_("now in #{room}", room=room))
        elif command.name == "quit":
            os.kill(os.getpid(), signal.SIGTERM)  # the node stops cleanly on SIGTERM
        elif command.name == "error":
            print(command.arg)
        else:
            body = {"room": room, "text": normalize_newlines(command.arg)}
            await store.append(membership.signing_key, "chat", body)
    except PeerclassError as exc:
        print(_("not sent: {reason}", reason=exc))
    return room


async def _send_private(typist: Typist, room: str, command: Command) -> None:
    """``/msg NAME TEXT`` or ``/reply TEXT``: sealed to one recipient, as ``chat send --to``."""
    store, me = typist.store, typist.me
    if command.name == "msg":
        recipient, text = await store.query(private_recipient, me, command.arg, typist.resolve)
        if not text:
            raise UsageError(_("/msg NAME TEXT: the text is missing"))
    else:
        recipient, text = await store.query(reply_recipient, me), command.arg
    if recipient == me.peer_id:
        raise UsageError(_("that is you; private messages are for someone else"))
    text = normalize_newlines(text)
    body = {"room": room, "to": recipient, "sealed": seal(me.signing_key, recipient, text)}
    await store.append(me.signing_key, "chat", body)
    names = await store.names()
    name = names.get(recipient) or short_id(recipient)
    print(safe_line(_("(sent privately to {name})", name=name)))


def _print_block(lines: list[str]) -> None:
    """A command's answer, each line on a line of its own below the prompt line: one write,
    so nothing printed meanwhile lands between its lines (or on the prompt's line)."""
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


async def _prompt_loop(typist: Typist, room: str) -> None:
    """Read lines with prompt_toolkit in a worker thread (it runs its own asyncio loop there)
    while this thread's prints go through ``patch_stdout``, above the prompt line."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.patch_stdout import patch_stdout

    session: PromptSession[str] = PromptSession()
    finished = threading.Event()

    def ask(prompt: str) -> str | None:
        try:
            return session.prompt(prompt)
        except EOFError:
            return None
        except KeyboardInterrupt:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C stops the peer, as without a prompt
            return None
        finally:
            finished.set()

    with patch_stdout(raw=True):
        try:
            while True:
                finished.clear()
                line = await trio.to_thread.run_sync(ask, f"#{room}> ", abandon_on_cancel=True)
                if line is None:
                    return
                room = await _handle(typist, room, line, cooked=False)
        finally:
            # Cancelled while the prompt waits: end it, so the terminal leaves raw mode.
            _stop_prompt(session.app)
            with trio.move_on_after(2, shield=True):
                await trio.to_thread.run_sync(finished.wait, 2.0)


def _stop_prompt(app: Any) -> None:
    loop = getattr(app, "loop", None)
    if app.is_running and loop is not None:
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(lambda: app.exit(exception=EOFError()))


# ---- what the console prints -------------------------------------------------------------


def console_line(line: str, stamp: str | None = None) -> str:
    """A line to print: every control character shown inert, but the line breaks an announcer
    put in kept (its continuation lines are indented). With ``stamp`` (the local time), it
    leads the first line and the others are indented past it."""
    parts = [safe_line(part) for part in line.split("\n")]
    if stamp is None:
        return "\n".join(parts)
    pad = " " * (display_width(stamp) + 1)
    return "\n".join([f"{stamp} {parts[0]}", *(pad + part for part in parts[1:])])


def clock_stamp(now: dt.datetime | None = None) -> str:
    """This computer's time, its zone named (``14:05:09 KST``), as ``--timestamps`` shows."""
    moment = (now or dt.datetime.now(dt.UTC)).astimezone()
    return moment.strftime("%H:%M:%S %Z")


def console_printer(*, timestamps: bool = False) -> Callable[[str], None]:
    """How arriving news is printed: one :func:`console_line` at a time, flushed."""

    def announce(line: str) -> None:
        print(console_line(line, clock_stamp() if timestamps else None), flush=True)

    return announce
