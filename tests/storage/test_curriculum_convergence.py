"""Convergence, by Hypothesis: peers publish, submit and review while partitions, restarts and
random, duplicated, out-of-order deliveries happen; once everything is delivered, every peer's
problem list, submissions, feedback and progress are identical."""

from __future__ import annotations

import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

import nacl.signing
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from peer.errors import ValidationError
from storage import Store
from storage.queries._curriculum import (
    list_feedback,
    list_problems,
    list_submissions,
    next_attempt,
    progress,
    students,
)

PEERS = 3
peer = st.integers(0, PEERS - 1)
pick = st.integers(0, 1_000)


class CurriculumMachine(RuleBasedStateMachine):
    """Peer 0 is the instructor. Ids of everything authored anywhere are kept in pools, so a
    peer may refer to an event it does not hold yet (as it may after hearing of it)."""

    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="peerclass-converge-"))
        self.keys = [nacl.signing.SigningKey.generate() for _ in range(PEERS)]
        self.ids = [bytes(k.verify_key) for k in self.keys]
        self.stores = [Store.open(self.root / f"peer{i}") for i in range(PEERS)]
        self.cut: set[frozenset[int]] = set()
        self.problems: list[tuple[bytes, int]] = []  # (id, author)
        self.submissions: list[tuple[bytes, int]] = []
        self.feedback: list[tuple[bytes, int, bytes]] = []  # (id, reviewer, submission)
        for i, store in enumerate(self.stores):
            role = "instructor" if i == 0 else "student"
            store.append(self.keys[i], "profile", {"name": f"peer{i}", "role": role})

    # ---- authoring -------------------------------------------------------------------------

    @rule(who=peer, revise=pick, examples=st.integers(0, 2))
    def publish(self, who: int, revise: int, examples: int) -> None:
        body: dict[str, Any] = {
            "title": f"problem {len(self.problems)}",
            "statement": "Solve it.",
            "examples": [{"input": str(n), "output": str(n)} for n in range(examples)],
            "tags": [],
        }
        own = [p for p, author in self.problems if author == who]
        if own and revise % 2:
            body["supersedes"] = own[revise % len(own)]
        event = self.stores[who].append(self.keys[who], "problem", body)
        self.problems.append((event.id, who))

    @precondition(lambda self: self.problems)
    @rule(who=peer, which=pick, passed=st.booleans())
    def submit(self, who: int, which: int, passed: bool) -> None:
        problem, _ = self.problems[which % len(self.problems)]
        store = self.stores[who]
        body = {
            "problem": problem,
            "attempt": next_attempt(store, self.ids[who], problem),
            "language": "python",
            "solution": f"print({which})\n",
            "checks": [{"passed": passed, "detail": "" if passed else "-1\n+2"}],
        }
        event = store.append(self.keys[who], "submission", body)
        self.submissions.append((event.id, who))

    @precondition(lambda self: self.submissions)
    @rule(
        who=peer,
        which=pick,
        accept=st.booleans(),
        score=st.none() | st.integers(0, 100),
        revise=st.booleans(),
    )
    def review(self, who: int, which: int, accept: bool, score: int | None, revise: bool) -> None:
        submission, author = self.submissions[which % len(self.submissions)]
        store = self.stores[who]
        body: dict[str, Any] = {
            "submission": submission,
            "verdict": "accept" if accept else "revise",
            "comment": f"review {len(self.feedback)}",
        }
        if score is not None:
            body["score"] = score
        earlier = [f for f, r, s in self.feedback if r == who and s == submission]
        if revise and earlier:
            body["supersedes"] = earlier[-1]
        if author == who:
            before = store.heads()
            with pytest.raises(ValidationError, match="own submission"):
                store.append(self.keys[who], "feedback", body)
            assert store.heads() == before
            return
        event = store.append(self.keys[who], "feedback", body)
        self.feedback.append((event.id, who, submission))

    # ---- the network -----------------------------------------------------------------------

    @rule(a=peer, b=peer)
    def partition(self, a: int, b: int) -> None:
        if a != b:
            self.cut.add(frozenset((a, b)))

    @rule()
    def heal(self) -> None:
        self.cut.clear()

    @rule(who=peer)
    def restart(self, who: int) -> None:
        self.stores[who].close()
        self.stores[who] = Store.open(self.root / f"peer{who}")

    @rule(source=peer, dest=peer, rnd=st.randoms(use_true_random=False))
    def deliver(self, source: int, dest: int, rnd: random.Random) -> None:
        """Some of what ``source`` holds, shuffled, duplicated, in batches of random size."""
        if source == dest or frozenset((source, dest)) in self.cut:
            return
        raws = [e.raw for e in self.stores[source].events_after(0, 100_000)]
        chosen = [rnd.choice(raws) for _ in range(len(raws) + 2)] if raws else []
        rnd.shuffle(chosen)
        while chosen:
            size = rnd.randint(1, len(chosen))
            batch, chosen = chosen[:size], chosen[size:]
            assert self.stores[dest].ingest(batch).forks == 0

    # ---- what must hold --------------------------------------------------------------------

    @invariant()
    def listed_feedback_is_linked(self) -> None:
        for store in self.stores:
            listed = {s.id for s in list_submissions(store)}
            assert all(f.submission_id in listed for f in list_feedback(store, self.ids[0]))

    def teardown(self) -> None:
        try:
            self.cut.clear()
            for _ in range(2):  # two full rounds carry everything everywhere
                for source in self.stores:
                    raws = [e.raw for e in source.events_after(0, 100_000)]
                    for target in self.stores:
                        assert target.ingest(raws).rejected == ()
            assert all(s.heads() == self.stores[0].heads() for s in self.stores)
            answers = [self._answers(store) for store in self.stores]
            assert all(a == answers[0] for a in answers[1:])
            problems, submissions, feedback, _ = answers[0]
            assert len(submissions) == len(self.submissions)
            assert len(feedback) == len({self._thread(f) for f, _, _ in self.feedback})
            assert len(problems) <= len(self.problems)
        finally:
            for store in self.stores:
                store.close()
            shutil.rmtree(self.root, ignore_errors=True)

    def _thread(self, feedback_id: bytes) -> bytes:
        """The first version of the feedback ``feedback_id`` revises (its thread)."""
        store = self.stores[0]
        event = store.event_by_id(feedback_id)
        assert event is not None
        earlier = event.body.get("supersedes")
        return feedback_id if earlier is None else self._thread(earlier)

    def _answers(self, store: Store) -> tuple[Any, ...]:
        instructor = self.ids[0]
        return (
            list_problems(store, instructor),
            list_submissions(store),
            list_feedback(store, instructor),
            progress(store, instructor, students(store, instructor)),
        )


CurriculumMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestCurriculumConvergence = CurriculumMachine.TestCase
