"""Test set-up: discovery never leaves loopback; every data dir is a fresh temp dir."""

from __future__ import annotations

import os
import time

import pytest

# Set before anything imports the peer, and for every subprocess the tests start.
os.environ["PEERCLASS_DISCOVERY_ADDR"] = "127.255.255.255"
os.environ.pop("PEERCLASS_HOME", None)
# Times shown to people are local: tests that read them expect UTC unless they set a zone.
os.environ["TZ"] = "UTC"
time.tzset()
# The console speaks the terminal's language (issue 19): tests that read it expect English
# unless they ask for Korean (LANGUAGE is what gettext reads first).
os.environ["LANGUAGE"] = "en"


@pytest.fixture(autouse=True)
def _loopback_discovery(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEERCLASS_DISCOVERY_ADDR", "127.255.255.255")
    monkeypatch.delenv("PEERCLASS_HOME", raising=False)
