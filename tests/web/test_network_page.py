"""The network page (issue 21) says what ``peerclass doctor`` says, from what the running
node recorded; before anything is recorded it says so."""

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
