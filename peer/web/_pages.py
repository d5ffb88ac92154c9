"""The page handlers: chat, problems, feedback, instructor and the report download.

They read only through ``_model`` (``storage.queries`` and ``Store`` reads, in worker threads)
and write only through ``_authoring`` (``AsyncStore``); every POST reads its form with
``read_form``, which refuses a form without its CSRF token.
"""

from __future__ import annotations

from typing import Any

import trio
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response

from peer.identity import Membership
from peer.log import (
    DEFAULT_LANGUAGES,
    DEFAULT_LATE_POLICY,
    hlc,
)
from peer.web import _authoring as authoring
from peer.web import _model as model
from peer.web._context import Forbidden, NotFound, WebContext, field, parse_id, read_form, see_other
from storage import Store

REPORT_TYPES = {
    "html": "text/html; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}


def _conversation(request: Request) -> str:
    peer = request.query_params.get("with")
    if peer:
        return "@" + parse_id(peer).hex()
    return request.query_params.get("room") or model.DEFAULT_ROOM


async def chat_page(
    ctx: WebContext, request: Request, error: str | None = None, draft: str = "", status: int = 200
) -> Response:
    current = _conversation(request)
    view = await ctx.read(
        model.chat_view, ctx.me, current, dict(ctx.read_marks.marks), ctx.network.connected()
    )
    if view.newest_ts:
        await trio.to_thread.run_sync(ctx.read_marks.seen, current, view.newest_ts)
    return ctx.page(request, "chat.html", status, nav="chat", view=view, error=error, draft=draft)


async def chat_post(ctx: WebContext, request: Request) -> Response:
    form = await read_form(ctx, request)
    text = field(form, "text")
    to = field(form, "with")
    room = field(form, "room").strip().lstrip("#") or model.DEFAULT_ROOM
    try:
        recipient = parse_id(to) if to else None
        body = authoring.chat_body(ctx.me, room, text, recipient)
        await authoring.append(ctx.store, ctx.me, "chat", body)
    except authoring.FormError as exc:
        return await chat_page(ctx, request, str(exc), text, 400)
    target = f"/chat?with={to}" if to else f"/chat?room={body['room']}"
    return see_other(target)


# ---- problems -----------------------------------------------------------------------------------


async def problems_page(ctx: WebContext, request: Request) -> Response:
    rows = await ctx.read(model.problem_rows, ctx.me)
    return ctx.page(request, "problems.html", nav="problems", rows=rows)


async def problem_page(
    ctx: WebContext,
    request: Request,
    *,
    status: int = 200,
    **extra: Any,
) -> Response:
    pid = parse_id(request.path_params["pid"])
    view = await ctx.read(model.problem_view, ctx.me, pid)
    if view is None:
        raise NotFound("this problem has not arrived at this peer (yet)")
    values: dict[str, Any] = {
        "error": None,
        "check": None,
        "solution": "",
        "language": view.problem.languages[0],
        "submitted": request.query_params.get("submitted"),
    }
    values.update(extra)
    return ctx.page(request, "problem.html", status, nav="problems", view=view, **values)


async def problem_post(ctx: WebContext, request: Request) -> Response:
    """A dry-run self-check (``action=check``: nothing stored) or a submission."""
    form = await read_form(ctx, request)
    pid = parse_id(request.path_params["pid"])
    action = field(form, "action")
    language = field(form, "language") or "python"
    pasted = field(form, "solution")
    upload = form.get("file")
    uploaded = await upload.read() if isinstance(upload, UploadFile) else None
    view = await ctx.read(model.problem_view, ctx.me, pid)
    if view is None:
        raise NotFound("this problem has not arrived at this peer (yet)")
    try:
        authoring.check_language(language, view.problem)
        solution = authoring.solution_text(pasted, uploaded)
        if action == "submit":
            body = await ctx.read(
                authoring.submission_body, ctx.me, view.problem, language, solution
            )
            await authoring.append(ctx.store, ctx.me, "submission", body)
            return see_other(f"/problems/{view.problem.id.hex()}?submitted={body['attempt']}")
        check = await trio.to_thread.run_sync(
            authoring.self_check, language, solution, view.problem
        )
    except authoring.FormError as exc:
        return await problem_page(
            ctx, request, status=400, error=str(exc), solution=pasted, language=language
        )
    return await problem_page(ctx, request, check=check, solution=solution, language=language)


# ---- feedback -----------------------------------------------------------------------------------


async def feedback_page(ctx: WebContext, request: Request) -> Response:
    view = await ctx.read(model.feedback_view, ctx.me)
    return ctx.page(request, "feedback.html", nav="feedback", view=view)


async def submission_page(
    ctx: WebContext, request: Request, *, status: int = 200, error: str | None = None
) -> Response:
    sid = parse_id(request.path_params["sid"])
    view = await ctx.read(model.submission_view, ctx.me, sid)
    if view is None:
        raise NotFound("this submission (or its problem) has not arrived at this peer (yet)")
    return ctx.page(
        request,
        "submission.html",
        status,
        nav="instructor" if ctx.me.is_instructor else "feedback",
        view=view,
        error=error,
    )


async def feedback_post(ctx: WebContext, request: Request) -> Response:
    form = await read_form(ctx, request)
    sid = parse_id(request.path_params["sid"])
    view = await ctx.read(model.submission_view, ctx.me, sid)
    if view is None:
        raise NotFound("this submission has not arrived at this peer (yet)")
    if not view.may_review:
        raise Forbidden("you may not review this submission")
    try:
        body = authoring.feedback_body(
            sid,
            field(form, "verdict"),
            field(form, "score"),
            field(form, "comment"),
            view.mine.id if view.mine is not None else None,
        )
        await authoring.append(ctx.store, ctx.me, "feedback", body)
    except authoring.FormError as exc:
        return await submission_page(ctx, request, status=400, error=str(exc))
    back = field(form, "back")
    return see_other(back if back in ("/instructor", "/feedback") else f"/submissions/{sid.hex()}")


# ---- instructor ---------------------------------------------------------------------------------


def _instructor_only(ctx: WebContext) -> None:
    if not ctx.me.is_instructor:
        raise Forbidden("only the class's instructor sees this page")


async def instructor_page(ctx: WebContext, request: Request) -> Response:
    _instructor_only(ctx)
    view = await ctx.read(model.instructor_view, ctx.me)
    return ctx.page(request, "instructor.html", nav="instructor", view=view)


async def roster_post(ctx: WebContext, request: Request) -> Response:
    """Admit a pending (or removed) identity, or remove a member: a signed roster event."""
    _instructor_only(ctx)
    form = await read_form(ctx, request)
    peer = parse_id(field(form, "peer"))
    action = field(form, "action")
    view = await ctx.read(model.instructor_view, ctx.me)
    entry = next((e for e in view.roster if e.peer_id == peer), None)
    if entry is None:
        raise NotFound("nobody with that id is in the roster")
    if action == "admit" and entry.state != "member":
        body = {"action": "admit", "peer": peer, "name": entry.name, "role": "student"}
    elif action == "remove" and entry.state != "removed" and peer != ctx.me.peer_id:
        body = {"action": "remove", "peer": peer}
    else:
        raise Forbidden(f"cannot {action} {entry.name}: they are {entry.state}")
    try:
        await authoring.append(ctx.store, ctx.me, "roster", body)
    except authoring.FormError as exc:
        raise Forbidden(str(exc)) from None
    return see_other("/instructor#roster-title")


async def publish_page(
    ctx: WebContext,
    request: Request,
    *,
    status: int = 200,
    error: str | None = None,
    form: FormData | None = None,
) -> Response:
    revise = request.query_params.get("revise")
    problem = None
    if revise:
        view = await ctx.read(model.problem_view, ctx.me, parse_id(revise))
        if view is None:
            raise NotFound("no such problem here")
        problem = view.problem
        if problem.author != ctx.me.peer_id:
            raise Forbidden("only a problem's author revises it")
    elif not ctx.me.is_instructor:
        raise Forbidden("students publish practice problems with the CLI for now")
    return ctx.page(
        request,
        "publish.html",
        status,
        nav="instructor",
        problem=problem,
        error=error,
        form=form,
    )


async def publish_post(ctx: WebContext, request: Request) -> Response:
    form = await read_form(ctx, request)
    supersedes_text = field(form, "supersedes")
    try:
        examples = [(field(form, f"input{i}"), field(form, f"output{i}")) for i in range(1, 21)]
        supersedes = parse_id(supersedes_text) if supersedes_text else None
        if supersedes is None and not ctx.me.is_instructor:
            raise Forbidden("only the instructor publishes official problems")
        due = authoring.parse_due(field(form, "due"), field(form, "tz_offset"))
        if due is not None and due < hlc.wall_ms() and supersedes is None:
            raise authoring.FormError("the due time has already passed; choose a later one")
        body = authoring.problem_body(
            field(form, "title"),
            field(form, "statement"),
            examples,
            field(form, "tags"),
            due,
            supersedes,
            # none ticked: the default (python), as the CLI does without --languages
            languages=[str(v) for v in form.getlist("languages")] or list(DEFAULT_LANGUAGES),
            late_policy=field(form, "late_policy") or DEFAULT_LATE_POLICY,
            review=field(form, "review") or "instructor",
        )
        problem_id = await authoring.append(ctx.store, ctx.me, "problem", body)
    except authoring.FormError as exc:
        return await publish_page(ctx, request, status=400, error=str(exc), form=form)
    return see_other(f"/problems/{problem_id.hex()}")


async def report_download(ctx: WebContext, request: Request) -> Response:
    """The feedback history report (the class for the instructor, oneself for a student)."""
    fmt = request.query_params.get("format", "html")
    if fmt not in REPORT_TYPES:
        raise NotFound(f"no report format {fmt!r}; choose html, md, csv or json")
    text = await ctx.read(_render_report, ctx.me, fmt)
    name = f"peerclass-report.{fmt}"
    return Response(
        text,
        media_type=REPORT_TYPES[fmt],
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


def _render_report(store: Store, me: Membership, fmt: str) -> str:
    from peer.report.gather import gather
    from peer.report.model import Request as ReportRequest
    from peer.report.render_csv import render_csv
    from peer.report.render_html import render_html
    from peer.report.render_json import render_json
    from peer.report.render_md import render_md
    from peer.report.summary import build_report

    report = build_report(
        gather(store, me.klass.instructor),
        ReportRequest(
            viewer_id=me.peer_id,
            viewer_role="instructor" if me.is_instructor else "student",
            scope="class" if me.is_instructor else "student",
        ),
    )
    if fmt == "html":
        return render_html(report, hlc.wall_ms())
    if fmt == "md":
        return render_md(report)
    if fmt == "csv":
        return render_csv(report)
    return render_json(report)


# ---- live ---------------------------------------------------------------------------------------
