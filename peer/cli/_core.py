"""Commands that set up and run a peer: init, invite, run, peers, status, demo."""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import nacl.signing
import trio

from peer.cli._args import ENV_DISCOVERY_ADDR, ENV_DISCOVERY_PORT, host_port, ipv4, tcp_port
from peer.cli._console import console_printer, follow_events, read_terminal
from peer.cli._membership import founding_body, join_body, keep_membership
from peer.cli._output import iso_from_ms, local_time_iso, print_json, print_table
from peer.cli._presence import tell_presence
from peer.cli._restoring import join_with_restored_identity
from peer.cli._witness import keep_checkpoints
from peer.continuity import new_phrase
from peer.errors import StorageError, UsageError, ValidationError
from peer.identity import (
    CLASS_FILE,
    IDENTITY_FILE,
    PHRASE_RESTORED,
    ClassInfo,
    Membership,
    has_identity,
    load_membership,
    loose_permissions,
    parse_invite,
    save_membership,
    short_id,
)
from peer.log import check_room, validate_body
from peer.net import DEFAULT_DISCOVERY_ADDR, DEFAULT_DISCOVERY_PORT, Node, NodeConfig
from storage import AsyncStore, Store


def open_peer(data_dir: Path) -> tuple[Membership, Store]:
    """The identity and store of an initialised data dir; the identity carries its roster
    role, so a co-instructor acts as the instructor (DESIGN §10)."""
    membership = load_membership(data_dir)
    store = Store.open(data_dir)
    return with_role(membership, store), store


def with_role(membership: Membership, store: Store) -> Membership:
    """``membership`` with its role as the store's roster names it now."""
    roster = store.roster()
    role = None if roster is None else roster.role(membership.peer_id)
    return attrs.evolve(membership, role=role)


def resolve_peer(store: Store, text: str) -> bytes:
    """A peer named ``text`` (any case) or whose id starts with it; an error if not exactly one."""
    names = store.names()
    known = set(names) | set(store.heads())
    wanted = text.strip().casefold()
    # The roster name or the whole label ("Bob (pending)"): a name two identities share is
    # ambiguous, so a pending "Ms. Kim" never silently stands in for the member.
    matches = {
        a for a in known if wanted in (names.of(a).name.casefold(), names.label(a).casefold())
    }
    if len(wanted) >= 4 and all(c in "0123456789abcdef" for c in wanted):
        matches |= {a for a in known if a.hex().startswith(wanted)}
    if not matches:
        raise UsageError(f"no peer is named {text!r} or has an id starting with it")
    if len(matches) > 1:
        raise UsageError(f"{text!r} matches {len(matches)} peers: give more of the id")
    return matches.pop()


def add_commands(sub: Any) -> None:

    init = sub.add_parser("init", help="create this peer's identity and join or create a class")
    init.add_argument("--name", required=True, help="your name as classmates will see it")
    init.add_argument("--role", choices=["instructor", "student"], default=None)
    init.add_argument("--class", dest="class_name", help="create a class with this name")
    init.add_argument("--invite", help="join the class of this invite string")
    phrase = init.add_mutually_exclusive_group()
    phrase.add_argument(
        "--recovery-phrase",
        action="store_true",
        default=None,
        help="print 24 words that alone restore this identity (the instructor's default)",
    )
    phrase.add_argument(
        "--no-recovery-phrase",
        dest="recovery_phrase",
        action="store_false",
        help="do not print the recovery phrase",
    )
    init.add_argument("--json", action="store_true")
    init.set_defaults(handler=cmd_init)

    run = sub.add_parser("run", help="run the peer until Ctrl-C or SIGTERM")
    run.add_argument("--bind", default="0.0.0.0", help="address to listen on")
    run.add_argument("--port", type=tcp_port, default=0, help="TCP port (0: any free port)")
    run.add_argument(
        "--discovery-addr",
        type=ipv4,
        default=None,
        help="broadcast address for beacons (default: that of every interface that is up)",
    )
    run.add_argument("--discovery-port", type=tcp_port, default=None, help="UDP beacon port")
    run.add_argument(
        "--no-discovery",
        action="store_true",
        help="neither beacons nor mDNS: only --peer, the invite's addresses and peer exchange",
    )
    run.add_argument("--no-beacons", action="store_true", help="send and hear no UDP beacons")
    run.add_argument("--no-mdns", action="store_true", help="no DNS-SD over mDNS")
    run.add_argument(
        "--peer",
        type=host_port,
        action="append",
        default=[],
        metavar="HOST:PORT",
        help="a peer to connect to directly (repeatable)",
    )
    run.add_argument("--room", default="general", help="room for lines typed in the terminal")
    run.add_argument(
        "--timestamps",
        action="store_true",
        help="start each line the console prints with the local time (its zone named)",
    )
    run.add_argument("--no-ui", action="store_true", help="do not serve the local web UI")
    run.add_argument(
        "--ui-port", type=tcp_port, default=0, help="port of the web UI (0: any free port)"
    )
    run.add_argument("--open", action="store_true", help="open the web UI in the default browser")
    run.set_defaults(handler=cmd_run, env_addr=ENV_DISCOVERY_ADDR, env_port=ENV_DISCOVERY_PORT)
    run.set_defaults(parse_ipv4=ipv4, parse_port=tcp_port)

    peers = sub.add_parser("peers", help="list known peers")
    peers.add_argument("--json", action="store_true")
    peers.set_defaults(handler=cmd_peers)

    status = sub.add_parser("status", help="this peer's identity, class and logs")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=cmd_status)

    demo = sub.add_parser("demo", help="run a short class of several peers on loopback")
    demo.add_argument("--peers", type=int, default=3, help="how many peers (3 to 8)")
    demo.set_defaults(handler=cmd_demo)


def _join_as_restored(args: argparse.Namespace) -> int:
    """``init`` in a data dir that holds an identity restored from its phrase alone: join
    the invite's class with that identity, signing nothing (its log lives on classmates)."""
    if not args.invite:
        raise UsageError(
            f"{args.data_dir} holds an identity restored from its recovery phrase: give the "
            "class invite (--invite) to put it back in its class"
        )
    membership = join_with_restored_identity(args.data_dir, args.invite)
    assert membership is not None
    print(
        f"rejoined class {membership.klass.name!r} as {short_id(membership.peer_id)} (restored "
        "from its recovery phrase; --name is not used); run 'peerclass run' to fetch its "
        "history from classmates"
    )
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    data_dir: Path = args.data_dir
    if has_identity(data_dir):
        raise UsageError(f"{data_dir} already has an identity; nothing was changed")
    if (data_dir / PHRASE_RESTORED).exists():
        return _join_as_restored(args)
    if args.invite and args.class_name:
        raise UsageError("give either --class (to create a class) or --invite (to join one)")
    # The key is derived from a recovery phrase (issue 22), shown where asked for.
    phrase, seed = new_phrase()
    key = nacl.signing.SigningKey(seed)
    if args.invite:
        if args.role == "instructor":
            raise UsageError("joining with an invite makes you a student; omit --role")
        (klass, token), role = parse_invite(args.invite), "student"
    elif args.class_name:
        if args.role != "instructor":
            raise UsageError("creating a class needs --role instructor")
        if not args.class_name.strip() or len(args.class_name) > 100:
            raise UsageError("--class must be a name of 1 to 100 characters")
        klass, role = ClassInfo.create(args.class_name.strip(), bytes(key.verify_key)), "instructor"
        token = None
    else:
        raise UsageError("give --class NAME --role instructor, or --invite INVITE")
    profile = {"name": args.name.strip(), "role": role}
    try:
        validate_body("profile", profile)
    except ValidationError as exc:
        raise UsageError(f"--name: {exc}") from None
    membership = Membership(key, klass)
    existed = {name for name in (IDENTITY_FILE, CLASS_FILE) if (data_dir / name).exists()}
    try:
        save_membership(data_dir, membership)
        store = Store.open(data_dir)
        try:
            store.append(key, "profile", profile)
            # Issue 10: a joiner asks to be admitted (its invite's token sealed to the
            # instructor); a new class starts its roster with its instructor.
            if role == "student":
                store.append(key, "join", join_body(klass, profile["name"], token))
            else:
                store.append(key, "roster", founding_body(membership, profile["name"]))
        finally:
            store.close()
    except (StorageError, OSError):
        # Nothing was signed with the new key: take it away, so that 'init' can be run again
        # once the disk is fixed (instead of "already has an identity").
        for name in {IDENTITY_FILE, CLASS_FILE} - existed:
            (data_dir / name).unlink(missing_ok=True)
        raise
    result = {
        "peer_id": membership.peer_id.hex(),
        "class_id": klass.class_id.hex(),
        "invite": klass.invite(),
    }
    if args.recovery_phrase or (args.recovery_phrase is None and role == "instructor"):
        result["recovery_phrase"] = phrase
        if not args.json:
            print(RECOVERY_NOTE)
            print(f"  {phrase}")
    if args.json:
        print_json(result)
    else:
        what = "created class" if role == "instructor" else "joined class"
        print(f"{what} {klass.name!r} as {profile['name']} ({role}), peer id {result['peer_id']}")
        if role == "instructor":
            print(OPEN_INVITE_NOTE)
            print(f"open class invite: {result['invite']}")
            print(FOR_INVITE_NOTE)
    return 0


#: What ``init`` says of the open invite (issue 18): it is no one's in particular.
OPEN_INVITE_NOTE = (
    "anyone who has the open class invite can ask to join; they wait as pending, named "
    "'NAME (pending)', until you run 'peerclass admit NAME'"
)
FOR_INVITE_NOTE = (
    "recommended: give each student their own invite, which admits them under the name "
    "you choose: peerclass invite --for NAME"
)


#: What ``init`` says with the recovery phrase (issue 22).
RECOVERY_NOTE = (
    "recovery phrase: write these 24 words down and keep them safe; with the class invite they "
    "restore this identity on a new machine (peerclass restore --phrase WORDS --invite INVITE)"
)


def _env_or(value: Any, env: str, parse: Any, default: Any) -> Any:
    if value is not None:
        return value
    text = os.environ.get(env)
    if not text:
        return default
    try:
        return parse(text)
    except Exception as exc:  # argparse.ArgumentTypeError or ValueError
        raise UsageError(f"{env}: {exc}") from None


@contextlib.contextmanager
def _only_peer_running(data_dir: Path) -> Iterator[None]:
    """Hold the data dir's run lock: two peers on one log would fight over it. The OS drops
    the lock when the process ends, however it ends (kill -9 included)."""
    try:
        import fcntl
    except ImportError:  # not on this platform: no lock, the pid in the store still shows
        yield
        return
    fd = os.open(data_dir / "run.lock", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as lock:  # 0600, as everything in a data dir (issue 18)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(f"a peer is already running on {data_dir}") from None
        yield


def cmd_run(args: argparse.Namespace) -> int:
    membership = load_membership(args.data_dir)  # a clear error for a dir never initialised
    with _only_peer_running(args.data_dir):
        return _run(args, membership)


def _run(args: argparse.Namespace, membership: Membership) -> int:
    config = NodeConfig(
        bind=args.bind,
        port=args.port,
        discovery=not args.no_discovery,
        beacons=not args.no_beacons,
        mdns=not args.no_mdns,
        discovery_addr=_env_or(
            args.discovery_addr, args.env_addr, args.parse_ipv4, DEFAULT_DISCOVERY_ADDR
        ),
        discovery_port=_env_or(
            args.discovery_port, args.env_port, args.parse_port, DEFAULT_DISCOVERY_PORT
        ),
        static_peers=tuple(args.peer),
    )
    room = check_room(args.room)
    for path in loose_permissions(args.data_dir):
        print(
            f"peerclass: warning: {path} is readable by other users; chmod go-rwx it",
            file=sys.stderr,
        )

    announce = console_printer(timestamps=args.timestamps)

    store = Store.open(args.data_dir)
    membership = with_role(membership, store)  # a co-instructor runs as the instructor
    store.set_running(os.getpid())
    try:
        async_store = AsyncStore(store)
        node = Node(config, membership, async_store, announce)
        ui: list[Callable[[], Awaitable[None]]] = [
            functools.partial(follow_events, async_store, membership, announce),
            functools.partial(keep_membership, async_store, membership),
            functools.partial(keep_checkpoints, async_store, membership),  # issue 18
        ]
        if sys.stdin.isatty():
            ui.append(
                functools.partial(
                    read_terminal, async_store, membership, room, resolve=resolve_peer
                )
            )
        ui.extend(getattr(args, "log_tasks", ()))  # log summaries said on time
        ui.append(functools.partial(tell_presence, node, async_store, announce))
        if not args.no_ui:
            ui.append(_web_ui(args, async_store, membership, node, announce))
        trio.run(node.run, ui)
    except OSError as exc:
        raise UsageError(f"cannot run the peer: {exc}") from None
    finally:
        try:
            store.set_running(None)
        except StorageError as exc:  # e.g. the disk filled up: `status` will show a stale pid
            print(f"peerclass: warning: {exc}", file=sys.stderr)
        store.close()
    return 0


def _web_ui(
    args: argparse.Namespace,
    store: AsyncStore,
    membership: Membership,
    node: Node,
    announce: Callable[[str], None],
) -> Callable[[], Awaitable[None]]:
    """The web UI task (issue 11); imported only when it runs, so --no-ui costs nothing."""
    from peer.web import serve_ui

    return functools.partial(
        serve_ui,
        store,
        membership,
        node,
        args.data_dir,
        announce,
        port=args.ui_port,
        open_browser=args.open,
    )


def pid_alive(pid: int | None) -> bool:
    """Whether a peer process still runs (another user's counts: it holds the data dir)."""
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cmd_peers(args: argparse.Namespace) -> int:
    membership, store = open_peer(args.data_dir)
    try:
        running = pid_alive(store.running_pid())
        records = [r for r in store.peer_records() if r.id != membership.peer_id]
        forked = store.forked_authors()
        names = store.names()  # the roster's names (issue 10), not what profiles claim
    finally:
        store.close()
    rows: list[dict[str, Any]] = [
        {
            "peer_id": r.id.hex(),
            "name": names.label(r.id),
            "standing": names.of(r.id).standing,
            "role": names.of(r.id).badge,
            "address": r.address,
            "last_seen": iso_from_ms(r.last_seen),
            "connected": running and r.connected,
            "forked": r.id in forked,
        }
        for r in sorted(records, key=lambda r: (names.label(r.id), r.id))
    ]
    if args.json:
        print_json(rows)
    elif not rows:
        print("no peers known yet")
    else:
        print_table(
            ["PEER", "NAME", "ADDRESS", "LAST SEEN", "STATE"],
            [
                [
                    row["peer_id"][:8],
                    row["name"] + (f" [{row['role']}]" if row["role"] else ""),
                    row["address"] or "-",
                    local_time_iso(row["last_seen"]),
                    ("FORKED " if row["forked"] else "")
                    + ("connected" if row["connected"] else "-"),
                ]
                for row in rows
            ],
        )
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    membership, store = open_peer(args.data_dir)
    try:
        names = store.names()
        heads = store.heads()
        status: dict[str, Any] = {
            "peer_id": membership.peer_id.hex(),
            "name": names.label(membership.peer_id),
            "role": membership.role or ("instructor" if membership.is_instructor else "student"),
            "class_id": membership.klass.class_id.hex(),
            "class_name": membership.klass.name,
            "events": store.event_count(),
            "heads": {author.hex(): seq for author, seq in sorted(heads.items())},
            "forks": store.fork_count(),
            "forked_authors": sorted(a.hex() for a in store.forked_authors()),
            "running": pid_alive(store.running_pid()),
            "authoring_blocked": store.authoring_block(membership.peer_id),
        }
    finally:
        store.close()
    if args.json:
        print_json(status)
        return 0
    print(f"{status['name']} ({status['role']}), peer {short_id(membership.peer_id)}")
    print(f"class {membership.klass.name!r} ({status['class_id'][:8]})")
    print(f"{status['events']} events from {len(heads)} authors, {status['forks']} forks recorded")
    print("peer is running" if status["running"] else "peer is not running")
    for author in status["forked_authors"]:
        print(f"warning: {names.label(bytes.fromhex(author))} ({author[:8]}) forked their log")
    if status["authoring_blocked"]:
        print(f"warning: writing is blocked: {status['authoring_blocked']}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from peer.cli._demo import run_demo

    if not 3 <= args.peers <= 8:
        raise UsageError("--peers must be between 3 and 8")
    return run_demo(args.peers)
