"""The one rule for "accepted", shared by ``peerclass progress`` and the report.

The latest instructor verdict decides. With no instructor feedback, each peer reviewer's latest
verdict counts once, and a strict majority of ``accept`` accepts. Only the newest version of
each piece of feedback is given here, so revisions replace what they revise. Peer verdicts
count from roster members only (issue 10): ``list_feedback`` leaves out those of pending,
removed and unknown identities, and verdicts this identity cannot read are not given here.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs


@attrs.frozen
class Verdict:
    """One reviewer's current verdict on one attempt."""

    reviewer: bytes
    role: str  # "instructor" or "peer"
    verdict: str  # "accept" or "revise"
    ts: int
    id: bytes
    attempt: int


def accepted_attempt(verdicts: Iterable[Verdict]) -> int | None:
    """The attempt the deciding verdicts accepted, or None if the work is not accepted: the board,
    the report and the gradebook call this one rule, so they never disagree."""
    ordered = sorted(verdicts, key=lambda v: (v.ts, v.id))
    by_instructor = [v for v in ordered if v.role == "instructor"]
    if by_instructor:
        last = by_instructor[-1]
        return last.attempt if last.verdict == "accept" else None
    per_reviewer = {v.reviewer: v for v in ordered}
    accepting = [v.attempt for v in per_reviewer.values() if v.verdict == "accept"]
    return max(accepting) if 2 * len(accepting) > len(per_reviewer) else None
