"""The shipped JSON Schemas agree with the loader, and every spec points editors at them."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from modelops.schemas import SCHEMA_DIR, schema_files, schema_line
from repo_builder import model, uri

REPO_ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted((REPO_ROOT / "environments").glob("*/environment.yaml")) + sorted(
    (REPO_ROOT / "environments").glob("*/models/*.yaml")
)


def _schema_for(path: Path) -> str:
    return "environment.schema.json" if path.name == "environment.yaml" else \
        "modeldeployment.schema.json"


def _validator(filename: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((REPO_ROOT / SCHEMA_DIR / filename).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_committed_schemas_are_what_spec_py_generates() -> None:
    """generators/schemas/ holds exactly the schemas generated from modelops.spec."""
    for filename, content in schema_files().items():
        assert (REPO_ROOT / SCHEMA_DIR / filename).read_bytes() == content, filename


@pytest.mark.parametrize("path", SPECS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_spec_has_schema_line_and_validates_against_it(path: Path) -> None:
    """Each sample spec starts with the editor hint and is valid under that JSON Schema."""
    filename = _schema_for(path)
    first = path.read_text(encoding="utf-8").split("\n", 1)[0]
    assert first == schema_line(path, REPO_ROOT, filename)
    errors = list(_validator(filename).iter_errors(yaml.safe_load(path.read_text())))
    assert errors == [], [e.message for e in errors]


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda d: d["spec"].update(memroy="2Gi"), "Additional properties"),
        (lambda d: d["spec"]["artifact"].update(size=2048), "is not of type"),
        (lambda d: d["spec"].pop("framework"), "is a required property"),
        (lambda d: d["spec"].update(framework="keras"), "is not one of"),
    ],
    ids=["typo", "wrong-type", "missing", "unknown-framework"],
)
def test_json_schema_rejects_what_the_loader_rejects(mutate: object, reason: str) -> None:
    """Editors flag the same mistakes as the loader: typos, types, required fields, enums."""
    data = model("scorer", drift={"reference": uri("scorer-reference"), "referenceRows": 5000,
                                  "pValue": 0.01, "batchSize": 100})
    assert list(_validator("modeldeployment.schema.json").iter_errors(data)) == []
    mutate(data)  # type: ignore[operator]
    messages = [e.message for e in _validator("modeldeployment.schema.json").iter_errors(data)]
    assert any(reason in m for m in messages), messages
