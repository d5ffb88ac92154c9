"""Which language to speak: the first supported one a browser or a terminal asks for."""

from __future__ import annotations

import os
from collections.abc import Mapping

#: The languages with a catalog; English is the message id itself.
LOCALES = ("en", "ko")
DEFAULT_LOCALE = "en"


def supported(tag: str | None) -> str | None:
    """``tag`` ("ko-KR", "ko_KR.UTF-8", "EN") as one of :data:`LOCALES`, or None."""
    if not tag:
        return None
    base = tag.strip().replace("_", "-").split(".")[0].split("-")[0].lower()
    return base if base in LOCALES else None


def from_accept_language(header: str | None) -> str:
    """The best of :data:`LOCALES` for an ``Accept-Language`` header (RFC 9110 q-values;
    a malformed part is skipped, never an error)."""
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        locale = supported(tag)
        if locale is not None and quality > 0:
            choices.append((-quality, index, locale))
    return min(choices)[2] if choices else DEFAULT_LOCALE


def from_environment(environ: Mapping[str, str] | None = None) -> str:
    """The terminal's language, as gettext reads it: LANGUAGE, LC_ALL, LC_MESSAGES, LANG."""
    env = os.environ if environ is None else environ
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name)
        if not value:
            continue
        for tag in value.split(":"):  # LANGUAGE may list several
            locale = supported(tag)
            if locale is not None:
                return locale
        if name != "LANGUAGE":  # the first one set decides, as in gettext
            return DEFAULT_LOCALE
    return DEFAULT_LOCALE
