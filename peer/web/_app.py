"""The Starlette app: the routes (behind the security guard), sign-in and the live stream.

The page handlers are in ``_pages``; what they share is in ``_context``.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from peer.web import _model as model
from peer.web._context import HERE, MAX_BODY, Forbidden, Handler, NotFound, WebContext, see_other
from peer.web._live import stream
from peer.web._pages import (
    chat_page,
    chat_post,
    feedback_page,
    feedback_post,
    instructor_page,
    problem_page,
    problem_post,
    problems_page,
    publish_page,
    publish_post,
    report_download,
    roster_post,
    submission_page,
)
from peer.web._security import Guard, session_cookie


def build_app(ctx: WebContext) -> Starlette:
    """The ASGI app for one run, wrapped in the security guard."""

    def route(path: str, handler: Handler, methods: tuple[str, ...] = ("GET",)) -> Route:
        async def endpoint(request: Request) -> Response:
            try:
                if request.method == "GET":
                    ctx.standing = await ctx.read(model.standing, ctx.me)
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
    return see_other("/chat")


async def sign_in(ctx: WebContext, request: Request) -> Response:
    """POST the token (the sign-in page's script takes it from ``#token=``): set the cookie."""
    if request.method == "GET":
        return see_other("/")
    form = await request.form(max_files=0, max_fields=4)
    token = form.get("token")
    if not ctx.access.token_ok(token if isinstance(token, str) else None):
        html = ctx.env.get_template("signin.html").render(
            error="that token is not this run's token"
        )
        return HTMLResponse(html, status_code=401, headers={"cache-control": "no-store"})
    response = see_other("/chat")
    name, value = session_cookie(request, ctx.access.token)
    response.headers.append(name, value)
    return response


# ---- chat ---------------------------------------------------------------------------------------


async def events(ctx: WebContext, request: Request) -> Response:
    return StreamingResponse(
        stream(ctx.live),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )
