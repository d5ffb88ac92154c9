"""The browser's report download reads ``peer.report``'s format table: every format the
table holds is offered to the instructor and served with its media type and file name; a
class-only format is refused to a student, plainly."""

from __future__ import annotations

from peer.report import FORMATS
from tests.web.conftest import Ui


def test_the_instructor_page_offers_every_format_of_the_table(teacher_ui: Ui) -> None:
    teacher_ui.sign_in()
    page = teacher_ui.client.get("/instructor")
    assert page.status_code == 200
    for fmt in FORMATS:
        assert f'href="/report?format={fmt.name}"' in page.text, fmt.name


def test_each_format_downloads_with_its_media_type_and_file_name(teacher_ui: Ui) -> None:
    teacher_ui.sign_in()
    for fmt in FORMATS:
        response = teacher_ui.client.get(f"/report?format={fmt.name}")
        assert response.status_code == 200, fmt.name
        assert response.headers["content-type"].split(";")[0] == fmt.media_type.split(";")[0]
        disposition = response.headers["content-disposition"]
        assert disposition == f'attachment; filename="{fmt.file_name}"'
        assert response.text


def test_a_class_only_format_is_refused_to_a_student(student_ui: Ui) -> None:
    student_ui.sign_in()
    own = student_ui.client.get("/report?format=csv")
    assert own.status_code == 200
    for fmt in [f for f in FORMATS if f.class_only]:
        refused = student_ui.client.get(f"/report?format={fmt.name}")
        assert refused.status_code == 403, fmt.name
        assert "whole class" in refused.text


def test_an_unknown_format_names_the_known_ones(teacher_ui: Ui) -> None:
    teacher_ui.sign_in()
    response = teacher_ui.client.get("/report?format=pdf")
    assert response.status_code == 404
    assert "gradebook" in response.text
