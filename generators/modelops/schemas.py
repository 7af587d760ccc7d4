"""JSON Schemas for the spec kinds, generated from `modelops.spec` (their one source).

The files are committed under `generators/schemas/` so editors can point at them with a
`# yaml-language-server: $schema=...` line; `modelops render` rewrites them and
`modelops render --check` fails when they are stale.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from modelops.spec import Environment, ModelDeployment, Organization

SCHEMA_DIR = Path("generators") / "schemas"
SCHEMAS: dict[str, tuple[type[BaseModel], str]] = {
    "modeldeployment.schema.json": (ModelDeployment, "A model deployed to one environment"),
    "environment.schema.json": (Environment, "An environment: namespace, pools, limits"),
    "organization.schema.json": (Organization, "The organisation's settings: git repository "
                                 "and images"),
}


def schema_files() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for filename, (model, title) in SCHEMAS.items():
        schema: dict[str, Any] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://modelops.dev/schemas/{filename}",
            **model.model_json_schema(by_alias=True),
            "title": model.__name__,
            "description": f"{title}. Generated from generators/modelops/spec.py; "
                           "do not edit.",
        }
        files[filename] = (json.dumps(schema, indent=2, sort_keys=True) + "\n").encode()
    return files


def schema_line(spec_path: Path, repo_root: Path, filename: str) -> str:
    """The editor hint line for a spec file, with a path relative to the spec."""
    target = repo_root / SCHEMA_DIR / filename
    relative = Path(*([".."] * (len(spec_path.relative_to(repo_root).parts) - 1)))
    schema = (relative / target.relative_to(repo_root)).as_posix()
    return f"# yaml-language-server: $schema={schema}"
