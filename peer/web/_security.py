"""What keeps other web pages and other local users out of the UI.

The server binds a loopback address of its own (``_serve``). Every request must name a
loopback host literally (a page from another site that rebinds its DNS name to 127.0.0.1 still
sends its own name), every response carries a strict CSP, and everything but the sign-in page
and static files needs a session (``_session``): first a one-time token from the printed URL
(``#token=...``, which a tiny script posts, or ``?token=...``), then an HttpOnly,
SameSite=Strict cookie holding a signed session id, never the secret itself. Every form
carries the session's CSRF token, checked on every POST.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import attrs
from starlette.datastructures import Headers
from starlette.requests import Request

from peer.web._session import Access

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
#: Paths anyone on this machine may fetch: they show nothing of the class.
PUBLIC_PREFIXES = ("/static/", "/session")
CSRF_FIELD = "csrf"
SIGN_IN_FIRST = "sign in first: open the URL peerclass printed (peerclass ui prints a new one)"
#: The message id the sign-in page shows (translated there) for a used or wrong token.
TOKEN_REFUSED = (
    "That sign-in link is not valid any more: each one works once. Run peerclass ui for a new one."
)

CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-resource-policy", b"same-origin"),
]

#: A signed-in browser keeps its cookie this long (seconds); rotating the secret ends it sooner.
SESSION_MAX_AGE = 180 * 86_400


def _loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.IPv4Address(host).is_loopback
    except ValueError:
        return False


def host_of(headers: Headers) -> tuple[str, str] | None:
    """(host, port) from a loopback Host header, or None for any other (or no) host."""
    value = headers.get("host", "").strip().lower()
    if value.startswith("["):
        host, _, rest = value.partition("]")
        host += "]"
        port = rest.removeprefix(":")
    else:
        host, _, port = value.partition(":")
    if not _loopback(host) or not port.isdigit():
        return None
    return host, port


def cookie_name(port: str) -> str:
    """Cookies are shared by every port of a host, so each peer's UI names its own."""
    return f"peerclass_{port}"


def session_of(request: Request, access: Access) -> str | None:
    """The session id of this request's cookie, if it is signed with the current secret."""
    found = host_of(request.headers)
    return None if found is None else access.session_of(request.cookies.get(cookie_name(found[1])))


def session_cookie(request: Request, value: str) -> tuple[str, str]:
    """The Set-Cookie header that signs this browser in. No Domain: the browser sends it to
    this host only, and the host is this data dir's own loopback address."""
    found = host_of(request.headers)
    port = "0" if found is None else found[1]
    return (
        "set-cookie",
        f"{cookie_name(port)}={value}; Path=/; Max-Age={SESSION_MAX_AGE}; HttpOnly; "
        "SameSite=Strict",
    )


def _same_origin(headers: Headers) -> bool:
    """A POST's Origin, when the browser sends one, must be this very host."""
    origin = headers.get("origin")
    if origin is None:
        return True
    return origin.lower() == f"http://{headers.get('host', '').lower()}"


@attrs.frozen
class Guard:
    """ASGI middleware: Host check, security headers, sign-in for everything not public."""

    app: ASGIApp
    access: Access
    #: Renders the sign-in page for a browser without a session (status 401), with an error
    #: when a sign-in token was refused.
    sign_in_page: Callable[[Request, str | None], bytes]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        if host_of(headers) is None:
            await _plain(send_with_headers, 421, "this UI answers only to 127.0.0.1 or localhost")
            return
        method, path = scope["method"], scope["path"]
        if method not in ("GET", "HEAD") and not _same_origin(headers):
            await _plain(send_with_headers, 403, "refused: the form came from another site")
            return
        request = Request(scope)
        if method == "GET" and "token" in request.query_params:
            # ``?token=...``: sign in, then go to the same page with a clean URL.
            cookie = self.access.redeem(request.query_params["token"])
            if cookie is None:
                await _html(send_with_headers, 401, self.sign_in_page(request, TOKEN_REFUSED))
                return
            clean = "/" + path.lstrip("/")  # never "//elsewhere": that would leave this host
            await _redirect(send_with_headers, clean, session_cookie(request, cookie))
            return
        sid = session_of(request, self.access)
        scope.setdefault("state", {})["session"] = sid
        if not path.startswith(PUBLIC_PREFIXES) and sid is None:
            if method in ("GET", "HEAD") and path != "/events":
                await _html(send_with_headers, 401, self.sign_in_page(request, None))
            else:
                await _plain(send_with_headers, 401, SIGN_IN_FIRST)
            return
        await self.app(scope, receive, send_with_headers)


async def _plain(send: Send, status: int, text: str) -> None:
    body = (text + "\n").encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _redirect(send: Send, location: str, cookie: tuple[str, str]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [
                (b"location", location.encode()),
                (cookie[0].encode(), cookie[1].encode()),
                (b"content-length", b"0"),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})


async def _html(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
