"""The curriculum commands: ``problem``, ``submit``, ``submissions``, ``submission show``,
``feedback`` and ``progress``.

They work on the data dir whether or not the peer runs. Everything a command would author is
checked first, so a refusal is one line on stderr, a non-zero exit, and nothing stored.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from peer.cli._core import open_peer, resolve_peer
from peer.cli._output import (
    iso_from_ms,
    iso_from_ts,
    local_time,
    local_time_ts,
    parse_iso_ms,
    print_json,
    print_table,
    safe_block,
    safe_line,
)
from peer.cli._paging import add_paging_args, paging_of
from peer.cli._rubric import add_publish_args, add_rubric_arg, publish_body, rubric_body
from peer.cli._selfcheck import add_solution_args, choose_language, run_self_check, self_check_lines
from peer.errors import UsageError, ValidationError
from peer.grading import LANGUAGES
from peer.identity import Membership, short_id
from peer.log import (
    DEFAULT_HIDDEN_DETAIL,
    DEFAULT_LANGUAGES,
    DEFAULT_LATE_POLICY,
    HIDDEN_DETAILS,
    LATE_POLICIES,
    MAX_SOLUTION_BYTES,
    VERDICTS,
    Example,
    check_tag,
    hlc,
    is_late,
    normalize_newlines,
)
from storage import Store
from storage.queries import (
    Feedback,
    Problem,
    Progress,
    Submission,
    get_problem,
    get_submission,
    list_feedback,
    list_problems,
    list_submissions,
    load_attestor,
    newest_revision,
    next_attempt,
    progress,
    students,
    submission_ref,
)

Handler = Callable[[argparse.Namespace, Membership, Store], int]
SEALED = "sealed"
SEALED_TEXT = "(sealed: you cannot read this)"
#: What a reader of a sealed body found broken (its schema): shown, never used (issue 10).
INVALID = "INVALID (its sealed content breaks the schema)"


def _closed(item: Submission | Feedback) -> str:
    """How a body this identity cannot show is marked: sealed to others, or invalid."""
    return INVALID if item.invalid else SEALED


LATE_POLICY_TEXT = {
    "accept": "accepted as on time",
    "mark": "marked late",
    "refuse-grade": "marked late and not graded",
}


def add_commands(sub: Any) -> None:
    """Register this module's subcommands on the top-level parser."""
    _add_problem(sub)
    submit = sub.add_parser("submit", help="submit a solution (self-checked against examples)")
    add_solution_args(submit)
    submit.set_defaults(handler=with_peer(cmd_submit))
    listing = sub.add_parser("submissions", help="list submissions")
    listing.add_argument("--problem", metavar="PROBLEM_ID")
    listing.add_argument("--author", metavar="PEER_ID_OR_NAME")
    add_paging_args(listing, "submissions")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=with_peer(cmd_submissions))
    one = sub.add_parser("submission", help="look at one submission")
    one_sub = one.add_subparsers(dest="submission_command", required=True, parser_class=type(one))
    show = one_sub.add_parser("show", help="a submission's solution, self-check and feedback")
    show.add_argument("submission", metavar="SUBMISSION_ID")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=with_peer(cmd_submission_show))
    _add_feedback(sub)
    prog = sub.add_parser("progress", help="your progress (the instructor: the whole class)")
    prog.add_argument("--json", action="store_true")
    prog.add_argument(
        "--live",
        action="store_true",
        help="(instructor or TA) the class at a glance, redrawn as it changes, until Ctrl-C",
    )
    prog.set_defaults(handler=with_peer(cmd_progress))


def _add_problem(sub: Any) -> None:
    problem = sub.add_parser("problem", help="publish and read problems")
    problem_sub = problem.add_subparsers(
        dest="problem_command", required=True, parser_class=type(problem)
    )
    publish = problem_sub.add_parser("publish", help="publish a problem (or a revision)")
    publish.add_argument("--title", required=True)
    publish.add_argument("--statement-file", type=Path, required=True, metavar="FILE")
    publish.add_argument(
        "--example",
        nargs=2,
        action="append",
        default=[],
        type=Path,
        metavar=("INPUT_FILE", "OUTPUT_FILE"),
        help="an example's input and expected output (repeatable)",
    )
    publish.add_argument("--tag", action="append", default=[], help="a tag (repeatable)")
    publish.add_argument("--due", help="due time, ISO 8601 (local time unless it names a zone)")
    publish.add_argument(
        "--allow-past", action="store_true", help="accept a --due that has already passed"
    )
    publish.add_argument(
        "--late-policy",
        choices=LATE_POLICIES,
        default=DEFAULT_LATE_POLICY,
        help="work submitted after --due: accept it, mark it late (default), or mark it and "
        "have 'peerclass grade' refuse to grade it",
    )
    publish.add_argument(
        "--languages",
        type=_languages,
        default=DEFAULT_LANGUAGES,
        metavar="LANG[,LANG]",
        help=f"the languages solutions may be in: {', '.join(LANGUAGES)} (default: python)",
    )
    publish.add_argument(
        "--review",
        choices=("instructor", "peers"),
        default="instructor",
        help="who reads the submissions: the instructor (default), or also the classmates who "
        "have submitted to this problem themselves (peer review)",
    )
    publish.add_argument(
        "--hidden-detail",
        choices=HIDDEN_DETAILS,
        default=DEFAULT_HIDDEN_DETAIL,
        help="what a student sees of a failed hidden test: its name (default: which tests "
        "failed, not why), its name and reason (verdicts), or nothing per test (none)",
    )
    publish.add_argument(
        "--graded-attempts",
        type=_positive,
        metavar="N",
        help="grade only each student's first N attempts (default: every attempt)",
    )
    publish.add_argument("--supersedes", metavar="PROBLEM_ID", help="revise your own problem")
    add_publish_args(publish)
    publish.set_defaults(handler=with_peer(cmd_problem_publish))
    listing = problem_sub.add_parser("list", help="list problems (newest revisions)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=with_peer(cmd_problem_list))
    show = problem_sub.add_parser("show", help="a problem's statement and examples")
    show.add_argument("problem", metavar="PROBLEM_ID")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=with_peer(cmd_problem_show))


def _positive(text: str) -> int:
    """A whole number of at least 1 (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def _languages(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(n.strip().lower() for n in text.split(",") if n.strip()))
    if not names:
        raise argparse.ArgumentTypeError("--languages needs at least one language")
    for name in names:
        if name not in LANGUAGES:
            raise argparse.ArgumentTypeError(
                f"language {name!r} is not one peerclass runs; choose from {', '.join(LANGUAGES)}"
            )
    return names


def _score(text: str) -> int:
    try:
        score = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"score {text!r} is not a whole number") from None
    if not 0 <= score <= 100:
        raise argparse.ArgumentTypeError(f"score {score} is outside 0-100")
    return score


def _add_feedback(sub: Any) -> None:
    fb = sub.add_parser("feedback", help="give and read feedback on submissions")
    fb_sub = fb.add_subparsers(dest="feedback_command", required=True, parser_class=type(fb))
    give = fb_sub.add_parser("give", help="give feedback on someone else's submission")
    give.add_argument("submission", metavar="SUBMISSION_ID")
    give.add_argument("--verdict", required=True, choices=VERDICTS)
    give.add_argument("--score", type=_score, help="a score from 0 to 100")
    give.add_argument("--comment", required=True, help="the feedback (Markdown)")
    give.add_argument("--supersedes", metavar="FEEDBACK_ID", help="revise your own feedback")
    add_rubric_arg(give)
    give.set_defaults(handler=with_peer(cmd_feedback_give))
    listing = fb_sub.add_parser("list", help="list feedback (newest revisions)")
    listing.add_argument("--submission", metavar="SUBMISSION_ID")
    add_paging_args(listing, "feedback")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=with_peer(cmd_feedback_list))


def with_peer(handler: Handler) -> Callable[[argparse.Namespace], int]:
    """Open the data dir around ``handler`` and close it after, whatever happens."""

    def run(args: argparse.Namespace) -> int:
        membership, store = open_peer(args.data_dir)
        try:
            return handler(args, membership, store)
        finally:
            store.close()

    return run


# ---- reading input --------------------------------------------------------------------------


def _read_text(path: Path, what: str, *, max_bytes: int | None = None) -> str:
    """A UTF-8 text file with its line endings made ``\\n`` (``\\r\\n`` and a lone ``\\r``
    too: :func:`peer.log.normalize_newlines`), or a one-line UsageError."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if max_bytes is not None and len(data) > max_bytes:
        raise UsageError(f"{what} {path} is {len(data)} bytes; the limit is {max_bytes} (64 KiB)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{what} {path} is not UTF-8 text") from None
    return normalize_newlines(text)


def _parse_due(text: str, allow_past: bool) -> int:
    due = parse_iso_ms(text, "--due")
    if due <= 0:
        raise UsageError(f"--due {text!r} is before 1970")
    if due < hlc.wall_ms() and not allow_past:
        raise UsageError(
            f"--due {text!r} is in the past ({local_time(due)}); "
            "give --allow-past to publish it anyway"
        )
    return due


def _own_event(store: Store, prefix: str, kind: str, me: bytes) -> bytes:
    """Resolve an id that must name one of this peer's own events of ``kind``."""
    event_id = store.resolve_prefix(prefix, kind=kind)
    event = store.event_by_id(event_id)
    if event is None or event.author != me:
        raise UsageError(f"--supersedes {prefix}: that {kind} is not yours; revise only your own")
    return event_id


@contextmanager
def _authoring() -> Iterator[None]:
    """A body the store refuses is the user's input error: one line, nothing stored."""
    try:
        yield
    except ValidationError as exc:
        raise UsageError(str(exc)) from None


def problem_thread(store: Store, prefix: str, instructor: bytes) -> Problem:
    """The newest revision of the problem an id prefix names (any revision of it will do)."""
    found = newest_revision(store, store.resolve_prefix(prefix, kind="problem"), instructor)
    if found is None:
        raise UsageError(f"problem {prefix} is not in this peer's problem list")
    return found


# ---- problem ----------------------------------------------------------------------------------


def cmd_problem_publish(args: argparse.Namespace, me: Membership, store: Store) -> int:
    statement = _read_text(args.statement_file, "--statement-file")
    examples = [
        Example(_read_text(i, "example input"), _read_text(o, "example output"))
        for i, o in args.example
    ]
    tags = list(dict.fromkeys(args.tag))
    with _authoring():
        for tag in tags:
            check_tag(tag)
    body: dict[str, Any] = {
        "title": args.title.strip(),
        "statement": statement,
        "examples": [e.to_body() for e in examples],
        "tags": tags,
    }
    if args.due is not None:
        body["due"] = _parse_due(args.due, args.allow_past)
    if args.languages != DEFAULT_LANGUAGES:  # defaults are left out: older peers know them
        body["languages"] = list(args.languages)
    if args.late_policy != DEFAULT_LATE_POLICY:
        body["late_policy"] = args.late_policy
    if args.review != "instructor":
        body["review"] = args.review
    if args.hidden_detail != DEFAULT_HIDDEN_DETAIL:
        body["hidden_detail"] = args.hidden_detail
    if args.graded_attempts is not None:
        body["graded_attempts"] = args.graded_attempts
    if args.supersedes is not None:
        body["supersedes"] = _own_event(store, args.supersedes, "problem", me.peer_id)
    body.update(publish_body(args))
    with _authoring():
        event = store.append(me.signing_key, "problem", body)
    print(event.id.hex())
    return 0


#: What ``problem show`` says a student learns of a failed hidden test.
HIDDEN_DETAIL_TEXT = {
    "names": "a student sees which failed, not why",
    "verdicts": "a student sees which failed and why",
    "none": "a student sees only the verdict and score",
}


def problem_json(p: Problem) -> dict[str, Any]:
    return {
        "id": p.id.hex(),
        "title": p.title,
        "author": p.author.hex(),
        "author_name": p.author_name,
        "official": p.official,
        "tags": list(p.tags),
        "due": iso_from_ms(p.due),
        "ts": iso_from_ts(p.ts),
        "revision_of": p.revision_of.hex() if p.revision_of else None,
        "examples": len(p.examples),
        "languages": list(p.languages),
        "late_policy": p.late_policy,
        "hidden_detail": p.hidden_detail,
        "graded_attempts": p.graded_attempts,
    }


def _checks_text(s: Submission) -> str:
    if s.checks_passed is None or s.checks_total is None:
        return _closed(s)
    return f"{s.checks_passed}/{s.checks_total}"


def _due_text(p: Problem) -> str:
    if p.due is None:
        return "-"
    overdue = " (passed)" if p.due < hlc.wall_ms() else ""
    return local_time(p.due, seconds=False) + overdue


def _who(author: bytes, name: str | None) -> str:
    return safe_line(f"{name or '?'} ({short_id(author)})")


def cmd_problem_list(args: argparse.Namespace, me: Membership, store: Store) -> int:
    found = list_problems(store, me.klass.instructor)
    if args.json:
        print_json([problem_json(p) for p in found])
    elif not found:
        print("no problems yet")
    else:
        print_table(
            ["ID", "TITLE", "KIND", "AUTHOR", "EXAMPLES", "LANGUAGES", "DUE"],
            [
                [
                    p.id.hex()[:8],
                    p.title + (" (revised)" if p.revision_of else ""),
                    "official" if p.official else "practice",
                    _who(p.author, p.author_name),
                    str(len(p.examples)),
                    ",".join(p.languages),
                    _due_text(p),
                ]
                for p in found
            ],
        )
    return 0


def cmd_problem_show(args: argparse.Namespace, me: Membership, store: Store) -> int:
    newest_id = problem_thread(store, args.problem, me.klass.instructor).id
    found = get_problem(
        store, store.resolve_prefix(args.problem, kind="problem"), me.klass.instructor
    )
    if found is None:
        raise UsageError(f"problem {args.problem} is not in this peer's problem list")
    if args.json:
        print_json(
            problem_json(found)
            | {
                "statement": found.statement,
                "examples": [{"input": e.input, "output": e.output} for e in found.examples],
                "newest_revision": newest_id.hex(),
            }
        )
        return 0
    kind = "official" if found.official else "practice"
    print(f"{safe_line(found.title)}  [{kind}, by {_who(found.author, found.author_name)}]")
    print(f"id {found.id.hex()}")
    if found.tags:
        print(f"tags: {', '.join(found.tags)}")
    print(f"languages: {', '.join(found.languages)}")
    if found.due is not None:
        policy = LATE_POLICY_TEXT[found.late_policy]
        print(f"due: {local_time(found.due)}{' (passed)' if found.due < hlc.wall_ms() else ''}")
        print(f"late work: {policy}")
    print(f"hidden tests: {HIDDEN_DETAIL_TEXT[found.hidden_detail]}")
    if found.graded_attempts is not None:
        print(f"graded attempts: the first {found.graded_attempts} of each student")
    if newest_id != found.id:
        print(f"superseded by a newer revision, {newest_id.hex()[:8]}")
    print()
    print(safe_block(found.statement.rstrip()))
    for number, example in enumerate(found.examples, 1):
        print(f"\n--- example {number}: input ---\n{safe_block(example.input.rstrip())}")
        print(f"--- example {number}: expected output ---\n{safe_block(example.output.rstrip())}")
    return 0


# ---- submissions ------------------------------------------------------------------------------


def read_solution(path: Path) -> str:
    return _read_text(path, "solution", max_bytes=MAX_SOLUTION_BYTES)


def cmd_submit(args: argparse.Namespace, me: Membership, store: Store) -> int:
    problem = problem_thread(store, args.problem, me.klass.instructor)
    solution = read_solution(args.file)
    language = choose_language(problem, args.language, args.file)
    check = run_self_check(problem, language, solution)
    for line in self_check_lines(problem, check):
        print(line)
    body = {
        # Attempts count per problem thread, so a submission names the thread's first revision.
        "problem": problem.root,
        "attempt": next_attempt(store, me.peer_id, problem.root),
        "language": language,
        "solution": solution,
        "checks": check.bodies(),
    }
    with _authoring():
        event = store.append(me.signing_key, "submission", body)
    late = ""
    attest = load_attestor(store)  # witnessed time decides (issue 18)
    if (
        is_late(event.ts, problem.due, problem.late_policy)
        if attest is None
        else attest.late(event.author, event.seq, event.ts, problem.due, problem.late_policy)
    ):
        late = f", late: {problem.title!r} was due {local_time(problem.due)}"
        if problem.late_policy == "refuse-grade":
            late += " and late work is not graded"
    print(f"recorded attempt {body['attempt']}{late}")
    limit = problem.graded_attempts
    if limit is not None and next_attempt(store, me.peer_id, problem.root) > limit + 1:
        print(f"note: only your first {limit} attempt(s) at this problem are graded; not this one")
    print(event.id.hex())
    return 0


def submission_json(s: Submission) -> dict[str, Any]:
    return {
        "id": s.id.hex(),
        "problem_id": s.problem_id.hex(),
        "author": s.author.hex(),
        "author_name": s.author_name,
        "attempt": s.attempt,
        "ts": iso_from_ts(s.ts),
        "language": s.language,
        "checks_passed": s.checks_passed,
        "checks_total": s.checks_total,
        "late": s.late,
        # When a witness first held it (issue 18): what decides lateness, not ``ts``.
        "attested": iso_from_ms(s.attested),
        "readable": s.readable,  # false: sealed to others; language and checks are null
    }


def when_text(s: Submission) -> str:
    """Its claimed time, and the attested one beside it where they differ by more than the
    class's allowed skew (issue 18): a clock set back shows here."""
    claimed = local_time_ts(s.ts)
    apart = s.attested_apart
    return claimed if apart is None else f"{claimed} (witnessed {local_time(apart)})"


def cmd_submissions(args: argparse.Namespace, me: Membership, store: Store) -> int:
    root = None
    if args.problem is not None:
        root = problem_thread(store, args.problem, me.klass.instructor).root
    author = None if args.author is None else resolve_peer(store, args.author)
    paging = paging_of(args, store, "submission")
    found = list_submissions(store, problem_root=root, author=author, paging=paging)
    if args.json:
        print_json([submission_json(s) for s in found])
    elif not found:
        print("no submissions yet")
    else:
        print_table(
            ["ID", "PROBLEM", "AUTHOR", "ATTEMPT", "LANGUAGE", "SELF-CHECK", "WHEN", "LATE"],
            [
                [
                    s.id.hex()[:8],
                    s.problem_title,
                    _who(s.author, s.author_name),
                    str(s.attempt),
                    s.language or _closed(s),
                    _checks_text(s),
                    when_text(s),
                    "late" if s.late else "-",
                ]
                for s in found
            ],
        )
    return 0


def cmd_submission_show(args: argparse.Namespace, me: Membership, store: Store) -> int:
    submission_id = store.resolve_prefix(args.submission, kind="submission")
    detail = get_submission(store, submission_id)
    if detail is None:
        raise UsageError("that submission's problem has not arrived yet; try again later")
    reviews = list_feedback(store, me.klass.instructor, submission=submission_id)
    s = detail.submission
    if args.json:
        print_json(
            submission_json(s)
            | {
                "solution": detail.solution,
                "checks": [{"passed": c.passed, "detail": c.detail} for c in detail.checks],
                "feedback": [feedback_json(f) for f in reviews],
            }
        )
        return 0
    print(f"{_who(s.author, s.author_name)}, attempt {s.attempt} at {safe_line(s.problem_title)!r}")
    print(f"id {s.id.hex()}, {s.language or _closed(s)}, self-check passed {_checks_text(s)}")
    print(f"submitted {when_text(s)}{' (late)' if s.late else ''}")
    print()
    print(SEALED_TEXT if detail.solution is None else safe_block(detail.solution.rstrip()))
    for f in reviews:
        print()
        _print_feedback(f)
    return 0


# ---- feedback ---------------------------------------------------------------------------------


def cmd_feedback_give(args: argparse.Namespace, me: Membership, store: Store) -> int:
    submission_id = store.resolve_prefix(args.submission, kind="submission")
    ref = submission_ref(store, submission_id)
    if ref is not None and ref.author == me.peer_id:
        raise UsageError("that is your own submission; feedback is for others")
    readable = get_submission(store, submission_id)
    if readable is None or not readable.submission.readable:  # only readers review (issue 18)
        raise UsageError(
            "you cannot read that submission, so you cannot review it: its author, the "
            "instructors, and classmates it was shared with (peer review) review it"
        )
    body: dict[str, Any] = {
        "submission": submission_id,
        "verdict": args.verdict,
        "comment": normalize_newlines(args.comment),
    }
    if args.score is not None:
        body["score"] = args.score
    body.update(rubric_body(store, me, submission_id, args.rubric))
    revises = None
    if args.supersedes is not None:
        earlier = _own_event(store, args.supersedes, "feedback", me.peer_id)
        event = store.event_by_id(earlier)
        if event is None or event.body["submission"] != submission_id:
            raise UsageError(f"--supersedes {args.supersedes} is feedback on another submission")
        body["supersedes"] = earlier
    else:
        revises = latest_own_feedback(store, me, submission_id)
        if revises is not None:
            body["supersedes"] = revises
    with _authoring():
        created = store.append(me.signing_key, "feedback", body)
    print(created.id.hex())
    if revises is not None:
        print(
            f"note: you already gave feedback on {submission_id.hex()[:8]}, so this revises "
            f"your latest, {revises.hex()[:8]} (one reviewer's feedback counts once)",
            file=sys.stderr,
        )
    return 0


def latest_own_feedback(store: Store, me: Membership, submission_id: bytes) -> bytes | None:
    """The newest version of our own feedback on a submission, if we gave some: a second
    piece of feedback by one reviewer is a revision of it, so it never counts twice."""
    mine = [
        f
        for f in list_feedback(store, me.klass.instructor, submission=submission_id)
        if f.reviewer == me.peer_id
    ]
    return max(mine, key=lambda f: (f.ts, f.seq)).id if mine else None


def feedback_json(f: Feedback) -> dict[str, Any]:
    return {
        "id": f.id.hex(),
        "submission_id": f.submission_id.hex(),
        "problem_id": f.problem_id.hex(),
        "reviewer": f.reviewer.hex(),
        "reviewer_name": f.reviewer_name,
        "role": f.role,
        "verdict": f.verdict,
        "score": f.score,
        "comment": f.comment,
        "ts": iso_from_ts(f.ts),
        "revision_of": f.revision_of.hex() if f.revision_of else None,
        "readable": f.readable,  # false: sealed to others; verdict, score, comment are null
    }


def _print_feedback(f: Feedback) -> None:
    when = local_time_ts(f.ts)
    score = "" if f.score is None else f", score {f.score}"
    revised = " (revised)" if f.revision_of else ""
    print(
        f"{when} {f.id.hex()[:8]} {_who(f.reviewer, f.reviewer_name)} [{f.role}] on "
        f"{f.submission_id.hex()[:8]}: {f.verdict or _closed(f)}{score}{revised}"
    )
    for line in safe_block((f.comment or "").rstrip()).splitlines():
        print(f"    {line}")


def cmd_feedback_list(args: argparse.Namespace, me: Membership, store: Store) -> int:
    submission_id = None
    if args.submission is not None:
        submission_id = store.resolve_prefix(args.submission, kind="submission")
    paging = paging_of(args, store, "feedback")
    found = list_feedback(store, me.klass.instructor, submission=submission_id, paging=paging)
    if args.json:
        print_json([feedback_json(f) for f in found])
        return 0
    if not found:
        print("no feedback yet")
    for f in found:
        _print_feedback(f)
    return 0


# ---- progress ---------------------------------------------------------------------------------


def progress_json(p: Progress) -> dict[str, Any]:
    latest = p.latest
    return {
        "problem_id": p.problem.id.hex(),
        "title": p.problem.title,
        "official": p.problem.official,
        "due": iso_from_ms(p.problem.due),
        "attempts": p.attempts,
        "latest_submission": latest.id.hex() if latest else None,
        "late": latest.late if latest else None,
        "submitted": iso_from_ts(latest.ts) if latest else None,
        "attested": iso_from_ms(latest.attested) if latest else None,  # issue 18
        "checks_passed": latest.checks_passed if latest else None,
        "checks_total": latest.checks_total if latest else None,
        "verdicts": [
            {
                "reviewer": f.reviewer.hex(),
                "reviewer_name": f.reviewer_name,
                "role": f.role,
                "verdict": f.verdict,
                "score": f.score,
            }
            for f in p.verdicts
        ],
        "accepted": p.accepted,
    }


def _late_text(s: Submission | None) -> str:
    """``late``, with the witnessed time where it differs from the claimed one (issue 18)."""
    if s is None:
        return ""
    apart = s.attested_apart
    witnessed = "" if apart is None else f" (witnessed {local_time(apart)})"
    return ("late" if s.late else "") + witnessed


def _cell(p: Progress) -> str:
    late = (" " + _late_text(p.latest)) if _late_text(p.latest) else ""
    if p.accepted:
        return "accepted" + late
    if p.latest is None:
        return "-"
    verdict = "/".join(sorted({f.verdict or SEALED for f in p.verdicts})) or "unreviewed"
    return f"{p.attempts}x {_checks_text(p.latest)} {verdict}{late}"


def cmd_progress(args: argparse.Namespace, me: Membership, store: Store) -> int:
    instructor = me.klass.instructor
    if me.is_staff and args.live:  # the class at a glance, redrawn (issue 20)
        from peer.cli._board import live_board

        return live_board(args.data_dir, me, store)
    if me.is_staff:  # a TA sees the class as the instructor does (issue 20)
        return _class_progress(args, store, instructor)
    mine = progress(store, instructor, [me.peer_id])
    if args.json:
        print_json([progress_json(p) for p in mine])
    elif not mine:
        print("no problems yet")
    else:
        print_table(
            ["PROBLEM", "TITLE", "DUE", "ATTEMPTS", "SELF-CHECK", "VERDICTS", "ACCEPTED", "LATE"],
            [
                [
                    p.problem.id.hex()[:8],
                    p.problem.title,
                    _due_text(p.problem),
                    str(p.attempts),
                    _checks_text(p.latest) if p.latest else "-",
                    ", ".join(f"{f.verdict or SEALED} ({f.role})" for f in p.verdicts) or "-",
                    "yes" if p.accepted else "no",
                    _late_text(p.latest) or "-",
                ]
                for p in mine
            ],
        )
    return 0


def _class_progress(args: argparse.Namespace, store: Store, instructor: bytes) -> int:
    people = students(store, instructor)
    names = store.names()
    problems = list_problems(store, instructor)
    table = progress(store, instructor, people)
    rows = [table[i * len(problems) : (i + 1) * len(problems)] for i in range(len(people))]
    if args.json:
        print_json(
            {
                "problems": [
                    {
                        "id": p.id.hex(),
                        "title": p.title,
                        "official": p.official,
                        "due": iso_from_ms(p.due),
                    }
                    for p in problems
                ],
                "students": [
                    {
                        "id": who.hex(),
                        "name": names.label(who),
                        "problems": [progress_json(p) for p in row],
                    }
                    for who, row in zip(people, rows, strict=True)
                ],
            }
        )
    elif not problems or not people:
        print("no problems yet" if not problems else "no students yet")
    else:
        print_table(
            ["STUDENT", *[f"{p.title[:20]} ({p.id.hex()[:8]})" for p in problems]],
            [
                [_who(who, names.label(who)), *[_cell(p) for p in row]]
                for who, row in zip(people, rows, strict=True)
            ],
        )
    return 0
