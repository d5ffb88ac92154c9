"""The console's own words in Korean and English (issue 19): every marked message translated,
the catalog in step with the code, placeholders kept, and the language taken from the
terminal's environment while commands, names and ids stay as they are."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import peer.cli
from peer.cli._console import help_text, parse_line
from peer.cli._console_chat import _waiting
from peer.cli._presence import presence_lines
from peer.i18n import LOCALE_DIR

PLACEHOLDER = re.compile(r"\{\w+\}")


def _catalog(path: Path) -> dict[str, str]:
    with path.open("rb") as f:
        return {str(m.id): str(m.string) for m in read_po(f) if m.id}


def test_the_console_catalog_holds_every_marked_message_translated() -> None:
    marked = {
        str(message)
        for _file, _line, message, _comments, _context in extract_from_dir(
            Path(peer.cli.__file__).parent, keywords={"_": None}
        )
    }
    assert marked == set(_catalog(LOCALE_DIR / "console.pot")), "run make i18n"
    korean = _catalog(LOCALE_DIR / "ko" / "LC_MESSAGES" / "console.po")
    assert set(korean) == marked
    for english, translated in korean.items():
        assert translated, f"translate {english!r} in ko/LC_MESSAGES/console.po"
        assert set(PLACEHOLDER.findall(translated)) == set(PLACEHOLDER.findall(english))


def test_the_terminal_language_chooses_the_words(monkeypatch: pytest.MonkeyPatch) -> None:
    news = [(b"\x01" * 32, "joined"), (b"\x02" * 32, "back"), (b"\x03" * 32, "left")]
    names = {b"\x01" * 32: "민준", b"\x02" * 32: "Jisoo"}
    monkeypatch.setenv("LANGUAGE", "ko")
    assert presence_lines(news, names) == [
        "[수업] 민준 (01010101) 님이 들어왔습니다",
        "[수업] Jisoo (02020202) 님이 돌아왔습니다",
        "[수업] 아직 모르는 사람 (03030303) 님이 나갔습니다",
    ]
    assert parse_line("/shrug").arg == "알 수 없는 명령 /shrug. /help로 명령 목록을 봅니다"
    assert "/msg NAME TEXT 비공개 메시지" in help_text()  # the commands stay as typed
    assert _waiting("Jisoo Park", b"\x04" * 32) == (
        "[수업] Jisoo Park (04040404) 님이 기다리고 있습니다: peerclass admit 'Jisoo Park'"
    )
    monkeypatch.setenv("LANGUAGE", "")
    monkeypatch.setenv("LC_ALL", "en_US.UTF-8")
    assert presence_lines(news[:1], names) == ["[class] 민준 (01010101) joined"]
    assert _waiting("Jisoo Park", b"\x04" * 32) == (
        "[class] Jisoo Park (04040404) is waiting: peerclass admit 'Jisoo Park'"
    )
