"""Grading from the browser: the instructor (or a TA) grades a problem's submissions against a
folder of hidden tests on this computer, with the same :class:`peer.grading.Grader` as
``peerclass grade``, so the verdicts, scores and comments are the CLI's.

The browser sends the folder's path, not its files: the hidden tests never travel, and the
web UI answers only a signed-in session on this computer's loopback. As on the command line,
nothing runs without the sandbox. Each step goes where it belongs: the store is read and
written through the store's door (``ctx.read``, ``AsyncStore.append``), the sandbox runs in
a thread of its own, one submission at a time for the whole UI.
"""

from __future__ import annotations

from pathlib import Path

import trio
from starlette.requests import Request
from starlette.responses import Response

from peer.errors import UsageError
from peer.grading import (
    CHOICES,
    Choice,
    Decision,
    Grader,
    TestSuite,
    load_test_folder,
    sandbox_available,
)
from peer.identity import Membership
from peer.web import _authoring as authoring
from peer.web._context import Forbidden, NotFound, WebContext, field, parse_id, read_form
from peer.web._pages import problem_page
from storage import Store
from storage.queries import Problem, Submission, newest_revision

#: Sandbox runs are heavy (a compile, then a process per test): one at a time, whoever asks.
_SANDBOX = trio.CapacityLimiter(1)


async def grade_post(ctx: WebContext, request: Request) -> Response:
    """Grade the chosen submissions of a problem and show one line per submission on its
    page (or why nothing ran, with the form kept as it was)."""
    if not ctx.me.is_staff:
        raise Forbidden("only the class's instructors and TAs grade")
    form = await read_form(ctx, request)
    problem = await ctx.read(_problem, ctx.me, parse_id(request.path_params["pid"]))
    if problem is None:
        raise NotFound("this problem has not arrived at this peer (yet)")
    folder = field(form, "tests").strip()
    which = field(form, "which") or "latest"
    kept = {"tests": folder, "which": which}
    try:
        choice = _choice(which)
        suite = await trio.to_thread.run_sync(_load_suite, folder)
    except UsageError as exc:
        return await problem_page(
            ctx, request, status=400, grade_error=ctx.say(request, exc), grade_form=kept
        )
    grader = Grader(ctx.me, problem, suite)
    chosen = await ctx.read(grader.choose, choice)
    lines = [await _grade_one(ctx, grader, s, regrade=choice == "regrade") for s in chosen]
    return await problem_page(ctx, request, graded=lines, grade_form=kept)


def _choice(text: str) -> Choice:
    for choice in CHOICES:
        if choice == text:
            return choice
    raise UsageError(f"choose which submissions to grade: {', '.join(CHOICES)}")


def _load_suite(folder: str) -> TestSuite:
    """The hidden tests, refused before anything runs when there is no sandbox (blocking:
    it reads the folder and probes bubblewrap)."""
    if not folder:
        raise UsageError("give the folder of hidden tests on this computer")
    suite = load_test_folder(Path(folder).expanduser())
    reason = sandbox_available()
    if reason is not None:
        raise UsageError(
            f"cannot grade: {reason}; hidden tests only ever run in the sandbox, so nothing ran"
        )
    return suite


def _problem(store: Store, me: Membership, problem_id: bytes) -> Problem | None:
    return newest_revision(store, problem_id, me.klass.instructor)


async def _grade_one(ctx: WebContext, grader: Grader, s: Submission, *, regrade: bool) -> str:
    """Read, run, decide, publish: the CLI's ``Grader.grade`` with each step through the
    right door."""
    read = await ctx.read(grader.solution, s)
    if isinstance(read, Decision):
        return read.line
    try:
        outcome = await trio.to_thread.run_sync(grader.run, s, *read, limiter=_SANDBOX)
    except UsageError as exc:  # this computer cannot run it (no C compiler, say)
        return grader.cannot_run(s, exc).line
    decision = await ctx.read(grader.decide, s, outcome, regrade=regrade)
    if decision.body is None:
        return decision.told(None)
    try:
        published = await authoring.append(ctx.store, ctx.me, "feedback", decision.body)
    except authoring.FormError as exc:  # authoring blocked here (a twin), say
        return f"{decision.line}; not published: {exc}"
    return decision.told(published)
