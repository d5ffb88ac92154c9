"""Gossip across many peers: the real sync machines wired by the simulated network of
peer/net/_simulation.py (virtual time, no sockets). Convergence over lost, duplicated and
reordered messages and links that come and go; one copy per delivery once the trees form."""

from __future__ import annotations

import itertools
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peer.net._simulation import Counters, Faults, Network, random_mesh, simulate


def chain_of(network: Network, count: int) -> list[bytes]:
    ids = [network.add_peer(f"p{i}") for i in range(count)]
    for left, right in itertools.pairwise(ids):
        network.link(left, right)
    return ids


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    peers=st.integers(2, 7),
    extra=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), max_size=6),
    faults=st.builds(
        Faults,
        lose=st.sampled_from([0.0, 0.05, 0.3]),
        duplicate=st.sampled_from([0.0, 0.2]),
        reorder=st.sampled_from([0.0, 0.3]),
    ),
    steps=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 3), st.integers(-1, 6)), min_size=1),
    seed=st.integers(0, 2**16),
)
def test_peers_converge_over_unreliable_links_that_come_and_go(
    peers: int,
    extra: list[tuple[int, int]],
    faults: Faults,
    steps: list[tuple[int, int, int]],
    seed: int,
) -> None:
    network = Network(anti_entropy_interval=1.0, seed=seed)
    ids = [network.add_peer(f"p{i}") for i in range(peers)]
    links = {(ids[i], ids[i + 1]) for i in range(peers - 1)}
    links |= {(ids[a % peers], ids[b % peers]) for a, b in extra if a % peers != b % peers}
    for a, b in links:
        network.link(a, b, faults)
    rng = random.Random(seed)
    for poster, count, flap in steps:
        network.post(ids[poster % peers], count)
        if flap >= 0:  # a link drops, and comes back a little later
            a, b = sorted(links)[flap % len(links)]
            network.unlink(a, b)
            network.run_until(network.now + rng.uniform(0.0, 0.3))
            network.link(a, b, faults)
        network.run_until(network.now + rng.uniform(0.0, 0.2))
    posted = sum(count for _, count, _ in steps)
    # Heal: the links stop misbehaving (and any a protocol error closed come back).
    for key in list(network.faults):
        network.faults[key] = Faults()
    for a, b in links:
        network.link(a, b)
    assert network.run_until_converged(network.now + 60) is not None
    held = network.peers[ids[0]].store.logs
    assert sum(len(log) for log in held.values()) == posted
    # Bounded duplicates: far fewer copies than a flood (one per link per event) would make,
    # whatever the links did.
    received, useful = network.counters.events_received, network.counters.events_stored
    assert useful == posted * (peers - 1)
    assert received <= 2 * (1 + faults.duplicate) * useful + 2 * posted


def test_a_partial_mesh_line_reaches_everyone_with_one_copy_each() -> None:
    network = Network(seed=1)
    ids = chain_of(network, 10)  # each peer has at most two links
    network.run_until(1.0)
    for peer in ids:
        network.post(peer, 3)
    assert network.run_until_converged(30.0) is not None
    assert network.counters.events_received == network.counters.events_stored == 10 * 3 * 9


def test_once_the_trees_formed_every_delivery_is_one_copy() -> None:
    network = Network(seed=3)
    ids = [network.add_peer(f"p{i}") for i in range(30)]
    random_mesh(network, ids, 4, random.Random(3))
    network.run_until(1.0)
    for peer in ids:  # each author's first event grafts its tree
        network.post(peer)
    assert network.run_until_converged(network.now + 30) is not None
    network.counters = Counters()
    start = network.now
    for peer in ids:
        network.post(peer, 2)
    done = network.run_until_converged(start + 30)
    assert done is not None and done - start < 0.1  # eager along the trees: milliseconds
    assert network.counters.events_received == network.counters.events_stored == 30 * 2 * 29


def test_a_cut_tree_link_is_repaired_by_graft_without_anti_entropy() -> None:
    network = Network(seed=5)  # no anti-entropy: only announcements can repair
    ids = [network.add_peer(f"p{i}") for i in range(4)]
    a, b, c, d = ids
    for x, y in ((a, b), (b, c), (c, d), (d, a)):  # a ring: two ways round
        network.link(x, y)
    network.run_until(1.0)
    network.post(a)
    assert network.run_until_converged(10.0) is not None
    network.unlink(a, b)
    network.post(a, 2)
    assert network.run_until_converged(network.now + 10) is not None
    assert len(network.peers[b].store.logs[a]) == 3


def test_the_200_peer_simulation_stays_under_two_copies_per_delivery() -> None:
    report = simulate(peers=200, degree=4, posts=100, seed=7, warmup_posts=0)
    assert report.converged_at is not None
    assert report.copies_per_delivery <= 2


def test_a_restarted_peer_sends_what_it_wrote_while_it_was_down() -> None:
    network = Network(seed=11)
    a, b, c = chain_of(network, 3)
    network.run_until(1.0)
    network.post(b)
    assert network.run_until_converged(5.0) is not None
    network.restart(b, downtime=1.0)
    network.post(b, 2)  # written while its links are down
    network.run_until(network.now + 0.5)
    assert len(network.peers[a].store.logs[b]) == 1  # nobody can have them yet
    assert network.run_until_converged(network.now + 10) is not None
    assert len(network.peers[a].store.logs[b]) == len(network.peers[c].store.logs[b]) == 3
    assert network.counters.restarts == 1


def test_200_peers_with_loss_and_churn_converge_under_one_and_a_half_copies() -> None:
    # 5% of frames lost on every link, 40 peers (20%) restarting while 100 posts spread over
    # 3 s; anti-entropy every 10 s as the node's default.
    report = simulate(
        peers=200,
        degree=4,
        posts=100,
        seed=3,
        loss=0.05,
        churn=0.2,
        spread=3.0,
        anti_entropy_interval=10.0,
        limit=120.0,
    )
    assert report.restarts == 40
    assert report.converged_at is not None
    assert report.copies_per_delivery <= 1.5
