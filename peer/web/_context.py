"""What every handler shares: the run's context (store, identity, token, live state,
read marks, templates) and the small helpers forms and ids go through."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import attrs
import jinja2
import trio
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from peer.grading import LANGUAGE_TABLE
from peer.i18n import (
    LOCALES,
    Translator,
    format_datetime,
    format_number,
    from_accept_language,
    supported,
    translator,
)
from peer.identity import Membership
from peer.log import (
    LATE_POLICIES,
    MAX_CHAT_TEXT,
    MAX_SOLUTION_BYTES,
    VERDICTS,
    hlc,
)
from peer.web import _model as model
from peer.web._chat_model import GROUP_MS
from peer.web._highlight import highlight
from peer.web._live import Live, Network, Offline
from peer.web._markup import render
from peer.web._security import CSRF_FIELD
from peer.web._session import Access, read_int_map
from storage import AsyncStore

T = TypeVar("T")
HERE = Path(__file__).parent
#: Bigger bodies are refused before they are read (a solution is at most 64 KiB).
MAX_BODY = 4 * 1024 * 1024
#: One form field or file: beyond a chat message (16,000 characters, URL-encoded) or a solution.
MAX_PART = 1024 * 1024
#: The language a person picked in the page (otherwise the browser's Accept-Language).
LANG_COOKIE = "peerclass_lang"


def locale_of(request: Request) -> str:
    """The page's language: the one picked in the page, else the browser's preference."""
    picked = supported(request.cookies.get(LANG_COOKIE))
    return picked or from_accept_language(request.headers.get("accept-language"))


def tr(request: Request) -> Translator:
    return translator(locale_of(request), "web")


def session_id(request: Request) -> str | None:
    """The signed session id the security guard found for this request."""
    found = request.scope.get("state", {}).get("session")
    return found if isinstance(found, str) else None


def template_gettext(t: Translator) -> tuple[Any, Any]:
    """gettext and ngettext as Jinja's "newstyle" i18n calls them: escaped when autoescaping,
    ``%(name)s`` filled from keyword arguments."""

    @pass_context
    def gettext(context: Context, message: str, **values: Any) -> str:
        text: str = t.gettext(message)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % values if values else text

    @pass_context
    def ngettext(context: Context, singular: str, plural: str, n: int, **values: Any) -> str:
        text: str = t.ngettext(singular, plural, n)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % {"num": n, **values}

    return gettext, ngettext


@attrs.define(eq=False)
class ReadMarks:
    """The newest message time this viewer has seen per conversation (for unread counts),
    kept in the data dir so that a restart does not make everything unread again."""

    path: Path | None
    marks: dict[str, int] = attrs.field(factory=dict)

    @classmethod
    def load(cls, path: Path | None) -> ReadMarks:
        return cls(path, read_int_map(path))

    def seen(self, key: str, ts: int) -> bool:
        """Record a mark (blocking: writes a small file); True if it moved."""
        if ts <= self.marks.get(key, 0):
            return False
        self.marks[key] = ts
        if self.path is not None:
            tmp = self.path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # data dir: 0600
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(json.dumps(self.marks))
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

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking read (``fn(store, *args, **kwargs)``) in a worker thread, through
        the store's one door; the web UI's own limit keeps page loads from taking every
        reader."""
        async with self.readers:
            return await self.store.query(functools.partial(fn, **kwargs), *args)

    def say(self, request: Request, exc: Exception) -> str:
        """A refusal in the page's language (the English text if it has no message id)."""
        message = getattr(exc, "message", None)
        if not isinstance(message, str):
            return str(exc)
        values = getattr(exc, "values", {})
        try:
            return tr(request)(message, **values)
        except (KeyError, IndexError, ValueError):  # a translation with a broken field
            return str(exc)

    def page(self, request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
        template = self.env.get_template(name)
        values.setdefault("nav", None)
        t = tr(request)
        gettext, ngettext = template_gettext(t)
        sid = session_id(request)
        state = request.scope.get("state", {})
        values.setdefault("unread_total", state.get("unread", 0))
        html = template.render(
            request=request,
            me=self.me,
            me_name=self.me_name,
            standing=state.get("standing"),
            t=t,
            name_of=name_of,
            due_text=lambda due, now: model.due_text(due, now, t),
            GROUP_MS=GROUP_MS,
            csrf=self.access.csrf(sid) if sid else "",
            csrf_field=CSRF_FIELD,
            lang=t.locale,
            LOCALES=LOCALES,
            _=gettext,
            gettext=gettext,
            ngettext=ngettext,
            fmt_ms=lambda ms: format_datetime(ms, t.locale),
            fmt_ts=lambda ts: format_datetime(hlc.to_ms(ts), t.locale),
            num=lambda n: format_number(n, t.locale),
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
        extensions=["jinja2.ext.i18n"],
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["md"] = lambda text: render(text)
    env.filters["iso_ts"] = lambda ts: hlc.iso_from_ts(ts) or ""
    env.filters["iso_ms"] = lambda ms: hlc.iso_from_ms(ms) or ""
    env.filters["ms"] = model.ms_of
    env.filters["hex"] = lambda b: b.hex()
    env.filters["short"] = lambda b: b.hex()[:8]
    env.filters["highlight"] = highlight
    env.filters["due_text"] = model.due_text
    env.filters["thousands"] = lambda n: f"{n:,}"
    env.newstyle_gettext = True  # type: ignore[attr-defined]
    env.globals["VERDICTS"] = VERDICTS
    env.globals["MAX_CHAT_TEXT"] = MAX_CHAT_TEXT
    env.globals["LATE_POLICIES"] = LATE_POLICIES
    env.globals["ALL_LANGUAGES"] = LANGUAGE_TABLE  # peer.grading's table: name, display name
    env.globals["MAX_SOLUTION_BYTES"] = MAX_SOLUTION_BYTES
    return env


def name_of(peer_id: bytes, shown: str | None) -> str:
    """How a person is named on a page: the name the query gave (from the roster), else the
    start of their id."""
    return shown or peer_id.hex()[:8]


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


class Said(Exception):
    """A refusal shown on a page: an English message id with ``{name}`` fields, translated
    where it is shown (``str()`` is the English text)."""

    def __init__(self, message: str, **values: object) -> None:
        super().__init__(message.format(**values) if values else message)
        self.message = message
        self.values = values


class NotFound(Said):
    """A page for something this peer does not hold (yet)."""


def parse_id(text: str) -> bytes:
    try:
        value = bytes.fromhex(text)
    except ValueError:
        raise NotFound("{text!r} is not an id", text=text[:80]) from None
    if len(value) != 32:
        raise NotFound("{text!r} is not an id", text=text[:80])
    return value


async def read_form(ctx: WebContext, request: Request) -> FormData:
    """The posted form, after its CSRF token is checked (403 otherwise)."""
    form = await request.form(max_files=1, max_fields=200, max_part_size=MAX_PART)
    token = form.get(CSRF_FIELD)
    if not ctx.access.csrf_ok(session_id(request), token if isinstance(token, str) else None):
        raise Forbidden("refused: the form has no valid CSRF token (reload the page)")
    return form


class Forbidden(Said):
    """Refused: this person may not do or see that."""


def field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


Handler = Callable[[WebContext, Request], Awaitable[Response]]
