"""The Starlette app: the routes (behind the security guard), sign-in and the live stream.

The page handlers are in ``_pages``; what they share is in ``_context``.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from peer.i18n import supported
from peer.web import _chat_model as chat
from peer.web import _model as model
from peer.web._context import (
    HERE,
    LANG_COOKIE,
    MAX_BODY,
    N_,
    Forbidden,
    Handler,
    NotFound,
    WebContext,
    field,
    read_form,
    see_other,
    template_gettext,
    tr,
)
from peer.web._grading import grade_post
from peer.web._live import stream
from peer.web._network import network_page
from peer.web._pages import (
    board_page,
    chat_delete,
    chat_dismiss,
    chat_edit,
    chat_older,
    chat_page,
    chat_post,
    chat_search,
    chat_unread,
    feedback_page,
    feedback_post,
    instructor_page,
    message_page,
    problem_page,
    problem_post,
    problems_page,
    publish_page,
    publish_post,
    report_download,
    roster_post,
    submission_page,
)
from peer.web._security import TOKEN_REFUSED, Guard, session_cookie

#: Responses that are not whole pages: no standing or unread count to gather for them.
BARE = frozenset(
    {
        "/events",
        "/chat/older",
        "/chat/unread.json",
        "/report",
        "/session",
        "/lang",
        "/instructor/board.json",
    }
)


def build_app(ctx: WebContext) -> Starlette:
    """The ASGI app for one run, wrapped in the security guard."""

    def route(path: str, handler: Handler, methods: tuple[str, ...] = ("GET",)) -> Route:
        async def endpoint(request: Request) -> Response:
            try:
                if path not in BARE:  # every page shows the standing and the unread count
                    state = request.scope.setdefault("state", {})
                    state["standing"] = await ctx.read(model.standing, ctx.me)
                    marks = dict(ctx.read_marks.marks)
                    state["unread"] = (await ctx.read(chat.unread, ctx.me, marks)).total
                return await handler(ctx, request)
            except NotFound as exc:
                message = ctx.say(request, exc)
                return ctx.page(request, "error.html", 404, title=N_("Not found"), message=message)
            except Forbidden as exc:
                message = ctx.say(request, exc)
                return ctx.page(request, "error.html", 403, title=N_("Refused"), message=message)

        return Route(path, endpoint, methods=list(methods))

    routes = [
        route("/", home),
        route("/session", sign_in, ("GET", "POST")),
        route("/lang", pick_language, ("POST",)),
        route("/chat", chat_page),
        route("/chat", chat_post, ("POST",)),
        route("/chat/older", chat_older),
        route("/chat/message/{mid}", message_page),
        route("/chat/edit", chat_edit, ("POST",)),
        route("/chat/delete", chat_delete, ("POST",)),
        route("/chat/dismiss", chat_dismiss, ("POST",)),
        route("/chat/search", chat_search),
        route("/chat/unread.json", chat_unread),
        route("/problems", problems_page),
        route("/problems/{pid}", problem_page),
        route("/problems/{pid}", problem_post, ("POST",)),
        route("/problems/{pid}/grade", grade_post, ("POST",)),
        route("/feedback", feedback_page),
        route("/submissions/{sid}", submission_page),
        route("/submissions/{sid}", feedback_post, ("POST",)),
        route("/instructor", instructor_page),
        route("/instructor/board.json", board_page),
        route("/instructor/roster", roster_post, ("POST",)),
        route("/instructor/publish", publish_page),
        route("/instructor/publish", publish_post, ("POST",)),
        route("/report", report_download),
        route("/network", network_page),
        route("/events", events),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, max_body_size=MAX_BODY)

    def sign_in_page(request: Request, error: str | None = None) -> bytes:
        return _sign_in_html(ctx, request, error).encode()

    return Guard(app, ctx.access, sign_in_page)  # type: ignore[return-value]


def _sign_in_html(ctx: WebContext, request: Request, error: str | None) -> str:
    t = tr(request)
    gettext, ngettext = template_gettext(t)
    return ctx.env.get_template("signin.html").render(
        refused=error is not None, lang=t.locale, _=gettext, gettext=gettext, ngettext=ngettext
    )


# ---- sign-in ------------------------------------------------------------------------------------


async def home(ctx: WebContext, request: Request) -> Response:
    return see_other("/chat")


async def sign_in(ctx: WebContext, request: Request) -> Response:
    """POST the token (the sign-in page's script takes it from ``#token=``): set the cookie."""
    if request.method == "GET":
        return see_other("/")
    form = await request.form(max_files=0, max_fields=4)
    token = form.get("token")
    cookie = ctx.access.redeem(token if isinstance(token, str) else None)
    if cookie is None:
        html = _sign_in_html(ctx, request, TOKEN_REFUSED)
        return HTMLResponse(html, status_code=401, headers={"cache-control": "no-store"})
    response = see_other("/chat")
    name, value = session_cookie(request, cookie)
    response.headers.append(name, value)
    return response


async def pick_language(ctx: WebContext, request: Request) -> Response:
    """The language picked in the page, kept in a cookie (a preference, nothing secret)."""
    form = await read_form(ctx, request)
    lang = supported(field(form, "lang")) or "en"
    back = field(form, "back")
    response = see_other(back if back.startswith("/") and not back.startswith("//") else "/")
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86_400, samesite="strict", path="/")
    return response


# ---- chat ---------------------------------------------------------------------------------------


async def events(ctx: WebContext, request: Request) -> Response:
    return StreamingResponse(
        stream(ctx.live, tr(request)),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )
