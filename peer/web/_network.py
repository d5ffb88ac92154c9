"""The network page (issue 21): what ``peerclass doctor`` says, in the browser.

It reads what the running node records of its network (``Store.reach``) and words it with
:func:`peer.net.diagnose`, the doctor's own function, so the page and the command never
disagree. The page does no probing of its own: the node it runs in is already listening.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from peer.net import Finding, diagnose
from peer.web._context import WebContext
from storage import Store


def _reach_and_names(store: Store) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The node's record and the names of the members it mentions (one reader thread)."""
    text = store.reach()
    try:
        doc = json.loads(text) if text else None
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        return None, {}
    names = store.names()
    ids = {e.get("peer") for key in ("heard", "unreachable", "connected") for e in doc.get(key, [])}
    labels = {}
    for hex_id in ids:
        if isinstance(hex_id, str):
            try:
                labels[hex_id] = names.label(bytes.fromhex(hex_id))
            except ValueError:
                continue
    return doc, labels


async def network_page(ctx: WebContext, request: Request) -> Response:
    """Which addresses this peer uses, whom it hears and reaches, clocks, and what to do."""
    doc, labels = await ctx.read(_reach_and_names)
    findings: list[Finding] = []
    if doc is not None:
        findings = diagnose(doc, lambda hex_id: labels.get(hex_id, hex_id[:8]))
    return ctx.page(request, "network.html", nav="network", findings=findings, reach=doc)
