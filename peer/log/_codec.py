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


def _keys_sorted(value: Any) -> bool:
    if isinstance(value, dict):
        keys = list(value)
        if not all(isinstance(k, str) for k in keys) or keys != sorted(keys):
            return False
        nested = [v for v in value.values() if isinstance(v, dict | list)]
        return all(_keys_sorted(v) for v in nested)
    if isinstance(value, list):
        return all(_keys_sorted(v) for v in value if isinstance(v, dict | list))
    return True


def is_canonical(decoded: Any, data: bytes) -> bool:
    """Whether ``data`` is the canonical encoding of ``decoded`` (which it decoded to).

    Decoding keeps map order, so re-encoding as-is reproduces ``data`` exactly when every
    item used its shortest form; sorted keys are then checked without building new maps.
    """
    again: bytes = msgpack.packb(decoded, use_bin_type=True)
    return again == data and _keys_sorted(decoded)


def unpack(data: bytes, *, what: str) -> Any:
    """Decode msgpack from outside; any malformation becomes a ValidationError naming ``what``."""
    try:
        return msgpack.unpackb(data, raw=False, strict_map_key=True, use_list=True)
    except (ValueError, TypeError, msgpack.UnpackException, msgpack.ExtraData) as exc:
        raise ValidationError(f"malformed {what}: {exc}") from None
    except RecursionError:
        raise ValidationError(f"malformed {what}: nested too deeply") from None
