"""``peerclass doctor``: why this peer finds (or does not find) its class, in a few lines a
student can act on (issue 21).

While ``peerclass run`` runs on the data dir, the doctor reads what the running node records
of its network (``Store.reach``: its addresses, who it hears and how, the addresses it could
not reach, members' clocks). Standalone, it listens for the class's beacons for a few seconds
itself and tries each heard member's TCP port, and the invite's addresses: it sends nothing
but those connection attempts. Either way :func:`peer.net.diagnose` words the answer; the
data dir's health is checked by :func:`peer.health.check_data_dir`.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import trio

from peer.cli._args import ENV_DISCOVERY_PORT, tcp_port
from peer.cli._core import pid_alive
from peer.cli._output import print_json
from peer.errors import UsageError
from peer.health import check_data_dir
from peer.identity import load_membership
from peer.net import DEFAULT_DISCOVERY_PORT, Finding, diagnose, probe_reach
from storage import Store

#: The running node's record older than this (ms) is not trusted: it writes every minute.
FRESH_MS = 90_000


def add_commands(sub: Any) -> None:
    doctor = sub.add_parser(
        "doctor", help="say why this peer finds its class or not, and what to do about it"
    )
    doctor.add_argument(
        "--wait",
        type=float,
        default=3.0,
        help="seconds to listen for members when the peer is not running (default 3)",
    )
    doctor.add_argument("--discovery-port", type=tcp_port, default=None, help="UDP beacon port")
    doctor.add_argument("--json", action="store_true")
    doctor.set_defaults(handler=cmd_doctor)


def cmd_doctor(args: argparse.Namespace) -> int:
    membership = load_membership(args.data_dir)
    if not 0 < args.wait <= 60:
        raise UsageError("--wait must be between 0 and 60 seconds")
    data_dir = data_dir_findings(args.data_dir)
    store = Store.open(args.data_dir)
    try:
        running = pid_alive(store.running_pid())
        doc = _recorded(store) if running else None
        if doc is None:
            port = _discovery_port(args)
            doc = trio.run(probe_reach, membership, port, args.wait)
        names = store.names()
    finally:
        store.close()

    def name(hex_id: str) -> str:
        return names.label(bytes.fromhex(hex_id))

    findings = diagnose(doc, name) + data_dir
    if args.json:
        print_json(
            {
                "running": running,
                "source": "running peer" if running and "probe" not in doc else "probe",
                "reach": doc,
                "findings": [{"level": f.level, "text": f.text} for f in findings],
            }
        )
    else:
        how = "the running peer" if running else f"listening {args.wait:g}s (peer not running)"
        print(f"doctor for {membership.klass.name!r}, from {how}:")
        for finding in findings:
            print(f"  {_MARK[finding.level]} {finding.text}")
    return 1 if any(f.level == "fail" for f in findings) else 0


_MARK = {"ok": "ok     ", "info": "note   ", "warn": "warning", "fail": "problem"}


def _recorded(store: Store) -> dict[str, Any] | None:
    """The running node's latest record, if fresh and well-formed."""
    text = store.reach()
    if text is None:
        return None
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    if not isinstance(doc, dict) or time.time() * 1000 - doc.get("at", 0) > FRESH_MS:
        return None
    return doc


def _discovery_port(args: argparse.Namespace) -> int:
    if args.discovery_port is not None:
        return int(args.discovery_port)
    text = os.environ.get(ENV_DISCOVERY_PORT)
    if not text:
        return DEFAULT_DISCOVERY_PORT
    try:
        return tcp_port(text)
    except Exception as exc:  # argparse.ArgumentTypeError
        raise UsageError(f"{ENV_DISCOVERY_PORT}: {exc}") from None


def data_dir_findings(data_dir: Path) -> list[Finding]:
    """Whether the data dir is healthy (:func:`peer.health.check_data_dir`), in English."""
    health = check_data_dir(data_dir)
    found: list[Finding] = []
    if health.loose:
        found.append(
            Finding(
                "fail", f"readable by other users: {', '.join(health.loose)}; chmod go-rwx them"
            )
        )
    if health.error is not None:
        return [*found, Finding("fail", f"data dir: {health.error}")]
    if health.low_disk:
        found.append(
            Finding(
                "warn",
                f"data dir has only {health.free_bytes // 2**20} MiB free: make room on the disk",
            )
        )
    if not found:
        found.append(Finding("ok", f"data dir {data_dir} is healthy ({health.events} events)"))
    return found
