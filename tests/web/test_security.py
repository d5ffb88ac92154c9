"""The UI refuses what it must: no token, a foreign Host, a form without its CSRF token, a
form from another site; and signs a browser in only with this run's token."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from peer.web import Access, rotate_secret
from peer.web._session import SECRET_FILE, TOKEN_LIFETIME, USED_FILE
from storage.queries import chat_log
from tests.web.conftest import BASE, Ui

PAGES = ["/chat", "/problems", "/feedback", "/instructor", "/report?format=json", "/events"]


@pytest.mark.parametrize("path", PAGES)
def test_a_request_without_the_token_is_refused(teacher_ui: Ui, path: str) -> None:
    response = teacher_ui.client.get(path, follow_redirects=False)
    assert response.status_code == 401
    assert "김선생" not in response.text  # nothing of the class is shown
    assert "test-token" not in response.text


def test_a_wrong_cookie_is_refused(teacher_ui: Ui) -> None:
    teacher_ui.client.cookies.set("peerclass_8765", "not.a-session")
    assert teacher_ui.client.get("/chat").status_code == 401


def test_a_foreign_host_header_is_refused_even_signed_in(teacher_ui: Ui) -> None:
    teacher_ui.sign_in()
    for host in ["evil.example:8765", "127.0.0.1.evil.example:8765", "192.168.1.5:8765", ""]:
        response = teacher_ui.client.get("/chat", headers={"host": host})
        assert response.status_code == 421, host
    assert teacher_ui.client.get("/chat", headers={"host": "localhost:8765"}).status_code == 200
    own = teacher_ui.client.get("/chat", headers={"host": "127.31.7.200:8765"})  # its own host
    assert own.status_code == 200


def test_a_form_without_its_csrf_token_is_refused_and_stores_nothing(teacher_ui: Ui) -> None:
    teacher_ui.sign_in()
    before = len(chat_log(teacher_ui.store))
    response = teacher_ui.client.post("/chat", data={"room": "general", "text": "sneaky"})
    assert response.status_code == 403
    wrong = teacher_ui.client.post(
        "/chat", data={"room": "general", "text": "sneaky", "csrf": "0" * 40}
    )
    assert wrong.status_code == 403
    assert len(chat_log(teacher_ui.store)) == before


def test_a_form_with_its_csrf_token_is_accepted(teacher_ui: Ui) -> None:
    teacher_ui.sign_in()
    response = teacher_ui.client.post(
        "/chat",
        data={"room": "general", "text": "안녕하세요 <b>class</b>", "csrf": teacher_ui.csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/chat?room=general"
    assert chat_log(teacher_ui.store)[-1].text == "안녕하세요 <b>class</b>"
    page = teacher_ui.client.get("/chat?room=general").text
    assert "안녕하세요 &lt;b&gt;class&lt;/b&gt;" in page  # Markdown with raw HTML off


def test_a_post_from_another_origin_is_refused(teacher_ui: Ui) -> None:
    teacher_ui.sign_in()
    response = teacher_ui.client.post(
        "/chat",
        data={"room": "general", "text": "x", "csrf": teacher_ui.csrf},
        headers={"origin": "http://evil.example"},
    )
    assert response.status_code == 403


def test_query_token_signs_in_once_and_redirects_to_a_clean_url(teacher_ui: Ui) -> None:
    bad = teacher_ui.client.get("/problems?token=nope", follow_redirects=False)
    assert bad.status_code == 401
    token = teacher_ui.access.mint()
    good = teacher_ui.client.get(f"/problems?token={token}", follow_redirects=False)
    assert good.status_code == 303
    assert good.headers["location"] == "/problems"
    cookie = good.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert token not in cookie  # the cookie is a signed session id, not the sign-in token
    assert teacher_ui.client.get("/problems").status_code == 200
    # the same URL a second time (another browser, or someone who saw it): refused
    again = TestClient(teacher_ui.client.app, base_url=BASE)
    second = again.get(f"/problems?token={token}", follow_redirects=False)
    assert second.status_code == 401
    assert "each one works once" in second.text


def test_query_token_never_redirects_off_this_host(teacher_ui: Ui) -> None:
    response = teacher_ui.client.get(
        f"//evil.example/?token={teacher_ui.access.mint()}", follow_redirects=False
    )
    assert response.status_code == 303
    assert not response.headers["location"].startswith("//")


def test_posting_the_token_signs_in_once(teacher_ui: Ui) -> None:
    wrong = teacher_ui.client.post("/session", data={"token": "nope"})
    assert wrong.status_code == 401
    token = teacher_ui.access.mint()
    right = teacher_ui.client.post("/session", data={"token": token}, follow_redirects=False)
    assert right.status_code == 303
    assert "HttpOnly" in right.headers["set-cookie"]
    assert teacher_ui.client.get("/chat").status_code == 200
    other = TestClient(teacher_ui.client.app, base_url=BASE)
    assert other.post("/session", data={"token": token}).status_code == 401


def test_a_forged_or_tampered_session_is_refused(teacher_ui: Ui) -> None:
    teacher_ui.sign_in()
    sid, mac = teacher_ui.session.split(".")
    for forged in [sid, f"{sid}.{'0' * 32}", f"x{sid}.{mac}", Access.in_memory().new_session()]:
        teacher_ui.client.cookies.set("peerclass_8765", forged)
        assert teacher_ui.client.get("/chat").status_code == 401, forged


def test_csrf_tokens_belong_to_one_session(teacher_ui: Ui) -> None:
    teacher_ui.sign_in()
    theirs = teacher_ui.access.csrf(
        teacher_ui.access.session_of(teacher_ui.access.new_session()) or ""
    )
    response = teacher_ui.client.post(
        "/chat", data={"room": "general", "text": "x", "csrf": theirs}
    )
    assert response.status_code == 403


def test_a_sign_in_token_expires_and_a_rotated_secret_signs_everyone_out(tmp_path: Path) -> None:
    access = Access.for_data_dir(tmp_path)
    assert stat.S_IMODE((tmp_path / SECRET_FILE).stat().st_mode) == 0o600
    old = access.mint(now=time.time() - TOKEN_LIFETIME - 10)
    assert access.redeem(old) is None
    session = access.redeem(access.mint())
    assert session is not None and access.session_of(session) is not None
    # a restart of the peer (a new Access on the same data dir) keeps the browser signed in
    assert Access.for_data_dir(tmp_path).session_of(session) is not None
    unused = access.mint()
    rotate_secret(tmp_path)  # peerclass ui --sign-out-all, while the peer runs
    assert access.session_of(session) is None
    assert access.redeem(unused) is None
    assert stat.S_IMODE((tmp_path / SECRET_FILE).stat().st_mode) == 0o600


def test_a_used_token_stays_used_across_a_restart(tmp_path: Path) -> None:
    token = Access.for_data_dir(tmp_path).mint()
    assert Access.for_data_dir(tmp_path).redeem(token) is not None
    assert Access.for_data_dir(tmp_path).redeem(token) is None
    assert stat.S_IMODE((tmp_path / USED_FILE).stat().st_mode) == 0o600


def test_every_response_has_a_strict_csp(teacher_ui: Ui) -> None:
    for response in [
        teacher_ui.client.get("/chat"),
        teacher_ui.client.get("/static/app.js"),
        teacher_ui.client.get("/chat", headers={"host": "evil.example"}),
    ]:
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"


def test_students_cannot_open_instructor_pages(student_ui: Ui) -> None:
    student_ui.sign_in()
    assert student_ui.client.get("/instructor").status_code == 403
    response = student_ui.client.post(
        "/instructor/publish",
        data={"title": "x", "statement": "y", "csrf": student_ui.csrf},
    )
    assert response.status_code == 403
