"""Korean and English (issue 19): gettext catalogs compiled by Babel, the choice of a language
(the browser's ``Accept-Language``, the terminal's ``LANG``, or a person's own pick), and
dates and numbers written for that language with the time zone named.

One catalog per domain (``web`` for the browser UI, ``console`` for the terminal), so the two
can grow apart without stepping on each other. The English text is the message id: a missing
translation shows English, never an empty string. Depends on nothing else in the project.
"""

from peer.i18n._catalogs import DOMAINS as DOMAINS
from peer.i18n._catalogs import LOCALE_DIR as LOCALE_DIR
from peer.i18n._catalogs import Translator as Translator
from peer.i18n._catalogs import translator as translator
from peer.i18n._format import format_datetime as format_datetime
from peer.i18n._format import format_number as format_number
from peer.i18n._format import zone_name as zone_name
from peer.i18n._negotiate import DEFAULT_LOCALE as DEFAULT_LOCALE
from peer.i18n._negotiate import LOCALES as LOCALES
from peer.i18n._negotiate import from_accept_language as from_accept_language
from peer.i18n._negotiate import from_environment as from_environment
from peer.i18n._negotiate import supported as supported
