"""In-process nodes on loopback: discovery and convergence, handshake refusals, stalled
clients, and one connection per pair of peers. Broadcasts go to 127.255.255.255 only."""

from __future__ import annotations

import contextlib
import functools
import logging
import shutil
import socket
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import nacl.signing
import pytest
import trio

import peer.net._node as node_module
from peer.cli._console import follow_events
from peer.errors import ProtocolError, UsageError
from peer.identity import Membership, load_membership
from peer.log import decode_event
from peer.net import Node, NodeConfig
from peer.net._handshake import handshake
from peer.net._wire import Bye, Events, Have
from peer.testing import LOOPBACK_BROADCAST, PeerProcess, free_udp_port, wait_until
from storage import Store
from storage._async import AsyncStore
from tests.fixtures_core import bad_signature, chain, wait_for
from tests.helpers import make_class, pc, pc_ok

TIMEOUT = 30


@attrs.define(eq=False)
class Running:
    node: Node
    lines: list[str]
    #: Its own log's head when it started (set-up may author profile, join, roster events).
    start_seq: int = 0

    @property
    def store(self) -> AsyncStore:
        return self.node.store

    @property
    def peer_id(self) -> bytes:
        return self.node.membership.peer_id


def config(**overrides: Any) -> NodeConfig:
    values: dict[str, Any] = {
        "bind": "127.0.0.1",
        "discovery": False,
        "discovery_addr": LOOPBACK_BROADCAST,
        "anti_entropy_interval": 1.0,
    }
    values.update(overrides)
    return NodeConfig(**values)


@contextlib.asynccontextmanager
async def running(
    data_dirs: Sequence[Path], configs: Sequence[NodeConfig]
) -> AsyncIterator[list[Running]]:
    """Start one node per data dir (in this trio run); stop them all on exit."""
    stores = [Store.open(d) for d in data_dirs]
    try:
        async with trio.open_nursery() as nursery:
            nodes = []
            for data_dir, store, cfg in zip(data_dirs, stores, configs, strict=True):
                lines: list[str] = []
                membership = load_membership(data_dir)
                async_store = AsyncStore(store)
                node = Node(cfg, membership, async_store, lines.append)
                console = functools.partial(follow_events, async_store, membership, lines.append)
                await nursery.start(node.run, [console])
                start_seq = (await async_store.heads()).get(membership.peer_id, 0)
                nodes.append(Running(node, lines, start_seq))
            yield nodes
            nursery.cancel_scope.cancel()
    finally:
        for store in stores:
            store.close()


async def converged(nodes: Sequence[Running]) -> bool:
    vectors = [await n.store.heads() for n in nodes]
    return all(v == vectors[0] for v in vectors[1:])


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records]


async def logged(caplog: pytest.LogCaptureFixture, *needles: str) -> bool:
    return any(all(n in m for n in needles) for m in messages(caplog))


# ---- discovery and convergence ----------------------------------------------------------


async def test_three_nodes_find_each_other_by_broadcast_and_converge(tmp_path: Path) -> None:
    dirs = make_class(tmp_path, students=2).all
    port = free_udp_port()
    cfg = config(discovery=True, discovery_port=port)
    with trio.fail_after(TIMEOUT):
        async with running(dirs, [cfg] * 3) as nodes:
            await wait_for(lambda: _all_connected(nodes))
            for i, n in enumerate(nodes):
                for j in range(3):
                    text = f"hello {j} from node {i}"
                    await n.store.append(
                        n.node.membership.signing_key, "chat", {"room": "general", "text": text}
                    )
            await wait_for(lambda: _converged_with(nodes, 3))
            ids = {n.peer_id for n in nodes}
            for n in nodes:
                assert set(n.node.mesh.sessions) == ids - {n.peer_id}
            # Every node hears every other's beacon (connections may come from one side only).
            await wait_for(lambda: _heard_all(nodes))
            # Each node prints the chat of the other two as it arrives.
            await wait_for(lambda: _printed(nodes, "hello", 6))
    for n in nodes:
        assert any("listening on 127.0.0.1:" in line for line in n.lines)
        assert sum("hello" in line for line in n.lines) == 6


async def _printed(nodes: Sequence[Running], needle: str, count: int) -> bool:
    return all(sum(needle in line for line in n.lines) >= count for n in nodes)


async def _kept_one(nodes: Sequence[Running], dialer: bytes) -> bool:
    a, b = nodes
    return (
        list(a.node.mesh.sessions) == [b.peer_id]
        and list(b.node.mesh.sessions) == [a.peer_id]
        and a.node.mesh.sessions[b.peer_id][1] == dialer == b.node.mesh.sessions[a.peer_id][1]
    )


async def _connected_in_peer_table(node: Running, other: Running) -> bool:
    """What ``peerclass peers`` shows: the live connection is listed as connected."""
    records = await trio.to_thread.run_sync(node.store.store.peer_records)
    return any(r.id == other.peer_id and r.connected for r in records)


async def _connections_settled(nodes: Sequence[Running]) -> bool:
    """Only the kept connection's two ends are still handled (the other is fully torn down)."""
    root = trio.lowlevel.current_root_task()
    assert root is not None
    count, stack = 0, [root]
    while stack:
        task = stack.pop()
        # Outgoing connections run in Node._dial, incoming ones in serve_listeners' handlers.
        count += task.name.endswith(("Node._dial", "._run_handler"))
        for nursery in task.child_nurseries:
            stack.extend(nursery.child_tasks)
    return count == len(nodes)


async def _heard_all(nodes: Sequence[Running]) -> bool:
    ids = {n.peer_id for n in nodes}
    return all(set(n.node.table.live()) == ids - {n.peer_id} for n in nodes)


async def _all_connected(nodes: Sequence[Running]) -> bool:
    return all(len(n.node.mesh.sessions) == len(nodes) - 1 for n in nodes)


async def _converged_with(nodes: Sequence[Running], appended: int) -> bool:
    """All hold the same logs, with ``appended`` events past each node's start in its own."""
    heads = await nodes[0].store.heads()
    own = all(heads.get(n.peer_id) == n.start_seq + appended for n in nodes)
    return own and await converged(nodes)


# ---- refusals ---------------------------------------------------------------------------


async def test_a_node_of_another_class_is_refused_and_nothing_stored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="peerclass")
    ours = make_class(tmp_path / "ours", students=0).instructor
    theirs = make_class(tmp_path / "theirs", students=0).instructor
    port = free_udp_port()
    with trio.fail_after(TIMEOUT):
        async with running([ours], [config(discovery=True, discovery_port=port)]) as [us]:
            stranger_cfg = config(
                discovery=True,
                discovery_port=port,
                static_peers=(("127.0.0.1", us.node.listen_port),),
            )
            async with running([theirs], [stranger_cfg]) as [them]:
                await them.store.append(
                    them.node.membership.signing_key, "chat", {"room": "general", "text": "psst"}
                )
                await wait_for(
                    lambda: logged(caplog, "refused connection with 127.0.0.1", "handshake failed")
                )
                assert us.node.mesh.sessions == {} and them.node.mesh.sessions == {}
                assert them.peer_id not in us.node.table.live()  # other class's beacons ignored
                assert await us.store.heads() == {us.peer_id: us.start_seq}
                assert await them.store.heads() == {them.peer_id: them.start_seq + 1}
    assert not any(them.peer_id.hex()[:8] in line for line in us.lines)


async def test_a_stalled_client_is_dropped_after_the_handshake_deadline(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="peerclass")
    data = make_class(tmp_path, students=0).instructor
    with trio.fail_after(TIMEOUT):
        async with running([data], [config(handshake_timeout=1.0)]) as [us]:
            stream = await trio.open_tcp_stream("127.0.0.1", us.node.listen_port)
            with trio.fail_after(10):  # well past the deadline, well before the default 10 s x 3
                try:
                    data_back = await stream.receive_some()
                except trio.BrokenResourceError:
                    data_back = b""
            assert data_back == b""  # the node closed the connection
            await stream.aclose()
            await wait_for(lambda: logged(caplog, "refused connection", "did not finish within 1s"))
            # A garbage-sending client is refused the same way, and the node still serves.
            garbage = await trio.open_tcp_stream("127.0.0.1", us.node.listen_port)
            await garbage.send_all(b"\xff" * 200)
            with trio.fail_after(10):
                with contextlib.suppress(trio.BrokenResourceError):
                    while await garbage.receive_some():
                        pass
            await garbage.aclose()
            assert us.node.mesh.sessions == {}
            assert await us.store.heads() == {us.peer_id: us.start_seq}


# ---- one connection per pair ------------------------------------------------------------


@pytest.mark.parametrize("first", ["kept", "other"])
async def test_one_connection_per_pair_when_both_dial_each_other(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, first: str
) -> None:
    """Both nodes dial each other at once. When the connection to keep (dialed by the smaller
    id) is set up first, both refuse the other; when it comes second, both replace the other."""
    caplog.set_level(logging.INFO, logger="peerclass")
    dirs = make_class(tmp_path, students=1).all
    ids = [load_membership(d).peer_id for d in dirs]
    keep = min(ids)
    first_dialer = keep if first == "kept" else max(ids)
    both_dialed = trio.Event()
    dialers: set[bytes] = set()
    nodes: list[Running] = []

    async def registered_everywhere(dialer: bytes) -> bool:
        return len(nodes) == 2 and all(
            any(d == dialer for _, d in n.node.mesh.sessions.values()) for n in nodes
        )

    async def held_handshake(stream: trio.abc.Stream, membership: Any, **kwargs: Any) -> Any:
        # Hold each outgoing handshake until both nodes have dialed: a truly simultaneous
        # dial; then let ``first_dialer``'s connection be set up before the other one.
        if kwargs["initiator"]:
            dialers.add(membership.peer_id)
            if len(dialers) == 2:
                both_dialed.set()
            await both_dialed.wait()
            if membership.peer_id != first_dialer:
                await wait_for(lambda: registered_everywhere(first_dialer))
        return await handshake(stream, membership, **kwargs)

    monkeypatch.setattr(node_module, "handshake", held_handshake)
    ports = [free_tcp_port(), free_tcp_port()]
    configs = [
        config(port=ports[0], static_peers=(("127.0.0.1", ports[1]),)),
        config(port=ports[1], static_peers=(("127.0.0.1", ports[0]),)),
    ]
    with trio.fail_after(TIMEOUT):
        async with running(dirs, configs) as started:
            nodes.extend(started)
            a, b = nodes
            await both_dialed.wait()
            await wait_for(lambda: _kept_one(nodes, keep))
            for n in nodes:
                await n.store.append(
                    n.node.membership.signing_key, "chat", {"room": "general", "text": "hi"}
                )
            await wait_for(lambda: _converged_with(nodes, 1))
            assert await _kept_one(nodes, keep)
            # What ``peerclass peers`` shows: the peer on the live connection is connected.
            await wait_for(lambda: _connections_settled(nodes))
            assert await _connected_in_peer_table(a, b) and await _connected_in_peer_table(b, a)
    log = messages(caplog)
    connected = sum("connected to peer" in m for m in log)
    refused = sum("closing connection" in m and "duplicate connection" in m for m in log)
    assert (connected, refused) == ((2, 2) if first == "kept" else (4, 0))
    assert dialers == set(ids)


async def test_a_member_sending_a_bad_event_loses_its_connection_not_the_node(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="peerclass")
    teacher, student = make_class(tmp_path, students=1).all
    rogue = load_membership(student)
    evs = chain(rogue.signing_key, 2)
    with trio.fail_after(TIMEOUT):
        async with running([teacher], [config()]) as [us]:
            before = await us.store.heads()
            for attempt in range(2):  # the node keeps serving after dropping the first
                stream = await trio.open_tcp_stream("127.0.0.1", us.node.listen_port)
                shaken = await handshake(stream, rogue, initiator=True, listen_port=1)
                assert shaken.hello.peer_id == us.peer_id
                await shaken.framed.send(Have({}))
                await shaken.framed.send(Events([evs[0].raw, bad_signature(evs[1].raw)]))
                with contextlib.suppress(trio.BrokenResourceError, ProtocolError):
                    while await shaken.framed.receive() is not None:
                        pass  # what the node serves, until it closes the connection
                await shaken.framed.aclose()
                await wait_for(lambda: logged(caplog, "closed connection", "bad signature"))
                assert us.node.mesh.sessions == {}
                heads = await us.store.heads()
                # Nothing past what set-up gave it or the valid first event.
                assert heads.get(us.peer_id) == us.start_seq, attempt
                assert heads.get(rogue.peer_id, 0) <= max(1, before.get(rogue.peer_id, 0))
            assert us.store.store.event_by_id(evs[1].id) is None


async def test_gossip_over_a_partial_mesh_reaches_everyone(tmp_path: Path) -> None:
    """Six peers that may each keep only two connections still all converge: events are
    forwarded hop by hop along a chain of static peers."""
    dirs = make_class(tmp_path, students=5).all
    ports = [free_tcp_port() for _ in dirs]
    configs = [
        config(
            port=ports[i],
            max_connections=2,
            static_peers=(("127.0.0.1", ports[i + 1]),) if i + 1 < len(dirs) else (),
        )
        for i in range(len(dirs))
    ]
    with trio.fail_after(TIMEOUT):
        async with running(dirs, configs) as nodes:
            for n in nodes:
                await n.store.append(
                    n.node.membership.signing_key, "chat", {"room": "general", "text": "hi"}
                )
            await wait_for(lambda: _converged_with(nodes, 1))
            assert all(len(n.node.mesh.sessions) <= 2 for n in nodes)
            # The two ends of the chain never talked directly.
            assert nodes[-1].peer_id not in nodes[0].node.mesh.sessions


async def test_discovered_peers_form_a_partial_mesh_and_all_converge(tmp_path: Path) -> None:
    """Eight peers that hear each other's beacons, each dialing at most three of them (a
    random 3-out graph: connected with high probability): fewer links than a full mesh, and an
    event from each peer still reaches every other."""
    dirs = make_class(tmp_path, students=7).all
    cfg = config(discovery=True, discovery_port=free_udp_port(), dial_target=3)
    with trio.fail_after(TIMEOUT):
        async with running(dirs, [cfg] * len(dirs)) as nodes:
            await wait_for(lambda: _heard_all(nodes))
            for n in nodes:
                await n.store.append(
                    n.node.membership.signing_key, "chat", {"room": "general", "text": "hi"}
                )
            await wait_for(lambda: _converged_with(nodes, 1))
            # Dialed links per peer stay at the target; what a peer holds is what it dialed
            # plus what others dialed to it, far fewer than the seven of a full mesh.
            links = sum(len(n.node.mesh.sessions) for n in nodes) // 2
            assert links <= 3 * len(nodes)
            assert links < len(nodes) * (len(nodes) - 1) // 2


# ---- limits on what strangers and throwaway identities can hold -------------------------


async def test_idle_sockets_from_one_address_leave_handshake_slots_for_a_static_peer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """200 sockets from 127.0.0.2 that never handshake (kept open, and reopened as the node
    drops them) while a member reachable only by --peer connects from 127.0.0.1: it gets its
    session long before any idle socket's handshake deadline frees a slot."""
    caplog.set_level(logging.INFO, logger="peerclass")
    teacher, student = make_class(tmp_path, students=1).all
    idle: list[socket.socket] = []
    with trio.fail_after(TIMEOUT):
        async with running([teacher], [config()]) as [us]:
            port = us.node.listen_port

            def open_idle(count: int) -> None:
                for _ in range(count):
                    sock = socket.socket()
                    sock.bind(("127.0.0.2", 0))
                    sock.connect(("127.0.0.1", port))
                    idle.append(sock)

            await trio.to_thread.run_sync(open_idle, 200)
            # The node has taken (and held or dropped) every one of them.
            await wait_for(
                lambda: _refused_at_least(us, 200 - us.node.config.max_handshaking_per_source)
            )
            start = trio.current_time()
            member = config(static_peers=(("127.0.0.1", port),))
            async with running([student], [member]) as [them]:
                await wait_for(lambda: _all_connected([us, them]))
                took = trio.current_time() - start
    for sock in idle:
        sock.close()
    assert took < us.node.config.handshake_timeout, took
    refusals = [m for m in messages(caplog) if "refused connections" in m]
    assert len(refusals) <= 1  # summarised, not one line per socket
    assert "too many handshakes from one address" in us.node.refused.recent() or refusals


async def _refused_at_least(node: Running, count: int) -> bool:
    return node.node.refused.total >= count


async def test_an_identity_that_is_no_member_loses_its_session_and_leaves_no_peers_row(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Throwaway identities made from the invite (valid class secret, no log of their own)
    fill every session slot; after the grace they are closed, turned away for a while, and
    their address book rows go, so a member gets a slot."""
    caplog.set_level(logging.INFO, logger="peerclass")
    klass = make_class(tmp_path, students=1)
    teacher, student = klass.all
    invite = load_membership(teacher).klass
    throwaways = [Membership(nacl.signing.SigningKey.generate(), invite) for _ in range(2)]
    goodbyes: list[str] = []
    strict = config(max_connections=2, stranger_grace=1.0, stranger_check_interval=0.2)

    async def hold_a_slot(membership: Membership, port: int) -> None:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        shaken = await handshake(stream, membership, initiator=True, listen_port=1)
        await shaken.framed.send(Have({}))
        with contextlib.suppress(trio.BrokenResourceError, ProtocolError):
            while (message := await shaken.framed.receive()) is not None:
                if isinstance(message, Bye):
                    goodbyes.append(message.reason)
        await shaken.framed.aclose()

    with trio.fail_after(TIMEOUT):
        async with (
            running([teacher], [strict]) as [us],
            trio.open_nursery() as nursery,
        ):
            for membership in throwaways:
                nursery.start_soon(hold_a_slot, membership, us.node.listen_port)
            await wait_for(lambda: _sessions(us, 2))
            ids = {m.peer_id for m in throwaways}
            assert set(us.node.mesh.sessions) == ids  # every slot taken
            member = config(static_peers=(("127.0.0.1", us.node.listen_port),))
            async with running([student], [member]) as [them]:
                await wait_for(lambda: _all_connected([us, them]))
                await wait_for(lambda: _no_rows_for(us, ids))
            nursery.cancel_scope.cancel()
    assert goodbyes == ["not a member of this class that we know"] * 2


async def _sessions(node: Running, count: int) -> bool:
    return len(node.node.mesh.sessions) == count


async def _no_rows_for(node: Running, ids: set[bytes]) -> bool:
    records = await trio.to_thread.run_sync(node.store.store.peer_records)
    return not ids & {r.id for r in records}


# ---- staged shutdown --------------------------------------------------------------------


async def test_a_stopping_node_says_goodbye_to_every_connected_peer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="peerclass")
    dirs = make_class(tmp_path, students=2).all
    port = free_tcp_port()
    configs = [config(port=port)] + [config(static_peers=(("127.0.0.1", port),))] * 2
    with trio.fail_after(TIMEOUT):
        async with running(dirs, configs) as nodes:
            hub = nodes[0]
            await wait_for(lambda: _sessions(hub, 2))
            async with trio.open_nursery() as nursery:
                stopped = trio.Event()

                async def stop_hub() -> None:
                    hub.node.request_stop()
                    stopped.set()

                nursery.start_soon(stop_hub)
            await wait_for(lambda: logged_count(caplog, "said goodbye: peer is shutting down", 2))
            assert stopped.is_set()
    # The hub's own sessions ended through the goodbye, not by cancellation.
    assert not any("internal error" in m for m in messages(caplog))


async def logged_count(caplog: pytest.LogCaptureFixture, needle: str, count: int) -> bool:
    return sum(needle in m for m in messages(caplog)) >= count


def test_sigterm_makes_a_peer_process_say_goodbye(tmp_path: Path) -> None:
    teacher_dir, student_dir = make_class(tmp_path, students=1).all
    teacher = PeerProcess(teacher_dir, free_udp_port(), ["--no-discovery"]).start()
    try:
        student = PeerProcess(
            student_dir, free_udp_port(), ["--no-discovery", "--peer", teacher.address]
        ).start()
        try:
            wait_until(
                lambda: "connected to peer" in _process_log(teacher_dir),
                20,
                "the student to connect",
            )
            assert student.stop() == 0  # SIGTERM
            wait_until(
                lambda: "said goodbye: peer is shutting down" in _process_log(teacher_dir),
                10,
                "the teacher to hear the student's goodbye",
            )
        finally:
            student.kill()
    finally:
        teacher.kill()


def _process_log(data_dir: Path) -> str:
    """What a ``peerclass run`` logged: its log file in the data dir, and its stderr."""
    return "".join(
        path.read_text()
        for path in (data_dir / "peerclass.log", data_dir / "run.log")
        if path.exists()
    )


# ---- a copied data dir ------------------------------------------------------------------


async def test_a_live_copy_of_a_data_dir_blocks_authoring_in_both_copies(tmp_path: Path) -> None:
    """The same identity running from two data dirs (a copy): each hears the other's signed
    beacon, refuses to author, and says why and how to fix it."""
    original = make_class(tmp_path, students=1).students[0]
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    port = free_udp_port()
    cfg = config(discovery=True, discovery_port=port)
    with trio.fail_after(TIMEOUT):
        async with running([original, copy], [cfg, cfg]) as nodes:
            for n in nodes:
                await wait_for(functools.partial(_authoring_blocked, n))
            key = nodes[0].node.membership.signing_key
            for n in nodes:
                with pytest.raises(UsageError, match="another copy of this identity"):
                    await n.store.append(key, "chat", {"room": "general", "text": "hi"})
                assert any("another copy of this identity" in line for line in n.lines)
    for data_dir in (original, copy):
        sent = pc(data_dir, "chat", "send", "still here?")
        assert sent.code != 0
        assert "not saved: another copy of this identity" in sent.err
        assert "Stop that copy" in sent.err and "Traceback" not in sent.err
        status = pc_ok(data_dir, "status", "--json").json()
        assert "another copy of this identity" in status["authoring_blocked"]
        assert "writing is blocked" in pc_ok(data_dir, "status").out


async def _authoring_blocked(node: Running) -> bool:
    block = await trio.to_thread.run_sync(
        node.store.store.authoring_block, node.node.membership.peer_id
    )
    return block is not None


async def test_a_peer_holding_more_of_our_log_blocks_authoring_until_we_catch_up(
    tmp_path: Path,
) -> None:
    """Sync tells the node (``own_log_elsewhere``) that a peer holds our log further than we
    do (this dir is an old copy): no event may be authored at a seq already taken, until the
    missing events have arrived."""
    data_dir = make_class(tmp_path, students=1).students[0]
    membership = load_membership(data_dir)
    store = Store.open(data_dir)
    try:
        async_store = AsyncStore(store)
        node = Node(config(), membership, async_store, lambda line: None)
        head = store.heads()[membership.peer_id]
        last = store.events_range(membership.peer_id, head - 1, 1)[0]
        newer = chain(membership.signing_key, 2, start=decode_event(last))
        await node.own_log_elsewhere(head + 2, "peer 12345678 at 10.0.0.9:4000")
        with pytest.raises(UsageError, match="holds this identity's log up to event"):
            store.append(membership.signing_key, "chat", {"room": "general", "text": "hi"})
        assert "10.0.0.9:4000" in (store.authoring_block(membership.peer_id) or "")
        store.ingest([newer[0].raw])
        with pytest.raises(UsageError, match="holds this identity's log"):
            store.append(membership.signing_key, "chat", {"room": "general", "text": "hi"})
        store.ingest([newer[1].raw])  # caught up: the block lifts by itself
        event = store.append(membership.signing_key, "chat", {"room": "general", "text": "hi"})
        assert event.seq == head + 3
        # Told again about what we hold already: no block.
        await node.own_log_elsewhere(head + 3, "peer 12345678 at 10.0.0.9:4000")
        assert store.authoring_block(membership.peer_id) is None
    finally:
        store.close()


async def test_sync_telling_the_running_node_of_our_log_elsewhere_blocks_authoring(
    tmp_path: Path,
) -> None:
    data_dir = make_class(tmp_path, students=1).students[0]
    with trio.fail_after(TIMEOUT):
        async with running([data_dir], [config()]) as [us]:
            us.node.mesh.own_log_ahead(us.start_seq + 5)  # what a session calls
            await wait_for(functools.partial(_authoring_blocked, us))
            with pytest.raises(UsageError, match="up to event"):
                await us.store.append(
                    us.node.membership.signing_key, "chat", {"room": "general", "text": "x"}
                )
