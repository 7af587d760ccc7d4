"""Strict schema checks for rendered Kubernetes objects, fast enough to run on every render.

Why this module exists: `kubeconform -strict` is the reference for "would the API server take
this object, and is any field misspelt", but it is a separate binary with its own schema
downloads. The generators render ~16,000 objects per run and must check all of them in-process
in well under three seconds, with messages a person can act on. So:

* built-in kinds are checked against the strict JSON schemas bundled with `kubernetes-validate`;
* custom kinds are checked against the CRDs in a directory, tightened the way `-strict` does
  (an unknown field is an error) and with the OpenAPI v3 / Go specifics translated (`nullable`,
  `x-kubernetes-int-or-string`, RE2 patterns such as `^(?i)(abort|warn)?$`);
* each kind's schema is compiled once by fastjsonschema into plain Python (the generated code is
  cached on disk, keyed by the prepared schema), and only an object it rejects is checked again
  with jsonschema, which reports every error with its exact path. A kind is first checked with
  jsonschema alone and compiled once the time spent on it reaches a share of the estimated
  compile cost, so a kind seen a handful of times never pays for compiling a 600 KB CRD.

Checks that need a server are out of scope, as in kubeconform: CEL rules
(`x-kubernetes-validations`), list-type uniqueness, `format`s and defaulting.
"""

from __future__ import annotations

import functools
import hashlib
import json
import marshal
import os
import re
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

import fastjsonschema
import yaml

KUBERNETES_VERSION: Final = "1.32"

_DRAFT7: Final = "http://json-schema.org/draft-07/schema#"
_OBJECT_META: Final = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_CRD_KIND: Final = "CustomResourceDefinition"
# Part of every code-cache key: bump it when the code generation (not the schema) changes.
_CACHE_FORMAT: Final = "modelops-validate-1"
_COMPILE_OPTIONS: Final = "use_default=False,use_formats=False,detailed_exceptions=False"
_COMPILE_SECONDS_PER_SCHEMA_BYTE: Final = 1.5e-6
_SLOW_SHARE_BEFORE_COMPILE: Final = 0.25
_HOIST_MIN_CHARS: Final = 400


class CatalogError(Exception):
    """The schema sources cannot be used: missing CRD directory, unreadable or broken CRD file."""


@dataclass(frozen=True)
class SchemaProblem:
    """One reason an object does not match its schema."""

    path: str
    message: str


@dataclass(frozen=True)
class SkippedPattern:
    """A schema `pattern` that Python's `re` cannot run even after translation; not enforced."""

    schema: str
    location: str
    pattern: str
    reason: str


SKIPPED_PATTERNS: list[SkippedPattern] = []


# --- Go (RE2) patterns -> Python `re` -----------------------------------------------------------

_POSIX_CLASSES: Final = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
_FLAG_GROUP: Final = re.compile(r"\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?\)")
_SUPPORTED_FLAGS: Final = frozenset("ims")
_ORIGINAL_PATTERN: dict[str, str] = {}


def _translate_class(pattern: str, start: int) -> tuple[str, int]:
    """Translate the character class opening at `start`; return it and the index after it."""
    out = ["["]
    i = start + 1
    if i < len(pattern) and pattern[i] == "^":
        out.append("^")
        i += 1
    first = True
    while i < len(pattern):
        char = pattern[i]
        if char == "]" and not first:
            out.append("]")
            return "".join(out), i + 1
        first = False
        if char == "\\" and i + 1 < len(pattern):
            if pattern[i + 1] in "pP":
                raise re.error("Unicode classes (\\p) are not supported by Python's re")
            out.append(pattern[i : i + 2])
            i += 2
        elif pattern.startswith("[:", i):
            end = pattern.find(":]", i + 2)
            name = pattern[i + 2 : end] if end != -1 else ""
            if name not in _POSIX_CLASSES:
                raise re.error(f"unknown POSIX class [:{name}:]")
            out.append(_POSIX_CLASSES[name])
            i = end + 2
        elif char in "[$":
            out.append("\\" + char)
            i += 1
        else:
            out.append(char)
            i += 1
    raise re.error("unterminated character class")


def _translate_escape(pattern: str, i: int) -> tuple[str, int]:
    nxt = pattern[i + 1]
    if nxt in "pPC":
        raise re.error(f"\\{nxt} is not supported by Python's re")
    if nxt == "Q":
        end = pattern.find("\\E", i + 2)
        stop = len(pattern) if end == -1 else end
        return re.escape(pattern[i + 2 : stop]), len(pattern) if end == -1 else end + 2
    return ("\\Z" if nxt == "z" else pattern[i : i + 2]), i + 2


def _translate_pattern(pattern: str) -> str:
    """Rewrite a Go RE2 pattern as a Python pattern with the same meaning, or raise re.error.

    RE2 lets inline flags such as `(?i)` appear anywhere and apply to the rest of the enclosing
    group; Python only accepts global flags at the very start. A leading flag group (after
    anchors) moves to the front; any other becomes a scoped group `(?i:...)` closed where the
    enclosing group ends and reopened after each `|`. `$` and `\\z` become `\\Z`: RE2's `$`
    (without `m`) never matches before a trailing newline, Python's does.
    """
    multiline = any("m" in (m.group(1) or "") for m in _FLAG_GROUP.finditer(pattern))
    prefix_flags = ""
    out: list[str] = []
    scoped: list[list[str]] = [[]]
    i = 0
    while i < len(pattern):
        char = pattern[i]
        flags = _FLAG_GROUP.match(pattern, i) if char == "(" else None
        if char == "\\" and i + 1 < len(pattern):
            piece, i = _translate_escape(pattern, i)
            out.append(piece)
            continue
        if char == "[":
            piece, i = _translate_class(pattern, i)
            out.append(piece)
            continue
        i += 1
        if flags is not None:
            on, off = flags.group(1) or "", flags.group(2) or ""
            if not set(on + off) <= _SUPPORTED_FLAGS:
                raise re.error(f"inline flags {flags.group(0)} are not supported by Python's re")
            i = flags.end()
            if len(scoped) == 1 and all(part == "^" for part in out):
                prefix_flags += on
                continue
            opener = f"(?{on}-{off}:" if off else f"(?{on}:"
            scoped[-1].append(opener)
            out.append(opener)
        elif char == "(":
            scoped.append([])
            out.append("(")
        elif char == ")":
            out.append(")" * len(scoped[-1]) + ")")
            if len(scoped) > 1:
                scoped.pop()
        elif char == "|":
            out.append(")" * len(scoped[-1]) + "|" + "".join(scoped[-1]))
        else:
            out.append("\\Z" if char == "$" and not multiline else char)
    out.append(")" * len(scoped[-1]))
    translated = "".join(out)
    if prefix_flags:
        translated = f"(?{''.join(sorted(set(prefix_flags)))}){translated}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        re.compile(translated)
    return translated


@functools.cache
def _python_pattern(pattern: str) -> str | re.error:
    try:
        translated = _translate_pattern(pattern)
    except re.error as exc:
        return exc
    _ORIGINAL_PATTERN.setdefault(translated, pattern)
    return translated


# --- Schema preparation -------------------------------------------------------------------------


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
        translated = _python_pattern(pattern)
        if isinstance(translated, str):
            return translated
        skipped = SkippedPattern(self.label, "/" + "/".join(where), pattern, str(translated))
        if skipped not in SKIPPED_PATTERNS:
            SKIPPED_PATTERNS.append(skipped)
        return None


def _merge_type_alternatives(out: dict[str, Any]) -> None:
    """`anyOf`/`oneOf` of bare types (int-or-string, Quantity) -> one `type` with the same meaning.

    Both engines run alternatives as try/except; in fastjsonschema's generated code a raise
    inside a large function costs ~0.15 ms, which made every int-or-string field expensive.
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


def _crd_document(
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


def _core_document(
    label: str, schema: Mapping[str, Any], definitions: Mapping[str, Any]
) -> dict[str, Any]:
    preparer = _Preparer(label, definitions, strict=False)
    root = preparer.schema(dict(schema), (), structural=True)
    if not isinstance(root, dict):
        raise CatalogError(f"{label}: the bundled schema is not an object")
    return preparer.document(root)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


class _CoreLibrary:
    """The strict built-in schemas that ship inside kubernetes-validate (read in place)."""

    def __init__(self) -> None:
        import kubernetes_validate.utils as kv

        self._kv = kv
        wanted = _version_key(KUBERNETES_VERSION)
        candidates = [v for v in kv.all_versions() if _version_key(kv.major_minor(v)) <= wanted]
        if not candidates:
            raise CatalogError(
                f"kubernetes-validate has no schemas for Kubernetes {KUBERNETES_VERSION} or older"
            )
        self.version: str = max(candidates, key=_version_key)
        self._dir = f"kubernetes-json-schema/v{self.version}-local-strict"
        self.definitions: dict[str, Any] = self._read("_definitions.json")["$defs"]

    def _read(self, name: str) -> Any:
        try:
            return self._kv.schema_contents(f"{self._dir}/{name}", self.version)
        except (self._kv.VersionNotSupportedError, self._kv.InvalidSchemaError) as exc:
            raise CatalogError(f"kubernetes-validate: {exc.message}") from exc

    def kind_schema(self, group: str, version: str, kind: str) -> dict[str, Any] | None:
        api = f"{group.split('.', 1)[0]}-{version}" if group else version
        try:
            schema: dict[str, Any] = self._read(f"{kind.lower()}-{api}.json")
        except FileNotFoundError:
            return None
        gvk = {"group": group, "version": version, "kind": kind}
        if gvk not in schema.get("x-kubernetes-group-version-kind", []):
            return None
        return schema


@functools.cache
def _core_library() -> _CoreLibrary:
    return _CoreLibrary()


# --- CRD directory index ------------------------------------------------------------------------

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _document_starts(text: str) -> list[int]:
    """Offsets of the YAML documents in `text`: 0 and every line that is a `---` marker."""
    starts = [0]
    at = text.find("\n---")
    while at != -1:
        after = text[at + 4 : at + 5]
        if after in ("", " ", "\t", "\r", "\n"):
            starts.append(at + 1)
        at = text.find("\n---", at + 4)
    return starts


@dataclass
class _CrdSource:
    """Where one CRD lives; its (large) body is parsed only when an object of the kind shows up."""

    path: Path
    line: int
    document: str
    group: str
    kind: str
    item: tuple[int, int, int] | None

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class _Head:
    kind: str | None = None
    group: str | None = None
    names_kind: str | None = None

    def crd(self) -> tuple[str, str] | None:
        if self.kind == _CRD_KIND and self.group and self.names_kind:
            return self.group, self.names_kind
        return None


def _skip(events: Iterator[yaml.Event], first: yaml.Event) -> yaml.Event:
    if not isinstance(first, yaml.MappingStartEvent | yaml.SequenceStartEvent):
        return first
    depth = 1
    for event in events:
        if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            depth += 1
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            depth -= 1
            if depth == 0:
                return event
    raise yaml.YAMLError("unexpected end of the YAML stream")


def _scalar(events: Iterator[yaml.Event], first: yaml.Event) -> str | None:
    if isinstance(first, yaml.ScalarEvent):
        return str(first.value)
    _skip(events, first)
    return None


def _entries(
    events: Iterator[yaml.Event], closing: list[yaml.Event] | None = None
) -> Iterator[tuple[str | None, yaml.Event]]:
    """Yield (key, first event of the value) for the mapping being read, up to its end event."""
    for key_event in events:
        if isinstance(key_event, yaml.MappingEndEvent):
            if closing is not None:
                closing.append(key_event)
            return
        key = _scalar(events, key_event)
        yield key, next(events)


_Found = list[tuple[str, str, tuple[int, int, int] | None]]


def _skim_object(
    events: Iterator[yaml.Event],
    head: _Head,
    *,
    stop_early: bool,
    closing: list[yaml.Event] | None = None,
) -> _Found | None:
    """Read a mapping's `kind`, `spec.group`, `spec.names.kind` and `items` (for a List).

    Returns None when `stop_early` and the head is complete, without reading the (large) rest.
    """
    items: _Found = []
    for key, value in _entries(events, closing):
        if key == "kind":
            head.kind = _scalar(events, value)
        elif key == "spec" and isinstance(value, yaml.MappingStartEvent):
            for spec_key, spec_value in _entries(events):
                if spec_key == "group":
                    head.group = _scalar(events, spec_value)
                elif spec_key == "names" and isinstance(spec_value, yaml.MappingStartEvent):
                    for names_key, names_value in _entries(events):
                        if names_key == "kind":
                            head.names_kind = _scalar(events, names_value)
                        else:
                            _skip(events, names_value)
                else:
                    _skip(events, spec_value)
                if stop_early and head.crd() is not None:
                    return None
        elif key == "items" and isinstance(value, yaml.SequenceStartEvent):
            items = _skim_items(events)
        else:
            _skip(events, value)
        if stop_early and head.crd() is not None:
            return None
    return items


def _skim_items(events: Iterator[yaml.Event]) -> _Found:
    found: _Found = []
    for event in events:
        if isinstance(event, yaml.SequenceEndEvent):
            return found
        if not isinstance(event, yaml.MappingStartEvent):
            _skip(events, event)
            continue
        head = _Head()
        closing: list[yaml.Event] = []
        _skim_object(events, head, stop_early=False, closing=closing)
        crd = head.crd()
        if crd is None:
            continue
        start, end = event.start_mark, closing[0].end_mark if closing else None
        span = None if start is None or end is None else (start.index, end.index, start.column)
        found.append((*crd, span))
    raise yaml.YAMLError("unexpected end of the YAML stream")


def _skim_document(text: str) -> _Found:
    """The CRDs in one YAML document, read from the parser's events only as far as needed."""
    events = iter(yaml.parse(text, Loader=_LOADER))
    for event in events:
        if isinstance(event, yaml.MappingStartEvent):
            head = _Head()
            items = _skim_object(events, head, stop_early=True)
            crd = head.crd()
            if crd is not None:
                return [(*crd, None)]
            if head.kind is not None and head.kind.endswith("List") and items:
                return items
            return []
        if isinstance(event, yaml.ScalarEvent | yaml.SequenceStartEvent | yaml.AliasEvent):
            return []
    return []


def _yaml_error(where: str, exc: yaml.YAMLError) -> CatalogError:
    return CatalogError(f"{where}: not valid YAML: {' '.join(str(exc).split())}")


def _index_file(path: Path) -> list[_CrdSource]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path}: cannot read CRD file: {exc}") from exc
    if _CRD_KIND not in text:
        return []
    starts = _document_starts(text)
    sources: list[_CrdSource] = []
    line = 1
    previous = 0
    for start, end in zip(starts, [*starts[1:], len(text)], strict=True):
        line += text.count("\n", previous, start)
        previous = start
        document = text[start:end]
        if _CRD_KIND not in document:
            continue
        try:
            heads = _skim_document(document)
        except yaml.YAMLError as exc:
            raise _yaml_error(f"{path}:{line}", exc) from exc
        sources.extend(
            _CrdSource(path, line, document, group, kind, item) for group, kind, item in heads
        )
    return sources


def _crd_identity(doc: Any) -> tuple[str, str] | None:
    if not isinstance(doc, Mapping) or doc.get("kind") != _CRD_KIND:
        return None
    spec = doc.get("spec")
    if not isinstance(spec, Mapping):
        return None
    names = spec.get("names")
    kind = names.get("kind") if isinstance(names, Mapping) else None
    group = spec.get("group")
    return (group, kind) if isinstance(group, str) and isinstance(kind, str) else None


def _load_crd(source: _CrdSource) -> Mapping[str, Any]:
    wanted = (source.group, source.kind)
    if source.item is not None:
        start, end, column = source.item
        try:
            doc = yaml.load(" " * column + source.document[start:end], Loader=_LOADER)
        except yaml.YAMLError:
            doc = None
        if _crd_identity(doc) == wanted:
            return doc  # type: ignore[no-any-return]
    try:
        doc = yaml.load(source.document, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise _yaml_error(source.where, exc) from exc
    candidates = doc.get("items", []) if isinstance(doc, Mapping) and source.item else [doc]
    for candidate in candidates:
        if _crd_identity(candidate) == wanted:
            return candidate  # type: ignore[no-any-return]
    raise CatalogError(f"{source.where}: lost track of the CRD for {source.group} {source.kind}")


# --- Compiled-code cache ------------------------------------------------------------------------


def _default_cache_dir() -> Path | None:
    base = os.environ.get("XDG_CACHE_HOME")
    if base:
        return Path(base) / "modelops"
    try:
        return Path.home() / ".cache" / "modelops"
    except RuntimeError:
        return None


class _CodeCache:
    """Generated validator code (marshalled), keyed by everything that determines it."""

    def __init__(self, directory: Path | None) -> None:
        self._directory = directory

    @staticmethod
    def key(canonical_schema: str) -> str:
        digest = hashlib.sha256()
        for part in (
            _CACHE_FORMAT,
            fastjsonschema.VERSION,
            sys.implementation.cache_tag or sys.version,
            _COMPILE_OPTIONS,
        ):
            digest.update(part.encode() + b"\0")
        digest.update(canonical_schema.encode())
        return digest.hexdigest()

    def _file(self, key: str) -> Path | None:
        return None if self._directory is None else self._directory / f"fjs-{key}.marshal"

    def load(self, key: str) -> Any:
        path = self._file(key)
        if path is None:
            return None
        try:
            return marshal.loads(path.read_bytes())
        except (OSError, ValueError, EOFError, TypeError):
            return None

    def store(self, key: str, code: Any) -> None:
        path = self._file(key)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            partial.write_bytes(marshal.dumps(code))
            os.replace(partial, path)
        except OSError:
            return


_REF_NAME_ARGUMENT: Final = re.compile(
    r', custom_formats, \(name_prefix or "data"\) \+ "(?:[^"\\\n]|\\.)*"'
    r"(?:\.format\(\*\*locals\(\)\))?\)$",
    re.MULTILINE,
)
"""The path argument of calls between generated functions. It only feeds error messages, which
come from jsonschema here, and inside loops it is built with `.format(**locals())`, a large share
of the time spent on every valid object; it is replaced by None."""


def _function_from_code(code: Any) -> Callable[[Any], Any]:
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    function: Callable[[Any], Any] = namespace["validate"]
    return function


# --- Validators ---------------------------------------------------------------------------------


class _Checker(Protocol):
    def problems(self, obj: Mapping[str, Any]) -> list[SchemaProblem]: ...


class _Fixed:
    """The answer for an apiVersion/kind that has no usable schema."""

    def __init__(self, message: str) -> None:
        self._problem = SchemaProblem("", message)
        self.engine = "none"

    def problems(self, obj: Mapping[str, Any]) -> list[SchemaProblem]:
        return [self._problem]


class _KindValidator:
    """Checks objects of one apiVersion/kind: compiled fastjsonschema first, jsonschema to explain.

    Compiling costs ~1.5 us per byte of prepared schema (5 ms for a Model, 55 ms for a Job,
    once per schema thanks to the disk cache); jsonschema costs 0.1-0.7 ms per object. So a
    kind starts on jsonschema and is compiled once the time spent on it reaches a quarter of
    the estimated compile time: a kind seen a few times is never compiled, a frequent one is
    compiled after a handful of objects. Code already in the disk cache is used at once.
    jsonschema has the last word: should it accept an object the compiled code rejected, the
    object is valid and `disagreements` counts the case (the tests keep it at zero).
    """

    def __init__(
        self, label: str, schema: dict[str, Any], *, draft: str, cache: _CodeCache
    ) -> None:
        self.label = label
        self.schema = schema
        self.engine = "jsonschema"
        self.disagreements = 0
        self._draft = draft
        self._cache = cache
        self._canonical = json.dumps(
            {"$schema": _DRAFT7, **schema}, sort_keys=True, separators=(",", ":")
        )
        self._key = cache.key(self._canonical)
        self._compile_budget = (
            len(self._canonical) * _COMPILE_SECONDS_PER_SCHEMA_BYTE * _SLOW_SHARE_BEFORE_COMPILE
        )
        self._slow_seconds = 0.0
        self._slow: Any = None
        self._fast: Callable[[Any], Any] | None = None
        code = cache.load(self._key)
        if code is not None:
            try:
                self._fast = _function_from_code(code)
                self.engine = "fastjsonschema (cached code)"
            except Exception:
                self._fast = None

    def problems(self, obj: Mapping[str, Any]) -> list[SchemaProblem]:
        fast = self._fast
        if fast is not None:
            try:
                fast(obj)
            except Exception:
                found = self.slow_problems(obj)
                if not found:
                    self.disagreements += 1
                return found
            return []
        started = time.perf_counter()
        found = self.slow_problems(obj)
        self._slow_seconds += time.perf_counter() - started
        if self._slow_seconds >= self._compile_budget and self.engine == "jsonschema":
            self.compile_fast()
        return found

    def compile_fast(self) -> bool:
        """Compile (or fetch) the fast validator now; False if fastjsonschema cannot do it."""
        if self._fast is not None:
            return True
        try:
            source = fastjsonschema.compile_to_code(
                json.loads(self._canonical),
                use_default=False,
                use_formats=False,
                detailed_exceptions=False,
            )
            source = _REF_NAME_ARGUMENT.sub(", custom_formats, None)", source)
            code = compile(source, f"<modelops schema {self.label}>", "exec")
            function = _function_from_code(code)
        except Exception as exc:
            reason = " ".join(str(exc).split())[:160]
            self.engine = f"jsonschema (fastjsonschema failed: {type(exc).__name__}: {reason})"
            return False
        self._fast = function
        self.engine = "fastjsonschema"
        self._cache.store(self._key, code)
        return True

    def fast_accepts(self, obj: Mapping[str, Any]) -> bool:
        if not self.compile_fast() or self._fast is None:
            raise RuntimeError(f"{self.label}: no compiled validator: {self.engine}")
        try:
            self._fast(obj)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    def slow_problems(self, obj: Mapping[str, Any]) -> list[SchemaProblem]:
        validator = self._slow
        if validator is None:
            validator = self._slow = _jsonschema_validator(self.schema, self._draft)
        return _problems(validator.iter_errors(obj))


def _jsonschema_validator(schema: dict[str, Any], draft: str) -> Any:
    import jsonschema

    if draft == "2020-12":
        return jsonschema.Draft202012Validator(schema)
    return jsonschema.Draft7Validator(schema)


# --- Messages -----------------------------------------------------------------------------------

_PLAIN_KEY: Final = re.compile(r"[A-Za-z_$][A-Za-z0-9_$-]*\Z")


def _format_path(parts: Sequence[Any]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(str(part)):
            out += f".{part}" if out else str(part)
        else:
            out += f"[{json.dumps(str(part))}]"
    return out


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _quote(text: str) -> str:
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in _shorten(text, 80))
    return f"'{shown}'"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return str(value)
    return _describe_value(value)


def _describe_value(value: Any) -> str:
    if isinstance(value, bool):
        return f"boolean {_show(value)}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value}"
    if isinstance(value, str):
        return f"string {_quote(value)}"
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    if hasattr(value, "isoformat"):
        return f"timestamp {value.isoformat()} (quote it in YAML to keep it a string)"
    return f"{type(value).__name__} {_shorten(str(value), 40)}"


def _type_names(expected: Any) -> str:
    types = _as_list(expected)
    shown = [t for t in types if t != "null"] or types
    return " or ".join(dict.fromkeys(str(t) for t in shown))


def _message(validator: str, expected: Any, instance: Any, fallback: str) -> str:
    size = len(instance) if isinstance(instance, Mapping | list | str) else 0
    messages: dict[str, Callable[[], str]] = {
        "type": lambda: f"expected {_type_names(expected)}, got {_describe_value(instance)}",
        "enum": lambda: (
            f"{_show(instance)} is not one of "
            f"[{', '.join(_show(v) for v in expected if v is not None)}]"
        ),
        "const": lambda: f"{_show(instance)} is not {_show(expected)}",
        "pattern": lambda: (
            f"{_show(instance)} does not match pattern "
            f"{_quote(_ORIGINAL_PATTERN.get(expected, expected))}"
        ),
        "minimum": lambda: f"{_show(instance)} is less than the minimum of {expected}",
        "maximum": lambda: f"{_show(instance)} is greater than the maximum of {expected}",
        "exclusiveMinimum": lambda: f"{_show(instance)} must be greater than {expected}",
        "exclusiveMaximum": lambda: f"{_show(instance)} must be less than {expected}",
        "multipleOf": lambda: f"{_show(instance)} is not a multiple of {expected}",
        "minLength": lambda: f"{_show(instance)} is shorter than {expected} characters",
        "maxLength": lambda: f"{_show(instance)} is longer than {expected} characters",
        "minItems": lambda: f"has {size} items, fewer than the minimum of {expected}",
        "maxItems": lambda: f"has {size} items, more than the maximum of {expected}",
        "minProperties": lambda: f"has {size} fields, fewer than the minimum of {expected}",
        "maxProperties": lambda: f"has {size} fields, more than the maximum of {expected}",
        "uniqueItems": lambda: "has duplicate items",
        "not": lambda: "matches a schema it must not match",
    }
    build = messages.get(validator)
    return build() if build is not None else _shorten(fallback, 160)


def _describe(error: Any) -> Iterator[SchemaProblem]:
    path = list(error.absolute_path)
    where = _format_path(path)
    validator, expected, instance = error.validator, error.validator_value, error.instance
    if validator == "additionalProperties" and expected is False and isinstance(instance, Mapping):
        known = error.schema.get("properties", {})
        patterns = list(error.schema.get("patternProperties", {}))
        for key in instance:
            if key not in known and not any(re.search(p, str(key)) for p in patterns):
                yield SchemaProblem(_format_path([*path, key]), f"unknown field {_quote(str(key))}")
        return
    if validator == "required" and isinstance(instance, Mapping):
        for name in expected:
            if name not in instance:
                yield SchemaProblem(where, f"missing required field {_quote(str(name))}")
        return
    if validator in ("anyOf", "oneOf"):
        yield from _describe_alternatives(error, where)
        return
    yield SchemaProblem(where, _message(str(validator), expected, instance, str(error.message)))


def _describe_alternatives(error: Any, where: str) -> Iterator[SchemaProblem]:
    options = error.validator_value
    instance = error.instance
    if not error.context:
        yield SchemaProblem(
            where, f"{_describe_value(instance)} matches more than one {error.validator} choice"
        )
        return
    if all(isinstance(option, Mapping) and set(option) == {"type"} for option in options):
        types = [t for o in options for t in _as_list(o["type"])]
        got = _describe_value(instance)
        yield SchemaProblem(where, f"expected {_type_names(types)}, got {got}")
        return
    from jsonschema.exceptions import best_match

    for problem in _describe(best_match(error.context)):
        yield SchemaProblem(
            problem.path, f"{problem.message} (no {error.validator} choice matches)"
        )


def _problems(errors: Iterator[Any]) -> list[SchemaProblem]:
    found = dict.fromkeys(problem for error in errors for problem in _describe(error))
    return sorted(found, key=lambda problem: (problem.path, problem.message))


# --- Catalog ------------------------------------------------------------------------------------


_GROUP: Final = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?\Z|\Z")
_VERSION: Final = re.compile(r"[a-z0-9]+\Z")
_KIND: Final = re.compile(r"[A-Za-z][A-Za-z0-9]*\Z")


class SchemaCatalog:
    """Loads CRDs from a directory once; hands out validators per (apiVersion, kind)."""

    def __init__(
        self, crd_dir: Path, crds: Mapping[tuple[str, str], _CrdSource], cache: _CodeCache
    ) -> None:
        self._crd_dir = crd_dir
        self._crds = dict(crds)
        self._cache = cache
        self._checkers: dict[tuple[str, str], _Checker] = {}

    @classmethod
    def from_crd_dir(cls, crd_dir: Path, *, cache_dir: Path | None = None) -> SchemaCatalog:
        """Index every CRD under `crd_dir` (`*.yaml`/`*.yml`, recursively, multi-document and
        `kind: List` files included). Compiled validators are cached in `cache_dir`, by default
        `$XDG_CACHE_HOME/modelops` or `~/.cache/modelops`.
        """
        if not crd_dir.is_dir():
            raise CatalogError(f"CRD directory {crd_dir} does not exist or is not a directory")
        files = sorted(
            path
            for path in crd_dir.rglob("*")
            if path.suffix in (".yaml", ".yml")
            and not any(part.startswith(".") for part in path.relative_to(crd_dir).parts)
            and path.is_file()
        )
        crds: dict[tuple[str, str], _CrdSource] = {}
        for path in files:
            for source in _index_file(path):
                key = (source.group, source.kind)
                if key in crds:
                    raise CatalogError(
                        f"{source.group} {source.kind} is defined twice: "
                        f"{crds[key].where} and {source.where}; keep one"
                    )
                crds[key] = source
        if not crds:
            raise CatalogError(
                f"no CustomResourceDefinition found in {crd_dir} "
                f"({len(files)} *.yaml/*.yml files looked at)"
            )
        return cls(crd_dir, crds, _CodeCache(cache_dir or _default_cache_dir()))

    def problems(self, obj: Mapping[str, Any]) -> list[SchemaProblem]:
        """Everything wrong with `obj` against its schema; [] when it is valid."""
        if not isinstance(obj, Mapping):
            return [SchemaProblem("", f"expected an object, got {_describe_value(obj)}")]
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str) or not api_version:
            return [_identity_problem(api_version, kind)]
        checker = self._checkers.get((api_version, kind))
        if checker is None:
            checker = self._checkers[(api_version, kind)] = self._checker(api_version, kind)
        return checker.problems(obj)

    def _kind_validator(self, api_version: str, kind: str) -> _Checker:
        if (api_version, kind) not in self._checkers:
            self._checkers[(api_version, kind)] = self._checker(api_version, kind)
        return self._checkers[(api_version, kind)]

    def _checker(self, api_version: str, kind: str) -> _Checker:
        group, _, version = api_version.rpartition("/")
        label = f"{api_version} {kind}"
        if not (_GROUP.match(group) and _VERSION.match(version) and _KIND.match(kind)):
            return _Fixed(f"{label}: not a valid apiVersion/kind")
        if "." not in group or group.endswith(".k8s.io"):
            core = _core_library()
            schema = core.kind_schema(group, version, kind)
            if schema is not None:
                document = _core_document(label, schema, core.definitions)
                return _KindValidator(label, document, draft="2020-12", cache=self._cache)
            if "." not in group:
                return _Fixed(
                    f"{label}: no schema: not a built-in kind of Kubernetes {KUBERNETES_VERSION}"
                )
        source = self._crds.get((group, kind))
        if source is None:
            return _Fixed(f"{label}: no schema: no CRD for {group} {kind} in {self._crd_dir}")
        return self._crd_checker(label, version, source)

    def _crd_checker(self, label: str, version: str, source: _CrdSource) -> _Checker:
        crd = _load_crd(source)
        spec = crd.get("spec", {})
        versions = spec.get("versions") or (
            [{"name": spec["version"], "served": True}] if spec.get("version") else []
        )
        served = [str(v.get("name")) for v in versions if v.get("served", True)]
        entry = next((v for v in versions if v.get("name") == version), None)
        if entry is None or not entry.get("served", True):
            return _Fixed(
                f"{label}: version not served by the CRD; served: {', '.join(served) or 'none'}"
            )
        schema = (entry.get("schema") or {}).get("openAPIV3Schema") or (
            spec.get("validation") or {}
        ).get("openAPIV3Schema")
        if not isinstance(schema, Mapping):
            return _Fixed(f"{label}: the CRD at {source.where} has no schema for {version}")
        document = _crd_document(label, schema, _core_library().definitions)
        return _KindValidator(label, document, draft="7", cache=self._cache)


def _identity_problem(api_version: Any, kind: Any) -> SchemaProblem:
    wrong = [
        f"missing required field '{name}'"
        if value is None
        else f"'{name}' must be a non-empty string"
        for name, value in (("apiVersion", api_version), ("kind", kind))
        if not isinstance(value, str) or not value
    ]
    return SchemaProblem("", "; ".join(wrong))
