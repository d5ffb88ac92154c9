"""Convergence with sealed events, by Hypothesis: a class authors sealed submissions,
feedback, roster changes and peer-review shares; each identity's events reach two replicas
of every identity in random, duplicated, out-of-order batches. In the end every store holds
the same logs, both replicas of an identity show the same decrypted projection, and what is
readable is exactly what was sealed to that identity."""

from __future__ import annotations

import random
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nacl.signing
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import Reader, Store
from storage._store import DB_FILE
from storage.queries import get_submission, list_feedback, list_submissions
from storage.queries._roster import pending_duties

NAMES = ("teacher", "ann", "ben")
action = st.one_of(
    st.tuples(st.just("publish"), st.booleans()),
    st.tuples(st.just("submit"), st.integers(1, 2), st.integers(0, 9)),
    st.tuples(st.just("feedback"), st.integers(0, 2), st.integers(0, 9)),
    st.tuples(st.just("duties"), st.integers(0, 2)),
    st.tuples(st.just("sync"), st.integers(0, 2**16)),
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty store at the newest schema, copied for each replica (no migration each time)."""
    path = tmp_path_factory.mktemp("template")
    Store.open(path).close()
    return path / DB_FILE


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path


class Class:
    def __init__(self, root: Path, template: Path) -> None:
        self.keys = [nacl.signing.SigningKey.generate() for _ in NAMES]
        self.ids = [bytes(k.verify_key) for k in self.keys]
        self.replicas: list[list[Store]] = []
        for i, key in enumerate(self.keys):
            pair = []
            for r in range(2):
                path = root / f"{NAMES[i]}-{r}"
                path.mkdir()
                shutil.copy(template, path / DB_FILE)
                pair.append(Store.open(path, reader=Reader(key, self.ids[0])))
            self.replicas.append(pair)
        self.problems: list[bytes] = []
        self.submissions: list[tuple[bytes, int]] = []  # (id, author)
        self.readers: dict[bytes, set[int]] = {}  # submission/feedback id -> who may read
        self.peer_review: set[bytes] = set()  # submissions others who submitted may read
        self.home(0).append(self.keys[0], "roster", self._admit(0, "instructor"))
        for i in (1, 2):
            self.home(i).append(self.keys[i], "join", {"name": NAMES[i]})
            self.home(0).append(self.keys[0], "roster", self._admit(i, "student"))

    def _admit(self, i: int, role: str) -> dict[str, Any]:
        return {"action": "admit", "peer": self.ids[i], "name": NAMES[i], "role": role}

    def home(self, i: int) -> Store:
        return self.replicas[i][0]

    def all_stores(self) -> list[Store]:
        return [s for pair in self.replicas for s in pair]

    def everything(self) -> list[bytes]:
        raws = []
        for i in range(len(NAMES)):
            raws += self.home(i).events_range(self.ids[i], 0, 100_000)
        return raws

    def deliver(self, seed: int, homes_only: bool) -> None:
        """Random batches, duplicated and out of order, to every replica (or every home)."""
        rng = random.Random(seed)
        raws = self.everything()
        targets = [self.home(i) for i in range(len(NAMES))] if homes_only else self.all_stores()
        for store in targets:
            for _ in range(3):
                batch = rng.sample(raws, k=rng.randint(0, len(raws)))
                assert store.ingest(batch).rejected == ()
            assert store.ingest(raws).rejected == ()  # whatever is still missing

    def run(self, step: tuple[Any, ...]) -> None:
        kind = step[0]
        if kind == "publish":
            body = {"title": "p", "statement": "s", "examples": [], "tags": []}
            if step[1]:
                body["review"] = "peers"
            self.problems.append(self.home(0).append(self.keys[0], "problem", body).id)
            if step[1]:
                self.peer_review.add(self.problems[-1])
        elif kind == "submit" and self.problems:
            who, which = step[1], step[2]
            problem = self.problems[which % len(self.problems)]
            store = self.home(who)
            if store.event_by_id(problem) is None:
                return
            mine = list_submissions(store, author=self.ids[who])
            attempt = len([s for s in mine if s.problem_id == problem]) + 1
            body = {"problem": problem, "attempt": attempt, "language": "python"}
            body |= {"solution": f"print({which})  # by {NAMES[who]}", "checks": []}
            event = store.append(self.keys[who], "submission", body)
            self.submissions.append((event.id, who))
            self.readers[event.id] = {who, 0}
            if problem in self.peer_review:
                self.peer_review.add(event.id)
        elif kind == "feedback" and self.submissions:
            who, which = step[1], step[2]
            sub, author = self.submissions[which % len(self.submissions)]
            store = self.home(who)
            if author == who or store.event_by_id(sub) is None:
                return
            body = {"submission": sub, "verdict": "accept", "comment": f"from {NAMES[who]}"}
            event = store.append(self.keys[who], "feedback", body)
            self.readers[event.id] = {who, author, 0}
        elif kind == "duties":
            who = step[1]
            for duty in pending_duties(self.home(who)):
                self.home(who).append(self.keys[who], duty.kind, duty.body)
        elif kind == "sync":
            self.deliver(step[1], homes_only=True)

    def view(self, store: Store) -> Any:
        subs = list_submissions(store)
        return (
            [(s.id, s.language, get_submission(store, s.id).solution) for s in subs],
            [(f.id, f.verdict, f.comment) for f in list_feedback(store, self.ids[0])],
        )

    def close(self) -> None:
        for store in self.all_stores():
            store.close()


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(action, min_size=3, max_size=14), seed=st.integers(0, 2**16))
def test_sealed_events_converge_and_each_reader_sees_the_same(
    template: Path, workdir: Path, steps: list[tuple[Any, ...]], seed: int
) -> None:
    root = Path(tempfile.mkdtemp(dir=workdir))
    klass = Class(root, template)
    try:
        for step in steps:
            klass.run(step)
        # Peer-review shares are what the running peers would author; then deliver all.
        klass.deliver(seed, homes_only=True)
        for who in range(len(NAMES)):
            for duty in pending_duties(klass.home(who)):
                klass.home(who).append(klass.keys[who], duty.kind, duty.body)
        klass.deliver(seed + 1, homes_only=False)

        heads = [s.heads() for s in klass.all_stores()]
        assert all(h == heads[0] for h in heads)
        for i, (a, b) in enumerate(klass.replicas):
            assert klass.view(a) == klass.view(b), NAMES[i]
            subs, feedback = klass.view(a)
            for sub_id, _, solution in subs:
                sealed_to = i in klass.readers[sub_id]
                if sub_id in klass.peer_review:  # shares add the classmates who submitted
                    assert solution is not None or not sealed_to
                else:
                    assert (solution is not None) == sealed_to
            for fb_id, verdict, _ in feedback:
                assert (verdict is not None) == (i in klass.readers[fb_id])
    finally:
        klass.close()
