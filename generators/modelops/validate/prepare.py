"""OpenAPI v3 / Kubernetes schemas turned into plain, strict draft-07 documents.

Custom kinds are tightened the way `kubeconform -strict` does (an unknown field is an error),
the OpenAPI and Go specifics (`nullable`, `x-kubernetes-int-or-string`, RE2 patterns) are
translated, and sizeable object schemas are shared through `$defs` so the compiled code stays
small. Both engines (fastjsonschema and jsonschema) then agree on the result.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Final

from modelops.validate.patterns import SKIPPED_PATTERNS, SkippedPattern, python_pattern
from modelops.validate.problems import CatalogError

_OBJECT_META: Final = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_HOIST_MIN_CHARS: Final = 400


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


_ANNOTATIONS: Final = frozenset(
    {
        "$id",
        "$schema",
        "default",
        "description",
        "discriminator",
        "example",
        "examples",
        "externalDocs",
        "format",
        "id",
        "nullable",
        "title",
    }
)
_PROPERTY_MAPS: Final = ("properties", "patternProperties")
_SUBSCHEMA_LISTS: Final = ("allOf", "anyOf", "oneOf")
_SUBSCHEMAS: Final = ("not", "if", "then", "else", "contains", "propertyNames")
_COMBINATORS: Final = ("allOf", "anyOf", "oneOf", "not")


class _Preparer:
    """Turns OpenAPI v3 / Kubernetes JSON schema into plain draft-07 that both engines agree on.

    `strict` adds `additionalProperties: false` to structural object schemas of a CRD (not to
    the alternatives inside allOf/anyOf/oneOf/not, which only constrain values). `$ref`s into
    the Kubernetes definitions are rewritten to `#/$defs/<name>` and only the reachable
    definitions are copied in, which keeps both the document and the generated code small.
    """

    def __init__(self, label: str, definitions: Mapping[str, Any], *, strict: bool) -> None:
        self.label = label
        self.strict = strict
        self._definitions = definitions
        self._wanted: list[str] = []
        self._seen: set[str] = set()

    def ref(self, name: str) -> dict[str, Any]:
        if name not in self._definitions:
            raise CatalogError(f"{self.label}: schema refers to unknown definition {name!r}")
        if name not in self._seen:
            self._seen.add(name)
            self._wanted.append(name)
        return {"$ref": f"#/$defs/{name}"}

    def document(self, root: dict[str, Any]) -> dict[str, Any]:
        defs: dict[str, Any] = {}
        while self._wanted:
            name = self._wanted.pop()
            defs[name] = self.schema(self._definitions[name], ("$defs", name), structural=False)
        if defs:
            root["$defs"] = dict(sorted(defs.items()))
        return root

    def schema(self, node: Any, where: tuple[str, ...], *, structural: bool) -> Any:
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _ANNOTATIONS or key.startswith("x-"):
                continue
            if key == "$ref" and isinstance(value, str):
                return self.ref(value.rpartition("/")[2])
            if key in _PROPERTY_MAPS and isinstance(value, dict):
                out[key] = self._properties(key, value, where)
            elif key in ("items", "additionalProperties", "additionalItems"):
                if isinstance(value, list):
                    out[key] = [
                        self.schema(v, (*where, key, str(n)), structural=structural)
                        for n, v in enumerate(value)
                    ]
                else:
                    out[key] = self.schema(value, (*where, key), structural=structural)
            elif key in _SUBSCHEMA_LISTS and isinstance(value, list):
                out[key] = [
                    self.schema(v, (*where, key, str(n)), structural=False)
                    for n, v in enumerate(value)
                ]
            elif key in _SUBSCHEMAS:
                out[key] = self.schema(value, (*where, key), structural=False)
            elif key == "pattern" and isinstance(value, str):
                translated = self.pattern(value, (*where, key))
                if translated is not None:
                    out[key] = translated
            elif key == "required" and isinstance(value, list):
                out[key] = list(dict.fromkeys(value))
            elif key in ("exclusiveMinimum", "exclusiveMaximum") and isinstance(value, bool):
                bound = "minimum" if key == "exclusiveMinimum" else "maximum"
                if value and bound in node:
                    out[key] = node[bound]
            else:
                out[key] = value
        for key in ("exclusiveMinimum", "exclusiveMaximum"):
            if isinstance(node.get(key), bool) and node[key]:
                out.pop("minimum" if key == "exclusiveMinimum" else "maximum", None)
        _merge_type_alternatives(out)
        self._openapi_extensions(node, out, structural=structural)
        return out

    def _properties(
        self, key: str, value: dict[str, Any], where: tuple[str, ...]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, sub in value.items():
            if key == "patternProperties":
                translated = self.pattern(name, (*where, key, name))
                if translated is None:
                    continue
                name = translated  # noqa: PLW2901
            out[name] = self.schema(sub, (*where, key, name), structural=True)
        return out

    def _openapi_extensions(
        self, node: dict[str, Any], out: dict[str, Any], *, structural: bool
    ) -> None:
        preserve = node.get("x-kubernetes-preserve-unknown-fields") is True
        if node.get("x-kubernetes-embedded-resource") is True and "properties" in out:
            for name in ("apiVersion", "kind"):
                out["properties"].setdefault(name, {"type": "string"})
            out["properties"].setdefault("metadata", {"type": "object"})
        if (
            self.strict
            and structural
            and "properties" in out
            and "additionalProperties" not in node
            and not preserve
        ):
            out["additionalProperties"] = False
        if (
            node.get("x-kubernetes-int-or-string") is True
            and "type" not in out
            and not any(key in out for key in _COMBINATORS)
        ):
            out["type"] = ["integer", "string"]
        if node.get("nullable") is True:
            _allow_null(out)

    def pattern(self, pattern: str, where: tuple[str, ...]) -> str | None:
        translated = python_pattern(pattern)
        if isinstance(translated, str):
            return translated
        skipped = SkippedPattern(self.label, "/" + "/".join(where), pattern, str(translated))
        if skipped not in SKIPPED_PATTERNS:
            SKIPPED_PATTERNS.append(skipped)
        return None


def _merge_type_alternatives(out: dict[str, Any]) -> None:
    """`anyOf`/`oneOf` of bare types (int-or-string, Quantity) -> one `type` with the same meaning.

    Both engines run alternatives as try/except, and in fastjsonschema's generated code a raise
    inside a large function is expensive, so every int-or-string field was.
    For `oneOf`, a type offered by two alternatives (the `null` in Kubernetes' IntOrString)
    matches both and so is invalid; it is left out, as `oneOf` would reject it.
    """
    for key in ("anyOf", "oneOf"):
        options = out.get(key)
        if "type" in out or not isinstance(options, list) or not options:
            continue
        if not all(isinstance(o, dict) and set(o) == {"type"} for o in options):
            continue
        offered = [t for option in options for t in dict.fromkeys(_as_list(option["type"]))]
        if key == "oneOf":
            if "number" in offered and "integer" in offered:
                continue
            offered = [t for t in offered if offered.count(t) == 1]
        del out[key]
        out["type"] = list(dict.fromkeys(offered))


def _allow_null(out: dict[str, Any]) -> None:
    if "type" in out and not any(key in out for key in _COMBINATORS):
        types = out["type"] if isinstance(out["type"], list) else [out["type"]]
        out["type"] = [*types, "null"] if "null" not in types else types
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        return
    inner = dict(out)
    out.clear()
    out["anyOf"] = [{"type": "null"}, inner]


def crd_document(
    label: str, schema: Mapping[str, Any], definitions: Mapping[str, Any]
) -> dict[str, Any]:
    """The CRD version's schema, made strict, with `metadata` checked as a real ObjectMeta."""
    preparer = _Preparer(label, definitions, strict=True)
    root = preparer.schema(dict(schema), (), structural=True)
    if not isinstance(root, dict):
        raise CatalogError(f"{label}: the CRD's openAPIV3Schema is not an object")
    properties = root.setdefault("properties", {})
    for name in ("apiVersion", "kind"):
        properties.setdefault(name, {"type": "string"})
    meta_ref = preparer.ref(_OBJECT_META)
    declared = schema.get("properties", {}).get("metadata", {})
    extra = _Preparer(label, definitions, strict=False).schema(
        declared, ("properties", "metadata"), structural=False
    )
    if isinstance(extra, dict):
        extra.pop("type", None)
    properties["metadata"] = {"allOf": [meta_ref, extra]} if extra else meta_ref
    root.setdefault("type", "object")
    if "additionalProperties" not in root and not schema.get(
        "x-kubernetes-preserve-unknown-fields"
    ):
        root["additionalProperties"] = False
    return _hoist_objects(preparer.document(root))


def _hoist_objects(document: dict[str, Any]) -> dict[str, Any]:
    """Move each sizeable object schema into `$defs`, identical ones shared, and `$ref` it.

    CRD generators inline everything (a Server CRD holds a PodSpec, with the Container schema
    three times and the Probe schema nine). Compiled as is, that is one Python function of
    10,000 lines, where merely entering the function costs ~15 us and a raised exception
    ~150 us. One function per object schema, each compiled once, is cheaper to run and to build.
    """
    hoisted: dict[str, Any] = {}

    def visit(node: Any, *, top: bool = False) -> Any:
        if not isinstance(node, dict) or "$ref" in node:
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _PROPERTY_MAPS and isinstance(value, dict):
                out[key] = {name: visit(sub) for name, sub in value.items()}
            elif key in _SUBSCHEMA_LISTS or (key == "items" and isinstance(value, list)):
                out[key] = [visit(sub) for sub in value]
            elif key in ("items", "additionalProperties", "additionalItems", *_SUBSCHEMAS):
                out[key] = visit(value)
            else:
                out[key] = value
        if top or "properties" not in out:
            return out
        text = json.dumps(out, sort_keys=True, separators=(",", ":"))
        if len(text) < _HOIST_MIN_CHARS:
            return out
        name = f"inline.{hashlib.sha256(text.encode()).hexdigest()[:16]}"
        hoisted.setdefault(name, out)
        return {"$ref": f"#/$defs/{name}"}

    root: dict[str, Any] = visit({k: v for k, v in document.items() if k != "$defs"}, top=True)
    root["$defs"] = dict(sorted({**document.get("$defs", {}), **hoisted}.items()))
    return root


def core_document(
    label: str, schema: Mapping[str, Any], definitions: Mapping[str, Any]
) -> dict[str, Any]:
    preparer = _Preparer(label, definitions, strict=False)
    root = preparer.schema(dict(schema), (), structural=True)
    if not isinstance(root, dict):
        raise CatalogError(f"{label}: the bundled schema is not an object")
    return preparer.document(root)
