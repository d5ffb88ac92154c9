"""``peerclass run`` serves the UI on 127.0.0.1 and prints one ``ui at`` line; ``peerclass ui``
prints it again while the peer runs (from a 0600 file it removes on exit), and says clearly
when no peer or no UI runs."""

from __future__ import annotations

import socket
import stat
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from peer.identity import load_membership
from peer.testing import PeerProcess, cli, free_udp_port, wait_until
from peer.web import URL_FILE, ui_host
from tests.helpers import make_class


def _ui_lines(peer: PeerProcess) -> list[str]:
    return [line for line in peer.lines if line.startswith("ui at ")]


def test_run_serves_the_ui_and_peerclass_ui_prints_its_address(tmp_path: Path) -> None:
    klass = make_class(tmp_path, students=0)
    teacher = klass.instructor
    assert "no peer is running" in cli(teacher, "ui", check=False).stderr
    peer = PeerProcess(teacher, free_udp_port()).start()
    try:
        wait_until(lambda: bool(_ui_lines(peer)), 20, "the ui line")
        (line,) = _ui_lines(peer)
        url = line.removeprefix("ui at ")
        host = ui_host(load_membership(teacher).peer_id)
        assert url.startswith(f"http://{host}:") and "/#token=" in url
        shown = cli(teacher, "ui").stdout.strip()  # a fresh one-time sign-in URL
        assert shown.split("#")[0] == url.split("#")[0] and shown != url
        mode = stat.S_IMODE((teacher / URL_FILE).stat().st_mode)
        assert mode == 0o600
        base = url.split("/#")[0]
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(base + "/chat", timeout=10)
        assert refused.value.code == 401
        token = url.split("token=")[1]
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with browser.open(f"{base}/chat?token={token}", timeout=10) as page:
            assert page.status == 200 and "Chat" in page.read().decode()
        other = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with pytest.raises(urllib.error.HTTPError) as again:  # the token worked once
            other.open(f"{base}/chat?token={token}", timeout=10)
        assert again.value.code == 401
        assert "signed out every browser" in cli(teacher, "ui", "--sign-out-all").stdout
        with pytest.raises(urllib.error.HTTPError) as out:  # the running peer noticed
            browser.open(f"{base}/chat", timeout=10)
        assert out.value.code == 401
    finally:
        assert peer.stop() == 0
    assert not (teacher / URL_FILE).exists()
    assert "no peer is running" in cli(teacher, "ui", check=False).stderr


def test_no_ui_and_a_busy_ui_port(tmp_path: Path) -> None:
    klass = make_class(tmp_path, students=0)
    peer = PeerProcess(klass.instructor, free_udp_port(), extra_args=["--no-ui"]).start()
    try:
        assert "serves no web UI" in cli(klass.instructor, "ui", check=False).stderr
        assert _ui_lines(peer) == []
    finally:
        peer.stop()
    host = ui_host(load_membership(klass.instructor).peer_id)
    with socket.socket() as busy:
        busy.bind((host, 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = cli(klass.instructor, "run", "--no-discovery", "--ui-port", str(port), check=False)
    assert done.returncode == 1
    assert f"cannot serve the UI on {host}:{port}" in done.stderr
    assert "Traceback" not in done.stderr
