"""The network page (issue 21): what ``peerclass doctor`` says, in the browser.

It reads what the running node records of its network (``Store.reach``) and words it with
:func:`peer.net.diagnose`, the doctor's own function, so the page and the command never
disagree. The page does no probing of its own: the node it runs in is already listening.
The data dir's health is the doctor's check too (:func:`peer.health.check_data_dir`),
worded here in the browser's language.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from peer.health import DataDirHealth, check_data_dir
from peer.i18n import Translator
from peer.net import Finding, diagnose
from peer.web._context import N_, WebContext, tr
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
    health = await ctx.read(_data_dir_health)
    data_dir = [] if health is None else data_dir_findings(health, tr(request))
    return ctx.page(
        request, "network.html", nav="network", findings=findings, reach=doc, data_dir=data_dir
    )


def _data_dir_health(store: Store) -> DataDirHealth | None:
    return None if store.data_dir is None else check_data_dir(store.data_dir, store)


def data_dir_findings(health: DataDirHealth, t: Translator) -> list[Finding]:
    """What ``peerclass doctor`` says of the data dir, in the page's language."""
    found: list[Finding] = []
    if health.loose:
        text = N_("Readable by other users: {files}. Run chmod go-rwx on them.")
        found.append(Finding("fail", t(text, files=", ".join(health.loose))))
    if health.error is not None:
        found.append(
            Finding("fail", t(N_("The data dir cannot be read: {error}"), error=health.error))
        )
        return found
    if health.low_disk:
        text = N_("The data dir has only {mib} MiB free: make room on the disk.")
        found.append(Finding("warn", t(text, mib=health.free_bytes // 2**20)))
    if not found:
        text = N_("The data dir {path} is healthy ({events} events).")
        found.append(Finding("ok", t(text, path=health.path, events=health.events)))
    return found
