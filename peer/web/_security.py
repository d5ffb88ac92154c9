"""What keeps other web pages and other local users out of the UI.

The server binds 127.0.0.1 only. Every request must name a loopback host (a page from another
site that rebinds its DNS name to 127.0.0.1 still sends its own name), every response carries
a strict CSP, and everything but the sign-in page and static files needs the per-run token:
first from the printed URL (``#token=...``, which a tiny script posts, or ``?token=...``),
then from an HttpOnly, SameSite=Strict cookie. Every form carries a CSRF token derived from
the run token, checked on every POST.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import attrs
from starlette.datastructures import Headers
from starlette.requests import Request

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
#: Paths anyone on this machine may fetch: they show nothing of the class.
PUBLIC_PREFIXES = ("/static/", "/session")
CSRF_FIELD = "csrf"
SIGN_IN_FIRST = "sign in first: open the URL peerclass printed (peerclass ui shows it again)"

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


def new_token() -> str:
    """A fresh per-run access token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


@attrs.frozen
class Access:
    """The run's token and what is derived from it."""

    token: str

    @property
    def csrf(self) -> str:
        return hmac.new(self.token.encode(), b"csrf", hashlib.sha256).hexdigest()[:40]

    def token_ok(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def csrf_ok(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.csrf.encode())


def host_of(headers: Headers) -> tuple[str, str] | None:
    """(host, port) from a loopback Host header, or None for any other (or no) host."""
    value = headers.get("host", "").strip().lower()
    if value.startswith("["):
        host, _, rest = value.partition("]")
        host += "]"
        port = rest.removeprefix(":")
    else:
        host, _, port = value.partition(":")
    if host not in LOOPBACK_HOSTS or not port.isdigit():
        return None
    return host, port


def cookie_name(port: str) -> str:
    """Cookies are shared by every port of a host, so each peer's UI names its own."""
    return f"peerclass_{port}"


def session_token(request: Request) -> str | None:
    found = host_of(request.headers)
    return None if found is None else request.cookies.get(cookie_name(found[1]))


def signed_in(request: Request, access: Access) -> bool:
    return access.token_ok(session_token(request))


def session_cookie(request: Request, token: str) -> tuple[str, str]:
    """The Set-Cookie header that signs this browser in for this run."""
    found = host_of(request.headers)
    port = "0" if found is None else found[1]
    return (
        "set-cookie",
        f"{cookie_name(port)}={token}; Path=/; HttpOnly; SameSite=Strict",
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
    #: Renders the sign-in page for a browser without the cookie (status 401).
    sign_in_page: Callable[[], bytes]

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
            if not self.access.token_ok(request.query_params["token"]):
                await _html(send_with_headers, 401, self.sign_in_page())
                return
            clean = "/" + path.lstrip("/")  # never "//elsewhere": that would leave this host
            await _redirect(send_with_headers, clean, session_cookie(request, self.access.token))
            return
        if not path.startswith(PUBLIC_PREFIXES) and not signed_in(request, self.access):
            if method in ("GET", "HEAD") and path != "/events":
                await _html(send_with_headers, 401, self.sign_in_page())
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
