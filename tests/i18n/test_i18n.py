"""Korean and English: the language chosen from a browser's or terminal's request, the shipped
catalogs up to date with their sources, and dates and numbers written with the zone named."""

from __future__ import annotations

import io
from datetime import UTC, timedelta, timezone
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from peer.i18n import (
    DOMAINS,
    LOCALE_DIR,
    LOCALES,
    format_datetime,
    format_number,
    from_accept_language,
    from_environment,
    translator,
)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("ko-KR,ko;q=0.9,en-US;q=0.8", "ko"),
        ("en-US,en;q=0.9,ko;q=0.8", "en"),
        ("en;q=0.5, ko;q=0.8", "ko"),
        ("fr-FR, de;q=0.9", "en"),
        ("ko;q=0, en;q=0.1", "en"),
        ("ko;q=zz, en", "en"),
        ("", "en"),
        (None, "en"),
        (";;,,ko", "ko"),
    ],
)
def test_accept_language_picks_the_best_supported(header: str | None, expected: str) -> None:
    assert from_accept_language(header) == expected


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"LANG": "ko_KR.UTF-8"}, "ko"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LC_ALL": "C", "LANG": "ko_KR.UTF-8"}, "en"),  # LC_ALL wins, as in gettext
        ({"LANGUAGE": "fr:ko", "LANG": "en_US.UTF-8"}, "ko"),
        ({}, "en"),
    ],
)
def test_the_terminal_language_follows_gettexts_variables(
    environ: dict[str, str], expected: str
) -> None:
    assert from_environment(environ) == expected


def test_dates_name_their_zone_and_numbers_group() -> None:
    seoul = timezone(timedelta(hours=9), "KST")
    ms = 1_765_000_000_000  # 2025-12-06 05:46:40 UTC
    assert format_datetime(ms, "en", UTC) == "6 Dec 2025, 05:46 UTC"
    assert format_datetime(ms, "ko", seoul) == "2025. 12. 6. 오후 2:46 KST"
    assert format_datetime(ms, "en", timezone(timedelta(hours=5, minutes=30))).endswith("UTC+05:30")
    assert format_number(12345, "ko") == "12,345"
    assert format_number(12345, "en") == "12,345"


def test_an_unknown_language_speaks_english() -> None:
    assert translator("fr").gettext("Chat") == "Chat"
    assert translator("fr").locale == "en"
    assert translator("ko", "web").locale == "ko"


def _key(value: object) -> tuple[str, ...]:
    """A message id or string, singular or plural, as a tuple."""
    return tuple(value) if isinstance(value, list | tuple) else (str(value or ""),)


def _po_files() -> list[Path]:
    return sorted(LOCALE_DIR.glob("*/LC_MESSAGES/*.po"))


def test_every_shipped_catalog_is_compiled_from_its_source() -> None:
    """The .mo next to each .po holds exactly its translations (``make i18n`` was run)."""
    assert {p.parent.parent.name for p in _po_files()} <= set(LOCALES)
    for po_path in _po_files():
        assert po_path.stem in DOMAINS
        with po_path.open("rb") as f:
            source = read_po(f)
        mo_path = po_path.with_suffix(".mo")
        assert mo_path.exists(), f"{mo_path} missing: run make i18n"
        compiled = read_mo(io.BytesIO(mo_path.read_bytes()))
        want = {_key(m.id): _key(m.string) for m in source if m.id and any(_key(m.string))}
        got = {_key(m.id): _key(m.string) for m in compiled if m.id}
        assert got == want, f"{mo_path} is stale: run make i18n"


def test_every_word_of_the_web_ui_has_a_korean_translation() -> None:
    """Each message the templates and the web code mark (the .pot) is translated in ko."""
    with (LOCALE_DIR / "web.pot").open("rb") as f:
        template = read_po(f)
    with (LOCALE_DIR / "ko" / "LC_MESSAGES" / "web.po").open("rb") as f:
        korean = read_po(f)
    untranslated = [
        m.id for m in template if m.id and not all(_key((korean.get(m.id) or m).string))
    ]
    assert untranslated == [], "translate these in ko/LC_MESSAGES/web.po, then make i18n"
    t = translator("ko")
    assert t.gettext("Chat") == "채팅"
    assert t.ngettext("%(num)s unread message", "%(num)s unread messages", 3) % {"num": 3} == (
        "읽지 않은 메시지 3개"
    )
