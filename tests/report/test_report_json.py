"""The json report: its documented schema (README, "Report JSON format") holds; it is stable.

jsonschema is not a dependency, so a small validator for the keywords the schema uses lives
here; it refuses any keyword it does not know, so the schema cannot drift past it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import attrs
import pytest

from peer.report import Request, build_report, render_json
from tests.report.test_report_summary import (
    ALICE,
    BOB,
    FIZZ,
    SCRIPT_COMMENT,
    class_request,
    sample_report,
    sample_snapshot,
    shuffled,
    ts,
)

README = Path(__file__).resolve().parents[2] / "README.md"
ANNOTATIONS = {"$schema", "title", "description", "format"}
CHECKED = {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "pattern",
    "minimum",
    "maximum",
    "$ref",
    "propertyNames",
    "$defs",
}


def documented_schema() -> dict[str, Any]:
    """The one ```json block of the README's "Report JSON format" section."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Report JSON format", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```json\n(.*?)^```$", section, re.M | re.S)
    assert len(blocks) == 1
    schema: dict[str, Any] = json.loads(blocks[0])
    return schema


def _is_type(value: Any, name: str) -> bool:
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    kinds = {"string": str, "boolean": bool, "null": type(None), "object": dict, "array": list}
    return isinstance(value, kinds[name])


def validate(value: Any, schema: dict[str, Any], root: dict[str, Any], path: str = "$") -> None:
    """Raise AssertionError naming the first place ``value`` breaks ``schema``."""
    unknown = schema.keys() - ANNOTATIONS - CHECKED
    assert not unknown, f"schema keyword(s) {unknown} at {path} are not checked by this validator"
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        validate(value, target, root, path)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        assert any(_is_type(value, t) for t in types), f"{path}: {value!r} is not {types}"
    if "enum" in schema:
        assert value in schema["enum"], f"{path}: {value!r} not in {schema['enum']}"
    if isinstance(value, str) and "pattern" in schema:
        assert re.search(schema["pattern"], value), f"{path}: {value!r} !~ {schema['pattern']}"
    if _is_type(value, "number"):
        assert value >= schema.get("minimum", value), f"{path}: {value} below minimum"
        assert value <= schema.get("maximum", value), f"{path}: {value} above maximum"
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            validate(item, schema["items"], root, f"{path}[{i}]")
    if isinstance(value, dict):
        for key in schema.get("required", ()):
            assert key in value, f"{path}: lacks {key!r}"
        properties = schema.get("properties", {})
        for key, item in value.items():
            if "propertyNames" in schema:
                validate(key, schema["propertyNames"], root, f"{path} key {key!r}")
            if key in properties:
                validate(item, properties[key], root, f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                raise AssertionError(f"{path}: unexpected key {key!r}")
            elif isinstance(schema.get("additionalProperties"), dict):
                validate(item, schema["additionalProperties"], root, f"{path}.{key}")


def check(document: Any) -> None:
    schema = documented_schema()
    validate(document, schema, schema)


def test_class_report_matches_the_documented_schema() -> None:
    document = json.loads(render_json(sample_report()))
    check(document)
    assert list(document) == ["generated_for", "students", "problems"]
    assert document["generated_for"]["scope"] == "class"
    assert [s["name"] for s in document["students"]][:3] == ["Alice", "Bob", "Carol"]


def test_student_and_filtered_reports_match_the_schema() -> None:
    own = Request(viewer_id=BOB, viewer_role="student", scope="student")
    filtered = attrs.evolve(class_request(), problem_id=FIZZ, since=ts(60))
    for request in (own, filtered):
        check(json.loads(render_json(sample_report(request))))


def test_nesting_carries_revisions_feedback_given_and_summary() -> None:
    alice = json.loads(render_json(sample_report()))["students"][0]
    two_sum = alice["problems"][1]
    assert (two_sum["problem_title"], two_sum["status"]) == ("Two Sum", "accepted")
    assert two_sum["attempts_until_accepted"] == 2
    bob = two_sum["attempts"][0]["feedback"][0]
    assert bob["reviewer_name"] == "Bob"
    assert bob["revision_of"] == bob["earlier_versions"][0]["id"]
    assert [v["score"] for v in bob["earlier_versions"]] == [50]
    teacher = two_sum["attempts"][1]["feedback"][0]
    assert (teacher["reviewer_role"], teacher["comment"]) == ("instructor", SCRIPT_COMMENT)
    assert alice["summary"]["attempts_until_accepted"] == {two_sum["problem_id"]: 2}
    assert alice["summary"]["median_feedback_delay_seconds"] == 3600
    assert [g["student_name"] for g in alice["feedback_given"]] == ["Bob", "Carol", "Carol"]
    assert alice["id"] == ALICE.hex()


@pytest.mark.parametrize(
    "broken",
    [
        lambda d: d.pop("problems"),
        lambda d: d["students"][0].update(extra=1),
        lambda d: d["students"][0]["summary"].update(feedback_given="3"),
        lambda d: d["students"][0]["problems"][0].update(status="done"),
        lambda d: d["generated_for"].update(peer_id="abc"),
        lambda d: d["problems"][0].update(median_attempts=True),
    ],
)
def test_the_validator_catches_what_the_schema_forbids(broken: Any) -> None:
    document = json.loads(render_json(sample_report()))
    broken(document)
    with pytest.raises(AssertionError):
        check(document)


def test_same_store_any_order_gives_the_same_bytes() -> None:
    expected = render_json(sample_report())
    assert render_json(sample_report()) == expected
    for seed in range(3):
        report = build_report(shuffled(sample_snapshot(), seed), class_request())
        assert render_json(report) == expected
