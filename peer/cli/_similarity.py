"""``peerclass similarity``: which students' latest submissions to a problem look alike.

It reads only this peer's store (and ``--against``'s folder) and writes only to stdout or
``-o``: nothing about it leaves the instructor's machine. What everyone shares by design is
left out before comparing: the problem's examples and the code blocks of its statement (the
starter code). ``--against DIR`` adds an earlier term's submissions, one file per submission
(``.py`` or ``.c``), each compared with this term's but not with each other.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from peer.cli._curriculum import problem_thread, with_peer
from peer.errors import UsageError
from peer.grading import LANGUAGE_TABLE, language_of_file
from peer.identity import Membership, short_id
from peer.log import MAX_SOLUTION_BYTES
from peer.similarity import FORMATS, Program, all_hashes, fingerprint, pairs_of, render
from storage import Store
from storage.queries import Problem, Submission, get_submission, list_submissions

_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def add_commands(sub: Any) -> None:
    similarity = sub.add_parser(
        "similarity", help="rank pairs of students' latest submissions by similarity (offline)"
    )
    similarity.add_argument("problem", metavar="PROBLEM_ID")
    similarity.add_argument("--format", choices=FORMATS, default="text")
    similarity.add_argument("-o", dest="output", type=Path, metavar="FILE")
    similarity.add_argument(
        "--against", type=Path, metavar="DIR", help="an earlier term's submissions, one per file"
    )
    similarity.add_argument(
        "--export",
        type=Path,
        metavar="DIR",
        help="also write each student's latest submission to DIR (a later term's --against)",
    )
    similarity.set_defaults(handler=with_peer(cmd_similarity))


def cmd_similarity(args: argparse.Namespace, me: Membership, store: Store) -> int:
    if not me.is_staff:
        raise UsageError(
            "similarity is for the instructors and TAs: classmates' solutions are sealed to them"
        )
    problem = problem_thread(store, args.problem, me.klass.instructor)
    programs = _latest_programs(store, me, problem)
    if args.export is not None:
        _export(store, me, problem, args.export)
    against = [] if args.against is None else _earlier_term(args.against, problem)
    text = render(pairs_of(programs, against), problem.title, args.format)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    return 0


def _shared(problem: Problem, language: str) -> set[int]:
    """Fingerprints everyone may share: the examples and the statement's code blocks."""
    texts = [e.input for e in problem.examples] + [e.output for e in problem.examples]
    texts += _FENCE.findall(problem.statement)
    return set().union(*(all_hashes(t, language) for t in texts)) if texts else set()


def _latest(store: Store, me: Membership, problem: Problem) -> list[Submission]:
    """Each student's latest submission to the problem that this peer can read."""
    latest: dict[bytes, Submission] = {}
    for s in list_submissions(store, problem_root=problem.root):
        if s.author == me.peer_id or not s.readable or s.language is None:
            continue
        if s.author not in latest or s.attempt > latest[s.author].attempt:
            latest[s.author] = s
    return list(latest.values())


def _latest_programs(store: Store, me: Membership, problem: Problem) -> list[Program]:
    programs = []
    for s in _latest(store, me, problem):
        detail = get_submission(store, s.id)
        if detail is None or detail.solution is None or s.language is None:
            continue
        label = f"{s.author_name or '?'} ({short_id(s.author)}) attempt {s.attempt}"
        shared = _shared(problem, s.language)
        programs.append(fingerprint(label, detail.solution, s.language, ignore=shared))
    return programs


def _export(store: Store, me: Membership, problem: Problem, folder: Path) -> None:
    """Each student's latest readable submission as ``NAME-ID8.py`` (or ``.c``): the files
    ``--against`` reads. The folder may exist; a file of the same name is replaced."""
    suffix = {spec.name: spec.suffixes[0] for spec in LANGUAGE_TABLE}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for s in _latest(store, me, problem):
            detail = get_submission(store, s.id)
            if detail is None or detail.solution is None or s.language not in suffix:
                continue
            stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", s.author_name or "student")
            name = f"{stem}-{s.author.hex()[:8]}{suffix[s.language]}"
            (folder / name).write_text(detail.solution, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write --export {folder}: {exc.strerror or exc}") from None


def _earlier_term(folder: Path, problem: Problem) -> list[Program]:
    if not folder.is_dir():
        raise UsageError(f"--against {folder} is not a folder")
    found = []
    for path in sorted(folder.rglob("*")):
        spec = language_of_file(path)
        if spec is None or not path.is_file():
            continue
        language = spec.name
        data = path.read_bytes()[: MAX_SOLUTION_BYTES + 1]
        if len(data) > MAX_SOLUTION_BYTES:
            raise UsageError(f"--against: {path} is larger than 64 KiB; is it a submission?")
        text = data.decode("utf-8", errors="replace")
        label = f"earlier term: {path.relative_to(folder)}"
        found.append(fingerprint(label, text, language, ignore=_shared(problem, language)))
    if not found:
        raise UsageError(f"--against {folder} holds no .py or .c files")
    return found
