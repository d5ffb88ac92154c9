"""Store.verify and Store.repair (issue 22) on stores synced by hand: what each finds, and
that dropping part of one's own log blocks writing until a classmate sends it back."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage._store import DB_FILE
from tests.storage.privacy_world import World


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World.make(tmp_path, ["teacher", "alice"])
    w.admit("alice")
    for text in ("one", "two", "three"):
        w["alice"].append("chat", {"room": "general", "text": text})
    w.sync()
    yield w
    w.close()


def flip(path: Path, author: bytes, seq: int) -> None:
    with sqlite3.connect(path / DB_FILE) as db:
        raw = db.execute(
            "SELECT raw FROM events WHERE author = ? AND seq = ?", (author, seq)
        ).fetchone()[0]
        damaged = raw[:10] + bytes([raw[10] ^ 0x01]) + raw[11:]
        db.execute("UPDATE events SET raw = ? WHERE author = ? AND seq = ?", (damaged, author, seq))


def test_a_sound_store_verifies_clean(world: World) -> None:
    report = world["teacher"].store.verify()
    assert report.lines == [] and report.events == world["teacher"].store.event_count()


def test_damage_in_ones_own_log_blocks_writing_until_it_is_back(world: World) -> None:
    alice = world["alice"]
    held = alice.store.heads()[alice.id]
    flip(alice.path, alice.id, 2)
    report = alice.store.verify()
    [damage] = report.damaged
    assert (damage.author, damage.seq) == (alice.id, 2)
    assert report.lines[0].startswith(f"log {alice.id.hex()[:8]}: event #2 ")
    alice.store.repair(report)
    assert alice.store.heads()[alice.id] == 1
    assert alice.store.verify().lines == []
    assert alice.store.authoring_block(alice.id) is not None  # #2 must not be written anew
    world.sync()  # the teacher's copy of Alice's log comes back
    assert alice.store.heads()[alice.id] == held
    assert alice.store.authoring_block(alice.id) is None


def test_a_tampered_projection_row_is_found_and_rebuilt(world: World) -> None:
    teacher = world["teacher"]
    with sqlite3.connect(teacher.path / DB_FILE) as db:
        db.execute("UPDATE profiles SET name = 'Mallory' WHERE author = ?", (world["alice"].id,))
    report = teacher.store.verify()
    assert report.lines == ["projection profiles: differs from a rebuild from the logs"]
    teacher.store.repair(report)
    assert teacher.store.verify().lines == []
