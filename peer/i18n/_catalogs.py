"""Compiled catalogs (``locale/<lang>/LC_MESSAGES/<domain>.mo``, shipped in the wheel) and
the translator a page or the console speaks with."""

from __future__ import annotations

import functools
import gettext
from pathlib import Path

import attrs

from peer.i18n._negotiate import DEFAULT_LOCALE, LOCALES

LOCALE_DIR = Path(__file__).parent / "locale"
#: ``web``: every word of the browser UI; ``console``: the terminal's own messages.
DOMAINS = ("web", "console")


@attrs.frozen
class Translator:
    """gettext for one language and domain; the English message id when none is found."""

    locale: str
    catalog: gettext.NullTranslations = attrs.field(repr=False)

    def gettext(self, message: str) -> str:
        return self.catalog.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.catalog.ngettext(singular, plural, n)

    def __call__(self, message: str, **values: object) -> str:
        """``_("{n} peers", n=3)``: translate, then fill in the named values."""
        text = self.catalog.gettext(message)
        return text.format(**values) if values else text


@functools.cache
def translator(locale: str, domain: str = "web") -> Translator:
    """The translator for ``locale`` (one of LOCALES; anything else speaks English)."""
    if locale not in LOCALES:
        locale = DEFAULT_LOCALE
    if locale == DEFAULT_LOCALE:
        return Translator(locale, gettext.NullTranslations())
    catalog = gettext.translation(
        domain, localedir=str(LOCALE_DIR), languages=[locale], fallback=True
    )
    return Translator(locale, catalog)
