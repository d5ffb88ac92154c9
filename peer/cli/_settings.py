"""``peerclass settings``: the instructor's word on how the class judges time (issue 18):
who witnesses (the instructor's peer only, or every admitted member's peer too) and the
clock skew granted on top of a due time."""

from __future__ import annotations

import argparse
from typing import Any

from peer.cli._core import open_peer
from peer.cli._output import print_json
from peer.errors import UsageError
from peer.log import MAX_SKEW_MS, WITNESS_MODES
from storage.queries import load_attestor


def add_commands(sub: Any) -> None:
    settings = sub.add_parser(
        "settings", help="show or set who witnesses submission times, and the allowed skew"
    )
    settings.add_argument(
        "--witnesses",
        choices=WITNESS_MODES,
        help="instructor: only the instructor's peer attests times; members: every admitted "
        "member's peer does too",
    )
    settings.add_argument(
        "--allowed-skew",
        type=float,
        metavar="SECONDS",
        help="how long after a due time a witness may first hold work that is still on time",
    )
    settings.add_argument("--json", action="store_true")
    settings.set_defaults(handler=cmd_settings)


def cmd_settings(args: argparse.Namespace) -> int:
    membership, store = open_peer(args.data_dir)
    try:
        attest = load_attestor(store)
        assert attest is not None  # an initialised data dir has a reader
        rules = attest.rules
        witnesses = "members" if rules.members_witness else "instructor"
        skew_ms = rules.skew_ms
        if args.witnesses is not None or args.allowed_skew is not None:
            if not membership.is_founder:
                raise UsageError("only the founding instructor sets how the class judges time")
            if args.allowed_skew is not None:
                skew_ms = round(args.allowed_skew * 1000)
                if not 0 <= skew_ms <= MAX_SKEW_MS:
                    raise UsageError(
                        f"--allowed-skew must be from 0 to {MAX_SKEW_MS // 1000} seconds"
                    )
            witnesses = args.witnesses or witnesses
            body = {"witnesses": witnesses, "skew_ms": skew_ms}
            store.append(membership.signing_key, "settings", body)
    finally:
        store.close()
    if args.json:
        print_json({"witnesses": witnesses, "allowed_skew_seconds": skew_ms / 1000})
    else:
        print(f"witnesses: {witnesses}; allowed skew: {skew_ms / 1000:g} s")
    return 0
