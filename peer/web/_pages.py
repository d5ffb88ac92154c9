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
from starlette.responses import JSONResponse, Response

from peer.errors import PeerclassError
from peer.identity import Membership
from peer.log import (
    DEFAULT_LANGUAGES,
    DEFAULT_LATE_POLICY,
    HIDDEN_DETAILS,
    hlc,
)
from peer.report import FORMATS, Format, build_report, gather
from peer.report import Request as ReportRequest
from peer.web import _authoring as authoring
from peer.web import _chat_model as chat
from peer.web import _model as model
from peer.web import _publish_terms as publish_terms
from peer.web._board import board_of, peers_now
from peer.web._context import (
    N_,
    Forbidden,
    NotFound,
    WebContext,
    field,
    parse_id,
    read_form,
    see_other,
    tr,
)
from peer.web._rubric import rubric_fields, rubric_form
from storage import Store, dismiss_announcement
from storage.queries import ChatMessage, board_json


def _conversation(request: Request) -> str:
    peer = request.query_params.get("with")
    if peer:
        return "@" + parse_id(peer).hex()
    return request.query_params.get("room") or chat.DEFAULT_ROOM


def _optional_id(request: Request, name: str) -> bytes | None:
    value = request.query_params.get(name)
    return parse_id(value) if value else None


def _back(form: FormData) -> str:
    back = field(form, "back")
    return back if back.startswith("/chat") and not back.startswith("//") else "/chat"


async def chat_page(
    ctx: WebContext,
    request: Request,
    error: str | None = None,
    draft: str = "",
    status: int = 200,
    announce: bool = False,
) -> Response:
    current = _conversation(request)
    view = await ctx.read(
        chat.chat_view,
        ctx.me,
        current,
        dict(ctx.read_marks.marks),
        ctx.network.connected(),
        my_name=ctx.me_name,
        before=_optional_id(request, "before"),
        start=_optional_id(request, "from"),
    )
    if view.newest_ts and "before" not in request.query_params:
        await trio.to_thread.run_sync(ctx.read_marks.seen, current, view.newest_ts)
    return ctx.page(
        request,
        "chat.html",
        status,
        nav="chat",
        view=view,
        error=error,
        draft=draft,
        announce=announce,
        unread_total=(await ctx.read(chat.unread, ctx.me, dict(ctx.read_marks.marks))).total,
    )


async def chat_older(ctx: WebContext, request: Request) -> Response:
    """The page of messages before one shown (scrolling up), as an HTML fragment."""
    current = _conversation(request)
    before = _optional_id(request, "before")
    if before is None:
        raise NotFound(N_("which message? (before=...)"))
    view = await ctx.read(chat.older_view, ctx.me, current, before, ctx.me_name)
    return ctx.page(request, "chat_older.html", view=view)


async def chat_post(ctx: WebContext, request: Request) -> Response:
    form = await read_form(ctx, request)
    text = field(form, "text")
    to = field(form, "with")
    room = field(form, "room").strip().lstrip("#") or chat.DEFAULT_ROOM
    announcement = field(form, "announcement") == "1"
    try:
        recipient = parse_id(to) if to else None
        body = authoring.chat_body(ctx.me, room, text, recipient, announcement=announcement)
        await authoring.append(ctx.store, ctx.me, "chat", body)
    except authoring.FormError as exc:
        return await chat_page(ctx, request, ctx.say(request, exc), text, 400, announcement)
    target = f"/chat?with={to}" if to else f"/chat?room={body['room']}"
    return see_other(target)


async def _own_message(ctx: WebContext, form: FormData) -> ChatMessage:
    target = parse_id(field(form, "target"))
    found = await ctx.read(chat.by_ids, ctx.me, [target])
    if not found:
        raise NotFound(N_("that message has not arrived at this peer (yet)"))
    return found[0]


async def message_page(
    ctx: WebContext,
    request: Request,
    *,
    status: int = 200,
    error: str | None = None,
    draft: str | None = None,
    back: str | None = None,
) -> Response:
    """One's own message, to edit or delete (a page, so the chat holds no form per message)."""
    target = parse_id(request.path_params["mid"])
    found = await ctx.read(chat.shown_by_id, ctx.me, target, ctx.me_name)
    if found is None:
        raise NotFound("that message has not arrived at this peer (yet)")
    history = await ctx.read(chat.versions, ctx.me, found.message)
    if not found.mine and not history:
        raise Forbidden("you can edit only your own messages")
    if back is None:
        given = request.query_params.get("back", "")
        back = given if given.startswith("/chat") and not given.startswith("//") else "/chat"
    return ctx.page(
        request,
        "message.html",
        status,
        nav="chat",
        shown=found,
        versions=history,
        error=error,
        draft=draft,
        back=back,
    )


async def chat_edit(ctx: WebContext, request: Request) -> Response:
    form = await read_form(ctx, request)
    message = await _own_message(ctx, form)
    try:
        body = authoring.edit_body(ctx.me, message, field(form, "text"))
        await authoring.append(ctx.store, ctx.me, "edit", body)
    except authoring.FormError as exc:
        request.scope.setdefault("path_params", {})["mid"] = message.id.hex()
        return await message_page(
            ctx,
            request,
            status=400,
            error=ctx.say(request, exc),
            draft=field(form, "text"),
            back=_back(form),
        )
    return see_other(_back(form) + f"#m-{message.id.hex()}")


async def chat_delete(ctx: WebContext, request: Request) -> Response:
    form = await read_form(ctx, request)
    message = await _own_message(ctx, form)
    try:
        await authoring.append(ctx.store, ctx.me, "delete", authoring.delete_body(ctx.me, message))
    except authoring.FormError as exc:
        raise Forbidden(ctx.say(request, exc)) from None
    return see_other(_back(form))


async def chat_dismiss(ctx: WebContext, request: Request) -> Response:
    """Unpin an announcement on this data dir (the others keep theirs)."""
    form = await read_form(ctx, request)
    target = parse_id(field(form, "target"))
    await ctx.read(dismiss_announcement, target)
    ctx.live.publish(ctx.live.sync, content=True)  # other open tabs unpin it too
    return see_other(_back(form))


async def chat_search(ctx: WebContext, request: Request) -> Response:
    q = request.query_params.get("q", "").strip()
    hits: list[chat.Hit] = []
    error = None
    if q:
        try:
            hits = await ctx.read(chat.search, ctx.me, q, ctx.me_name)
        except PeerclassError as exc:
            error = str(exc)
    return ctx.page(
        request,
        "search.html",
        nav="chat",
        q=q,
        hits=hits,
        error=error,
    )


async def chat_unread(ctx: WebContext, request: Request) -> Response:
    """For the page's script on every page: the unread total (badge and title) and what to
    notify of since ``after`` (an HLC ts; without it, nothing: only newer things notify)."""
    found = await ctx.read(chat.unread, ctx.me, dict(ctx.read_marks.marks))
    after_text = request.query_params.get("after", "")
    alerts: list[chat.Alert] = []
    newest = chat.now_ts()
    if after_text.isdigit():
        alerts, newest = await ctx.read(chat.alerts, ctx.me, ctx.me_name, int(after_text))
    t = tr(request)
    return JSONResponse(
        {
            "total": found.total,
            "capped": found.capped,
            "after": str(newest),
            "alerts": [
                {
                    "kind": a.kind,
                    "title": t(_ALERT_TITLES[a.kind], name=a.name),
                    "text": a.text,
                    "url": a.url,
                    "ts": str(a.ts),
                }
                for a in alerts
            ],
        },
        headers={"cache-control": "no-store"},
    )


_ALERT_TITLES = {
    "private": N_("Private message from {name}"),
    "mention": N_("{name} mentioned you"),
    "announcement": N_("Announcement from {name}"),
}


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
        # the staff's grading form (peer.web._grading): its lines, its refusal, its fields
        "graded": None,
        "grade_error": None,
        "grade_form": {},
        # the staff see the problem's grading settings (review, hidden tests, late penalty...)
        "terms": (
            await ctx.read(publish_terms.terms_of, view.problem.id) if ctx.me.is_staff else None
        ),
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
            ctx,
            request,
            status=400,
            error=ctx.say(request, exc),
            solution=pasted,
            language=language,
        )
    return await problem_page(ctx, request, check=check, solution=solution, language=language)


# ---- feedback -----------------------------------------------------------------------------------


async def feedback_page(ctx: WebContext, request: Request) -> Response:
    view = await ctx.read(model.feedback_view, ctx.me)
    return ctx.page(request, "feedback.html", nav="feedback", view=view)


async def submission_page(
    ctx: WebContext,
    request: Request,
    *,
    status: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    sid = parse_id(request.path_params["sid"])
    view = await ctx.read(model.submission_view, ctx.me, sid)
    if view is None:
        raise NotFound("this submission (or its problem) has not arrived at this peer (yet)")
    return ctx.page(
        request,
        "submission.html",
        status,
        nav="instructor" if ctx.me.is_staff else "feedback",
        view=view,
        error=error,
        form=form,
        rubric=await ctx.read(rubric_form, ctx.me, sid),
    )


async def feedback_post(ctx: WebContext, request: Request) -> Response:
    form = await read_form(ctx, request)
    sid = parse_id(request.path_params["sid"])
    view = await ctx.read(model.submission_view, ctx.me, sid)
    if view is None:
        raise NotFound("this submission has not arrived at this peer (yet)")
    if not view.may_review:
        raise Forbidden(N_("you may not review this submission"))
    try:
        body = authoring.feedback_body(
            sid,
            field(form, "verdict"),
            field(form, "score"),
            field(form, "comment"),
            view.mine.id if view.mine is not None else None,
        )
        typed_points = {
            str(k).removeprefix("rubric-"): field(form, str(k))
            for k in form
            if str(k).startswith("rubric-")
        }
        body |= await ctx.read(rubric_fields, ctx.me, sid, typed_points)
        await authoring.append(ctx.store, ctx.me, "feedback", body)
    except authoring.FormError as exc:
        typed = {k: field(form, k) for k in ("verdict", "score", "comment")}
        return await submission_page(
            ctx, request, status=400, error=ctx.say(request, exc), form=typed
        )
    back = field(form, "back")
    return see_other(back if back in ("/instructor", "/feedback") else f"/submissions/{sid.hex()}")


# ---- instructor ---------------------------------------------------------------------------------


def _instructor_only(ctx: WebContext) -> None:
    if not ctx.me.is_instructor:
        raise Forbidden("only the class's instructor sees this page")


def _staff_only(ctx: WebContext) -> None:
    """The instructor's page is read by TAs too (issue 20); its forms stay the instructor's."""
    if not ctx.me.is_staff:
        raise Forbidden("only the class's instructors and TAs see this page")


async def instructor_page(ctx: WebContext, request: Request) -> Response:
    _staff_only(ctx)
    view = await ctx.read(model.instructor_view, ctx.me)
    board = await ctx.read(board_of, ctx.me.klass.instructor, peers_now(ctx.network))
    return ctx.page(
        request, "instructor.html", nav="instructor", view=view, formats=FORMATS, board=board
    )


async def board_page(ctx: WebContext, request: Request) -> Response:
    """The class at a glance as JSON (``peerclass progress --live`` reads it)."""
    _staff_only(ctx)
    board = await ctx.read(board_of, ctx.me.klass.instructor, peers_now(ctx.network))
    return JSONResponse(board_json(board), headers={"cache-control": "no-store"})


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
        raise Forbidden(
            "cannot {action} {name}: they are {state}",
            action=action,
            name=entry.name,
            state=entry.state,
        )
    try:
        await authoring.append(ctx.store, ctx.me, "roster", body)
    except authoring.FormError as exc:
        raise Forbidden(ctx.say(request, exc)) from None
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
    if form is not None:  # a refused form: what was typed
        settings = publish_terms.settings_typed(form)
    elif problem is not None:  # a revision keeps what the problem set (on the CLI too)
        settings = await ctx.read(publish_terms.settings_of, problem.id)
    else:
        settings = dict(publish_terms.DEFAULTS)
    return ctx.page(
        request,
        "publish.html",
        status,
        nav="instructor",
        problem=problem,
        error=error,
        form=form,
        settings=settings,
        hidden_details=HIDDEN_DETAILS,
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
        )
        body.update(publish_terms.settings_body(publish_terms.settings_typed(form)))
        problem_id = await authoring.append(ctx.store, ctx.me, "problem", body)
    except authoring.FormError as exc:
        return await publish_page(ctx, request, status=400, error=ctx.say(request, exc), form=form)
    return see_other(f"/problems/{problem_id.hex()}")


async def report_download(ctx: WebContext, request: Request) -> Response:
    """The feedback history report (the class for the instructor, oneself for a student)."""
    name = request.query_params.get("format", "html")
    fmt = next((f for f in FORMATS if f.name == name), None)
    if fmt is None:
        known = ", ".join(f.name for f in FORMATS)
        raise NotFound("no report format {fmt!r}; choose one of: {known}", fmt=name, known=known)
    if fmt.class_only and not ctx.me.is_instructor:
        raise Forbidden(
            "the {fmt} report shows the whole class: only the instructor makes it", fmt=name
        )
    text = await ctx.read(_render_report, ctx.me, fmt)
    return Response(
        text,
        media_type=fmt.media_type,
        headers={"content-disposition": f'attachment; filename="{fmt.file_name}"'},
    )


def _render_report(store: Store, me: Membership, fmt: Format) -> str:
    report = build_report(
        gather(store, me.klass.instructor),
        ReportRequest(
            viewer_id=me.peer_id,
            viewer_role="instructor" if me.is_instructor else "student",
            scope="class" if me.is_instructor else "student",
        ),
    )
    return fmt.render(report, hlc.wall_ms())


# ---- live ---------------------------------------------------------------------------------------
