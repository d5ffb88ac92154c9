"""Canonical msgpack: one encoding per value, so the same content always hashes the same."""

from __future__ import annotations

from typing import Any

import msgpack

from peer.errors import ValidationError


def canonical(value: Any) -> Any:
    """Return ``value`` with every map's keys sorted, recursively (msgpack keeps dict order)."""
    if isinstance(value, dict):
        return {k: canonical(value[k]) for k in sorted(value)}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    return value


def pack(value: Any) -> bytes:
    """Encode ``value`` canonically (sorted map keys, bin type for bytes)."""
    data: bytes = msgpack.packb(canonical(value), use_bin_type=True)
    return data


def unpack(data: bytes, *, what: str) -> Any:
    """Decode msgpack from outside; any malformation becomes a ValidationError naming ``what``."""
    try:
        return msgpack.unpackb(data, raw=False, strict_map_key=True, use_list=True)
    except (ValueError, TypeError, msgpack.UnpackException, msgpack.ExtraData) as exc:
        raise ValidationError(f"malformed {what}: {exc}") from None
    except RecursionError:
        raise ValidationError(f"malformed {what}: nested too deeply") from None
