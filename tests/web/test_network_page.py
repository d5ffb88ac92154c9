"""The network page (issue 21) says what ``peerclass doctor`` says, from what the running
node recorded (before anything is recorded it says so), and the data dir's health, in English
and Korean."""

from __future__ import annotations

import json
import time

from peer.identity import load_membership
from tests.helpers import ClassDirs
from tests.web.conftest import Ui


def test_the_network_page_says_what_the_doctor_says(teacher_ui: Ui, klass: ClassDirs) -> None:
    ui = teacher_ui
    ui.sign_in()
    empty = ui.client.get("/network")
    assert empty.status_code == 200
    assert "has not recorded its network yet" in empty.text
    student = load_membership(klass.students[0]).peer_id.hex()
    ui.store.set_reach(
        json.dumps(
            {
                "at": int(time.time() * 1000),
                "interfaces": [{"name": "wlan0", "address": "10.1.2.3", "broadcast": "x"}],
                "listen": ["10.1.2.3:4000"],
                "beacons": "on",
                "mdns": "off",
                "heard": [{"peer": student, "address": "10.1.2.9:4000", "via": "beacon"}],
                "unreachable": [
                    {"address": "10.1.2.9:4000", "peer": student, "error": "No route to host"}
                ],
                "connected": [],
            }
        )
    )
    page = ui.client.get("/network").text
    assert "network: wlan0 10.1.2.3; listening on 10.1.2.3:4000" in page
    assert "이민준 at 10.1.2.9:4000" in page  # named from the roster, as everywhere
    assert "isolates its clients" in page and 'class="finding-fail"' in page
    korean = ui.client.get("/network", headers={"accept-language": "ko"}).text
    assert "<h1>네트워크</h1>" in korean


def test_the_network_page_shows_the_data_dirs_health_in_both_languages(student_ui: Ui) -> None:
    ui = student_ui
    ui.sign_in()
    events = sum(ui.store.heads().values())
    page = ui.client.get("/network").text
    assert "<h2>Data dir</h2>" in page  # shown before the node records its network too
    assert f"The data dir {ui.data_dir} is healthy ({events} events)." in page
    korean = ui.client.get("/network", headers={"accept-language": "ko"}).text
    assert f"데이터 디렉터리 {ui.data_dir}는 정상입니다(이벤트 {events}개)." in korean
    # A key file others can read (the store tightens them only when it opens) is a problem.
    mode = ui.data_dir.stat().st_mode
    ui.data_dir.chmod(0o755)
    try:
        page = ui.client.get("/network").text
        korean = ui.client.get("/network", headers={"accept-language": "ko"}).text
    finally:
        ui.data_dir.chmod(mode)
    assert 'class="finding-fail"' in page
    assert f"Readable by other users: {ui.data_dir}. Run chmod go-rwx on them." in page
    assert "chmod go-rwx를 실행하세요" in korean and "<strong>문제:</strong>" in korean


def test_a_note_on_the_network_page_is_marked_as_one(student_ui: Ui, klass: ClassDirs) -> None:
    """A member that has not said whether it hears our beacons: neither good nor bad."""
    ui = student_ui
    ui.sign_in()
    member = load_membership(klass.instructor).peer_id.hex()
    ui.store.set_reach(
        json.dumps(
            {
                "at": int(time.time() * 1000),
                "interfaces": [{"name": "eth0", "address": "10.1.2.3", "broadcast": "x"}],
                "listen": ["10.1.2.3:4000"],
                "beacons": "on",
                "mdns": "off",
                "heard": [],
                "unreachable": [],
                "connected": [{"peer": member, "address": "10.1.2.9:4000", "hears_us": None}],
            }
        )
    )
    page = ui.client.get("/network").text
    assert "<strong>Note:</strong> whether members hear our beacons is not known yet" in page
    korean = ui.client.get("/network", headers={"accept-language": "ko"}).text
    assert "<strong>참고:</strong>" in korean
