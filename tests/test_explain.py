"""`modelops explain`: whole values (never shortened), a stable JSON shape, and `--field` for one
field's value and provenance. Built on a minimal repository of its own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from minimal_repo import uri, write_environment, write_spec

ENV, MODEL = "alpha", "scorer"
LONG_URI = uri(MODEL, "2026-12-01-" + "0123456789abcdef" * 4)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    write_environment(root, ENV)
    spec = write_spec(root, ENV, MODEL, LONG_URI, replicas=2)
    spec.write_text(spec.read_text() + "  memory: 300Mi\n"
                    "  smoke:\n    inputs:\n      - name: predict\n        datatype: FP32\n"
                    "        shape: [1, 2]\n        data: [0.5, 1.5]\n")
    return root


def _json(run_main: Any, repo: Path, *extra: str) -> dict[str, Any]:
    result = run_main("explain", ENV, MODEL, "--format", "json", *extra, repo=repo)
    assert result.rc == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def _fields(doc: dict[str, Any], kind: str, name: str) -> dict[str, dict[str, Any]]:
    obj = next(o for o in doc["objects"] if (o["kind"], o["name"]) == (kind, name))
    return {f["field"]: f for f in obj["fields"]}


def test_text_shows_whole_values(repo: Path, run_main: Any) -> None:
    result = run_main("explain", ENV, MODEL, repo=repo)
    assert result.rc == 0, result.stderr
    assert "…" not in result.stdout
    row = next(line for line in result.stdout.splitlines()
               if line.split()[:1] == ["spec.storageUri"])
    assert row.split()[1:] == [LONG_URI, "spec", "spec.artifact.uri"]
    request = json.loads(_fields(_json(run_main, repo), "ConfigMap", f"smoke-{MODEL}")
                         ["data.request.json"]["value"])
    quoted = next(line for line in result.stdout.splitlines()
                  if line.split()[:1] == ["data.request.json"]).split(None, 1)[1]
    text = json.JSONDecoder().raw_decode(quoted)[0]
    assert json.loads(text) == request
    assert request["inputs"][0]["data"] == [0.5, 1.5]


def test_json_shape(repo: Path, run_main: Any) -> None:
    doc = _json(run_main, repo)
    assert set(doc) == {"model", "environment", "spec", "objects"}
    assert (doc["model"], doc["environment"], doc["spec"]) == (
        MODEL, ENV, f"environments/{ENV}/models/{MODEL}.yaml")
    for obj in doc["objects"]:
        assert set(obj) == {"kind", "name", "path", "fields"}
        assert obj["path"].startswith("rendered/") and obj["fields"]
        for field in obj["fields"]:
            assert set(field) == {"field", "value", "source", "origin"}
            assert field["source"] in {"spec", "environment", "derived", "platform", "template"}
    model = _fields(doc, "Model", MODEL)
    assert model["spec.memory"] == {"field": "spec.memory", "value": "300Mi",
                                    "source": "spec", "origin": "spec.memory"}
    assert model["spec.storageUri"]["value"] == LONG_URI
    assert model["spec.replicas"]["value"] == 2  # JSON types survive
    assert _fields(doc, "Server", "mlserver-cpu")


def test_field_shows_one_field_and_its_provenance(repo: Path, run_main: Any) -> None:
    doc = _json(run_main, repo, "--field", "spec.memory")
    assert [(o["kind"], o["name"], [f["field"] for f in o["fields"]])
            for o in doc["objects"]] == [("Model", MODEL, ["spec.memory"])]
    text = run_main("explain", ENV, MODEL, "--field", "spec.memory", repo=repo)
    assert text.rc == 0
    rows = [line.split() for line in text.stdout.splitlines() if line.startswith("  ")]
    assert rows == [["spec.memory", "300Mi", "spec", "spec.memory"]]


def test_field_takes_the_fields_under_it(repo: Path, run_main: Any) -> None:
    doc = _json(run_main, repo, "--field", "metadata")
    names = [f["field"] for f in _fields(doc, "Model", MODEL).values()]
    assert "metadata.name" in names and len(names) > 1
    assert all(f["field"].startswith("metadata.")
               for o in doc["objects"] for f in o["fields"])


@pytest.mark.parametrize("field", ["spec.memry", "spec.mem", "nothing", ""])
def test_unknown_field_is_a_clear_error(repo: Path, run_main: Any, field: str) -> None:
    result = run_main("explain", ENV, MODEL, "--field", field, repo=repo)
    assert result.rc == 2
    assert f"no rendered field {field!r}" in result.stderr
    assert "internal error" not in result.stderr and result.stdout == ""


def test_unknown_field_suggests_the_nearest(repo: Path, run_main: Any) -> None:
    result = run_main("explain", ENV, MODEL, "--field", "spec.memry", repo=repo)
    assert "did you mean spec.memory" in result.stderr
