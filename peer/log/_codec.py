"""Canonical msgpack: one encoding per value, so the same content always hashes the same."""

from __future__ import annotations

from typing import Any

import attrs
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


#: Decoding limits: what outside bytes may make us build. A value nested deeper than
#: MAX_DEPTH would overflow the recursion of later checks; MAX_CONTAINERS bounds the objects
#: one message builds (an empty map is one byte on the wire and ~64 bytes in memory: a 1 MiB
#: frame of them would otherwise cost 70 MiB); MAX_CONTAINER_LEN bounds any one array or map
#: before it is allocated (a ``have`` chunk has 20,000 entries, an ``events`` batch 1,000).
MAX_DEPTH = 32
MAX_CONTAINERS = 10_000
MAX_CONTAINER_LEN = 65_536


@attrs.define
class _ContainerBudget:
    """Counts the arrays and maps msgpack builds, stopping the decode past the limit."""

    limit: int
    built: int = 0

    def __call__(self, container: Any) -> Any:
        self.built += 1
        if self.built > self.limit:
            raise ValidationError(f"more than {self.limit} arrays and maps")
        return container


def _check_depth(value: Any, limit: int) -> None:
    """Raise if ``value`` nests deeper than ``limit`` (iteratively: no recursion to blow)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise ValidationError(f"nested more than {limit} deep")
        children = item.values() if isinstance(item, dict) else item
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))


def unpack(data: bytes, *, what: str) -> Any:
    """Decode msgpack from outside, within the limits above; any malformation becomes a
    ValidationError naming ``what``."""
    budget = _ContainerBudget(MAX_CONTAINERS)
    try:
        value = msgpack.unpackb(
            data,
            raw=False,
            strict_map_key=True,
            use_list=True,
            max_array_len=MAX_CONTAINER_LEN,
            max_map_len=MAX_CONTAINER_LEN,
            list_hook=budget,
            object_hook=budget,
        )
        if budget.built > MAX_DEPTH:  # fewer containers than that cannot nest deeper
            _check_depth(value, MAX_DEPTH)
    except ValidationError as exc:
        raise ValidationError(f"malformed {what}: {exc}") from None
    except (msgpack.StackError, RecursionError):
        raise ValidationError(f"malformed {what}: nested too deeply") from None
    except (ValueError, TypeError, msgpack.UnpackException, msgpack.ExtraData) as exc:
        raise ValidationError(f"malformed {what}: {exc}") from None
    return value
