"""A chat message as terminal lines: the first line after its heading, each further line of a
multi-line message indented below it (so a message's lines never pass for another message's
heading), every control character and escape shown inert."""

from __future__ import annotations

from peer.cli._output import safe_block, safe_line

#: Continuation lines start here, under the heading.
INDENT = "    "


def message_lines(heading: str, text: str) -> str:
    """``heading`` followed by ``text``; one string, lines joined with ``\\n``."""
    first, *rest = safe_block(text).split("\n") or [""]
    lines = [safe_line(heading) + first, *(INDENT + line for line in rest)]
    return "\n".join(lines)


def short_message_id(message_id: bytes) -> str:
    """The id people copy: 8 hex digits, the shortest prefix commands accept."""
    return message_id.hex()[:8]
