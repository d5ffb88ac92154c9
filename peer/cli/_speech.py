"""The console's own words in the terminal's language (issue 19): Korean or English, chosen
by ``LANGUAGE``/``LC_ALL``/``LC_MESSAGES``/``LANG`` as gettext does (``peer.i18n``).

Only what the console says in its own voice is translated; command names, flags, ids, room
names and what people wrote stay as they are, so ``peerclass admit NAME`` reads the same in
every language. Messages are marked ``_("... {name} ...", name=...)`` (``make i18n`` extracts
them into ``peer/i18n/locale/console.pot``).
"""

from __future__ import annotations

from peer.i18n import format_datetime, format_number, from_environment, translator


def _(message: str, **values: object) -> str:
    """``message`` in the terminal's language, its ``{placeholders}`` filled in. The language
    is read from the environment each time (cheap), so a test or a child process may set it."""
    return translator(from_environment(), "console")(message, **values)


def when(ms: int) -> str:
    """A moment as the terminal's language writes it, the zone named (``6 Dec 2025, 14:46
    KST``, ``2025. 12. 6. 오후 2:46 KST``)."""
    return format_datetime(ms, from_environment())


def number(n: int) -> str:
    """``12345`` grouped as the terminal's language groups it."""
    return format_number(n, from_environment())
