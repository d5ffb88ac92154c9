"""A class of identities, each with its own store opened as itself, synced by hand."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import attrs
import nacl.signing

from storage import Reader, Store
from storage._store import DB_FILE
from storage.queries._roster import pending_duties


@attrs.define(eq=False)
class Person:
    name: str
    key: nacl.signing.SigningKey
    store: Store
    path: Path

    @property
    def id(self) -> bytes:
        return bytes(self.key.verify_key)

    def append(self, kind: str, body: dict[str, Any]) -> bytes:
        return self.store.append(self.key, kind, body).id

    def dump(self) -> str:
        """Everything in this peer's database, as SQL text, read with sqlite3 directly."""
        with sqlite3.connect(self.path / DB_FILE) as db:
            return "\n".join(db.iterdump())

    def do_duties(self) -> int:
        duties = pending_duties(self.store)
        for duty in duties:
            self.append(duty.kind, duty.body)
        return len(duties)


@attrs.define(eq=False)
class World:
    people: dict[str, Person]

    @classmethod
    def make(cls, root: Path, names: list[str]) -> World:
        """``names[0]`` is the instructor, who founds a roster with itself."""
        keys = {n: nacl.signing.SigningKey.generate() for n in names}
        instructor = bytes(keys[names[0]].verify_key)
        people = {}
        for n in names:
            path = root / n
            store = Store.open(path, reader=Reader(keys[n], instructor))
            people[n] = Person(n, keys[n], store, path)
            role = "instructor" if n == names[0] else "student"
            people[n].append("profile", {"name": n, "role": role})
        teacher = people[names[0]]
        teacher.append(
            "roster",
            {"action": "admit", "peer": teacher.id, "name": names[0], "role": "instructor"},
        )
        return cls(people)

    def __getitem__(self, name: str) -> Person:
        return self.people[name]

    def admit(self, *names: str) -> None:
        teacher = next(iter(self.people.values()))
        for n in names:
            body = {"action": "admit", "peer": self[n].id, "name": n, "role": "student"}
            teacher.append("roster", body)

    def sync(self) -> None:
        """Every store gets every event (in log order per author)."""
        everything: list[bytes] = []
        for person in self.people.values():
            for author in person.store.heads():
                everything += person.store.events_range(author, 0, 100_000)
        for person in self.people.values():
            result = person.store.ingest(everything)
            assert result.rejected == (), result.rejected

    def close(self) -> None:
        for person in self.people.values():
            person.store.close()
