"""What every handler shares: the run's context (store, identity, token, live state,
read marks, templates) and the small helpers forms and ids go through."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import attrs
import jinja2
import trio
from markupsafe import Markup
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from peer.identity import Membership
from peer.log import (
    LATE_POLICIES,
    MAX_CHAT_TEXT,
    MAX_SOLUTION_BYTES,
    VERDICTS,
    hlc,
)
from peer.report.safe_markdown import render_markdown
from peer.web import _model as model
from peer.web._highlight import highlight
from peer.web._live import Live, Network, Offline
from peer.web._security import CSRF_FIELD, Access
from storage import AsyncStore

T = TypeVar("T")
HERE = Path(__file__).parent
#: Bigger bodies are refused before they are read (a solution is at most 64 KiB).
MAX_BODY = 4 * 1024 * 1024
#: One form field or file: beyond a chat message (16,000 characters, URL-encoded) or a solution.
MAX_PART = 1024 * 1024


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
    #: This student's roster state when not a member ("pending", "removed"); per request.
    standing: str | None = None

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
            standing=self.standing,
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


def parse_id(text: str) -> bytes:
    try:
        value = bytes.fromhex(text)
    except ValueError:
        raise NotFound(f"{text[:80]!r} is not an id") from None
    if len(value) != 32:
        raise NotFound(f"{text[:80]!r} is not an id")
    return value


async def read_form(ctx: WebContext, request: Request) -> FormData:
    """The posted form, after its CSRF token is checked (403 otherwise)."""
    form = await request.form(max_files=1, max_fields=200, max_part_size=MAX_PART)
    token = form.get(CSRF_FIELD)
    if not ctx.access.csrf_ok(token if isinstance(token, str) else None):
        raise Forbidden("refused: the form has no valid CSRF token (reload the page)")
    return form


class Forbidden(Exception):
    pass


def field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


Handler = Callable[[WebContext, Request], Awaitable[Response]]
