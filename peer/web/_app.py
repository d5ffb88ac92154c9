"""The Starlette app: routes, page handlers, and the context they share.

Pages render on the server and read only through ``_model`` (``storage.queries`` and
``Store`` reads, in worker threads); forms write only through ``_authoring`` (``AsyncStore``).
Every POST goes through ``_form``, which refuses a form without its CSRF token.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import attrs
import jinja2
import trio
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from peer.identity import Membership
from peer.log import (
    DEFAULT_LANGUAGES,
    DEFAULT_LATE_POLICY,
    LATE_POLICIES,
    MAX_CHAT_TEXT,
    MAX_SOLUTION_BYTES,
    VERDICTS,
    hlc,
)
from peer.report.safe_markdown import render_markdown
from peer.web import _authoring as authoring
from peer.web import _model as model
from peer.web._highlight import highlight
from peer.web._live import Live, Network, Offline, stream
from peer.web._security import CSRF_FIELD, Access, Guard, session_cookie
from storage import AsyncStore, Store

T = TypeVar("T")
HERE = Path(__file__).parent
#: Bigger bodies are refused before they are read (a solution is at most 64 KiB).
MAX_BODY = 4 * 1024 * 1024
#: One form field or file: beyond a chat message (16,000 characters, URL-encoded) or a solution.
MAX_PART = 1024 * 1024
REPORT_TYPES = {
    "html": "text/html; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}


@attrs.define(eq=False)
class ReadMarks:
    """The newest message time this viewer has seen per conversation (for unread counts),
    kept in the data dir so that a restart does not make everything unread again."""

    path: Path | None
    marks: dict[str, int] = attrs.field(factory=dict)

    @classmethod
    def load(cls, path: Path | None) -> ReadMarks:
        if path is None:
            return cls(None)
        try:
            found = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls(path)
        marks = {str(k): v for k, v in found.items() if isinstance(v, int)}
        return cls(path, marks)

    def seen(self, key: str, ts: int) -> bool:
        """Record a mark (blocking: writes a small file); True if it moved."""
        if ts <= self.marks.get(key, 0):
            return False
        self.marks[key] = ts
        if self.path is not None:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.marks), encoding="utf-8")
            tmp.replace(self.path)
        return True


@attrs.define(eq=False)
class WebContext:
    """Everything the handlers share; built once per run."""

    store: AsyncStore
    me: Membership
    access: Access
    network: Network = attrs.field(factory=Offline)
    live: Live = attrs.field(factory=Live)
    read_marks: ReadMarks = attrs.field(factory=lambda: ReadMarks(None))
    readers: trio.CapacityLimiter = attrs.field(factory=lambda: trio.CapacityLimiter(2))
    env: jinja2.Environment = attrs.field(factory=lambda: make_env())
    me_name: str = ""

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking read (``fn(store, *args)``) in a worker thread."""
        return await trio.to_thread.run_sync(fn, self.store.store, *args, limiter=self.readers)

    def page(self, request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
        template = self.env.get_template(name)
        values.setdefault("nav", None)
        html = template.render(
            request=request,
            me=self.me,
            me_name=self.me_name,
            csrf=self.access.csrf,
            csrf_field=CSRF_FIELD,
            sync=self.live.sync,
            live_version=self.live.version,
            class_name=self.me.klass.name,
            now_ms=hlc.wall_ms(),
            **values,
        )
        return HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})


def make_env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["md"] = lambda text: Markup(render_markdown(text))
    env.filters["iso_ts"] = lambda ts: hlc.iso_from_ts(ts) or ""
    env.filters["iso_ms"] = lambda ms: hlc.iso_from_ms(ms) or ""
    env.filters["ms"] = model.ms_of
    env.filters["hex"] = lambda b: b.hex()
    env.filters["short"] = lambda b: b.hex()[:8]
    env.filters["highlight"] = highlight
    env.filters["due_text"] = model.due_text
    env.filters["thousands"] = lambda n: f"{n:,}"
    env.globals["VERDICTS"] = VERDICTS
    env.globals["MAX_CHAT_TEXT"] = MAX_CHAT_TEXT
    env.globals["LATE_POLICIES"] = LATE_POLICIES
    env.globals["ALL_LANGUAGES"] = ("python", "c")
    env.globals["MAX_SOLUTION_BYTES"] = MAX_SOLUTION_BYTES
    return env


class NotFound(Exception):
    """A page for something this peer does not hold (yet)."""


def _id(text: str) -> bytes:
    try:
        value = bytes.fromhex(text)
    except ValueError:
        raise NotFound(f"{text[:80]!r} is not an id") from None
    if len(value) != 32:
        raise NotFound(f"{text[:80]!r} is not an id")
    return value


async def _form(ctx: WebContext, request: Request) -> FormData:
    """The posted form, after its CSRF token is checked (403 otherwise)."""
    form = await request.form(max_files=1, max_fields=200, max_part_size=MAX_PART)
    token = form.get(CSRF_FIELD)
    if not ctx.access.csrf_ok(token if isinstance(token, str) else None):
        raise Forbidden("refused: the form has no valid CSRF token (reload the page)")
    return form


class Forbidden(Exception):
    pass


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


Handler = Callable[[WebContext, Request], Awaitable[Response]]


def build_app(ctx: WebContext) -> Starlette:
    """The ASGI app for one run, wrapped in the security guard."""

    def route(path: str, handler: Handler, methods: tuple[str, ...] = ("GET",)) -> Route:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(ctx, request)
            except NotFound as exc:
                return ctx.page(request, "error.html", 404, title="Not found", message=str(exc))
            except Forbidden as exc:
                return ctx.page(request, "error.html", 403, title="Refused", message=str(exc))

        return Route(path, endpoint, methods=list(methods))

    routes = [
        route("/", home),
        route("/session", sign_in, ("GET", "POST")),
        route("/chat", chat_page),
        route("/chat", chat_post, ("POST",)),
        route("/problems", problems_page),
        route("/problems/{pid}", problem_page),
        route("/problems/{pid}", problem_post, ("POST",)),
        route("/feedback", feedback_page),
        route("/submissions/{sid}", submission_page),
        route("/submissions/{sid}", feedback_post, ("POST",)),
        route("/instructor", instructor_page),
        route("/instructor/roster", roster_post, ("POST",)),
        route("/instructor/publish", publish_page),
        route("/instructor/publish", publish_post, ("POST",)),
        route("/report", report_download),
        route("/events", events),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, max_body_size=MAX_BODY)
    signin = ctx.env.get_template("signin.html")

    def sign_in_page() -> bytes:
        return signin.render(error=None).encode()

    return Guard(app, ctx.access, sign_in_page)  # type: ignore[return-value]


# ---- sign-in ------------------------------------------------------------------------------------


async def home(ctx: WebContext, request: Request) -> Response:
    return _see_other("/chat")


async def sign_in(ctx: WebContext, request: Request) -> Response:
    """POST the token (the sign-in page's script takes it from ``#token=``): set the cookie."""
    if request.method == "GET":
        return _see_other("/")
    form = await request.form(max_files=0, max_fields=4)
    token = form.get("token")
    if not ctx.access.token_ok(token if isinstance(token, str) else None):
        html = ctx.env.get_template("signin.html").render(
            error="that token is not this run's token"
        )
        return HTMLResponse(html, status_code=401, headers={"cache-control": "no-store"})
    response = _see_other("/chat")
    name, value = session_cookie(request, ctx.access.token)
    response.headers.append(name, value)
    return response


# ---- chat ---------------------------------------------------------------------------------------


def _conversation(request: Request) -> str:
    peer = request.query_params.get("with")
    if peer:
        return "@" + _id(peer).hex()
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
    form = await _form(ctx, request)
    text = _text(form, "text")
    to = _text(form, "with")
    room = _text(form, "room").strip().lstrip("#") or model.DEFAULT_ROOM
    try:
        recipient = _id(to) if to else None
        body = authoring.chat_body(ctx.me, room, text, recipient)
        await authoring.append(ctx.store, ctx.me, "chat", body)
    except authoring.FormError as exc:
        return await chat_page(ctx, request, str(exc), text, 400)
    target = f"/chat?with={to}" if to else f"/chat?room={body['room']}"
    return _see_other(target)


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
    pid = _id(request.path_params["pid"])
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
    form = await _form(ctx, request)
    pid = _id(request.path_params["pid"])
    action = _text(form, "action")
    language = _text(form, "language") or "python"
    pasted = _text(form, "solution")
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
            return _see_other(f"/problems/{view.problem.id.hex()}?submitted={body['attempt']}")
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
    sid = _id(request.path_params["sid"])
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
    form = await _form(ctx, request)
    sid = _id(request.path_params["sid"])
    view = await ctx.read(model.submission_view, ctx.me, sid)
    if view is None:
        raise NotFound("this submission has not arrived at this peer (yet)")
    if not view.may_review:
        raise Forbidden("you may not review this submission")
    try:
        body = authoring.feedback_body(
            sid,
            _text(form, "verdict"),
            _text(form, "score"),
            _text(form, "comment"),
            view.mine.id if view.mine is not None else None,
        )
        await authoring.append(ctx.store, ctx.me, "feedback", body)
    except authoring.FormError as exc:
        return await submission_page(ctx, request, status=400, error=str(exc))
    back = _text(form, "back")
    return _see_other(back if back in ("/instructor", "/feedback") else f"/submissions/{sid.hex()}")


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
    form = await _form(ctx, request)
    peer = _id(_text(form, "peer"))
    action = _text(form, "action")
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
    return _see_other("/instructor#roster-title")


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
        view = await ctx.read(model.problem_view, ctx.me, _id(revise))
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
    form = await _form(ctx, request)
    supersedes_text = _text(form, "supersedes")
    try:
        examples = [(_text(form, f"input{i}"), _text(form, f"output{i}")) for i in range(1, 21)]
        supersedes = _id(supersedes_text) if supersedes_text else None
        if supersedes is None and not ctx.me.is_instructor:
            raise Forbidden("only the instructor publishes official problems")
        due = authoring.parse_due(_text(form, "due"), _text(form, "tz_offset"))
        if due is not None and due < hlc.wall_ms() and supersedes is None:
            raise authoring.FormError("the due time has already passed; choose a later one")
        body = authoring.problem_body(
            _text(form, "title"),
            _text(form, "statement"),
            examples,
            _text(form, "tags"),
            due,
            supersedes,
            # none ticked: the default (python), as the CLI does without --languages
            languages=[str(v) for v in form.getlist("languages")] or list(DEFAULT_LANGUAGES),
            late_policy=_text(form, "late_policy") or DEFAULT_LATE_POLICY,
            review=_text(form, "review") or "instructor",
        )
        problem_id = await authoring.append(ctx.store, ctx.me, "problem", body)
    except authoring.FormError as exc:
        return await publish_page(ctx, request, status=400, error=str(exc), form=form)
    return _see_other(f"/problems/{problem_id.hex()}")


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


async def events(ctx: WebContext, request: Request) -> Response:
    return StreamingResponse(
        stream(ctx.live),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )
