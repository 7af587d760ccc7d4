"""Finding the CRDs in a directory without parsing their (large) bodies.

A CRD directory is often one `kubectl get crd -o yaml` export of several megabytes, of which a
run needs a handful of kinds. Each file is split into documents and each document skimmed from
the parser's events only as far as `kind`, `spec.group` and `spec.names.kind` (and the items of
a `kind: List`); a CRD's body is parsed only when an object of its kind shows up.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from modelops.validate.problems import CatalogError

_CRD_KIND: Final = "CustomResourceDefinition"
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
class CrdSource:
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


def index_file(path: Path) -> list[CrdSource]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path}: cannot read CRD file: {exc}") from exc
    if _CRD_KIND not in text:
        return []
    starts = _document_starts(text)
    sources: list[CrdSource] = []
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
            CrdSource(path, line, document, group, kind, item) for group, kind, item in heads
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


def load_crd(source: CrdSource) -> Mapping[str, Any]:
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
