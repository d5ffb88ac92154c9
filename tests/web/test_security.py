"""The UI refuses what it must: no token, a foreign Host, a form without its CSRF token, a
form from another site; and signs a browser in only with this run's token."""

from __future__ import annotations

import pytest

from storage.queries import chat_log
from tests.web.conftest import Ui

PAGES = ["/chat", "/problems", "/feedback", "/instructor", "/report?format=json", "/events"]


@pytest.mark.parametrize("path", PAGES)
def test_a_request_without_the_token_is_refused(teacher_ui: Ui, path: str) -> None:
    response = teacher_ui.client.get(path, follow_redirects=False)
    assert response.status_code == 401
    assert "김선생" not in response.text  # nothing of the class is shown
    assert "test-token" not in response.text


def test_a_wrong_cookie_is_refused(teacher_ui: Ui) -> None:
    teacher_ui.client.cookies.set("peerclass_8765", "not-the-token")
    assert teacher_ui.client.get("/chat").status_code == 401


def test_a_foreign_host_header_is_refused_even_signed_in(teacher_ui: Ui) -> None:
    teacher_ui.sign_in()
    for host in ["evil.example:8765", "127.0.0.1.evil.example:8765", "192.168.1.5:8765", ""]:
        response = teacher_ui.client.get("/chat", headers={"host": host})
        assert response.status_code == 421, host
    assert teacher_ui.client.get("/chat", headers={"host": "localhost:8765"}).status_code == 200


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
        data={"room": "general", "text": "안녕하세요 <b>class</b>", "csrf": teacher_ui.access.csrf},
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
        data={"room": "general", "text": "x", "csrf": teacher_ui.access.csrf},
        headers={"origin": "http://evil.example"},
    )
    assert response.status_code == 403


def test_query_token_signs_in_and_redirects_to_a_clean_url(teacher_ui: Ui) -> None:
    bad = teacher_ui.client.get("/problems?token=nope", follow_redirects=False)
    assert bad.status_code == 401
    good = teacher_ui.client.get(
        f"/problems?token={teacher_ui.access.token}", follow_redirects=False
    )
    assert good.status_code == 303
    assert good.headers["location"] == "/problems"
    cookie = good.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert teacher_ui.client.get("/problems").status_code == 200


def test_query_token_never_redirects_off_this_host(teacher_ui: Ui) -> None:
    response = teacher_ui.client.get(
        f"//evil.example/?token={teacher_ui.access.token}", follow_redirects=False
    )
    assert response.status_code == 303
    assert not response.headers["location"].startswith("//")


def test_posting_the_token_signs_in(teacher_ui: Ui) -> None:
    wrong = teacher_ui.client.post("/session", data={"token": "nope"})
    assert wrong.status_code == 401
    right = teacher_ui.client.post(
        "/session", data={"token": teacher_ui.access.token}, follow_redirects=False
    )
    assert right.status_code == 303
    assert "HttpOnly" in right.headers["set-cookie"]
    assert teacher_ui.client.get("/chat").status_code == 200


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
        data={"title": "x", "statement": "y", "csrf": student_ui.access.csrf},
    )
    assert response.status_code == 403
