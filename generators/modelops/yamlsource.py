"""Reading spec files: one YAML document, plain data, and a way back to line and column.

Specs are small and written by people, so the loader is strict where PyYAML is lenient:
duplicate keys are errors (PyYAML keeps the last one silently), anchors and aliases are
refused (they buy nothing in a 30-line spec and make alias bombs possible), and only the plain
JSON types come out (no timestamps, sets or binary). The C parser composes the node tree; we
construct from it and keep the root node so that any error, found at any later stage, can be
pointed at the exact line and column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from modelops.errors import InputError

MAX_SPEC_BYTES = 256 * 1024
# Specs nest about six levels deep. Deeper input is refused before composing: PyYAML's
# composer recurses once per level, in C for the C loader, and 60,000 levels crash it.
MAX_DEPTH = 64
# Manifests given on the command line may nest deeper than specs (a CRD's own schema does).
MAX_MANIFEST_DEPTH = 256
_CLoader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR = "tag:yaml.org,2002:str"
_SCALAR_TAGS = {
    "tag:yaml.org,2002:null", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float", _STR,
}
_constructor = yaml.SafeLoader("")


@dataclass(frozen=True)
class SourceDocument:
    """A parsed YAML file: its data and the node tree the data came from."""

    path: Path
    display: str
    data: Any
    root: yaml.Node

    def locate(self, loc: Sequence[str | int]) -> tuple[int, int]:
        """1-based line and column of the value at `loc`, or of its nearest present parent.

        For a key that does not exist (a missing field), this is the mapping it belongs in.
        """
        node = self.root
        for part in loc:
            child = _child(node, part)
            if child is None:
                break
            node = child
        return node.start_mark.line + 1, node.start_mark.column + 1

    def locate_key(self, loc: Sequence[str | int]) -> tuple[int, int]:
        """Like `locate`, but points at the key itself (for unknown-field errors)."""
        if not loc:
            return self.locate(loc)
        parent = self.root
        for part in loc[:-1]:
            child = _child(parent, part)
            if child is None:
                return self.locate(loc[:-1])
            parent = child
        if isinstance(parent, yaml.MappingNode):
            for key, _ in parent.value:
                if key.value == loc[-1]:
                    return key.start_mark.line + 1, key.start_mark.column + 1
        return self.locate(loc)


def _child(node: yaml.Node, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == part:
                return value  # type: ignore[no-any-return]
    elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
            and 0 <= part < len(node.value):
        return node.value[part]  # type: ignore[no-any-return]
    return None


def load_yaml(path: Path, display: str | None = None) -> SourceDocument:
    """Read one YAML document from `path` or raise a located `InputError`."""
    shown = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError.at(shown, f"cannot read file: {exc.strerror}") from None
    return parse_yaml(raw, shown, path)


def parse_yaml(raw: bytes, display: str, path: Path | None = None,
               limit: int | None = MAX_SPEC_BYTES) -> SourceDocument:
    if limit is not None and len(raw) > limit:
        raise InputError.at(display, f"file is {len(raw)} bytes; a spec may be at most "
                            f"{limit} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError.at(display, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
                            line=line, col=col) from None
    check_depth(text, display)
    try:
        nodes = list(yaml.compose_all(text, Loader=_CLoader))
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        code = ord(exc.character) if isinstance(exc.character, str) else int(exc.character)
        raise InputError.at(display, f"character U+{code:04X} is not allowed in YAML",
                            line=line, col=col) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = exc.problem or exc.context or "invalid YAML"
        raise InputError.at(display, f"YAML syntax error: {reason}", line=line, col=col) from None
    except yaml.YAMLError as exc:
        raise InputError.at(display, f"YAML error: {exc}") from None
    if not nodes or nodes[0] is None:
        raise InputError.at(display, "file is empty; expected one YAML document")
    if len(nodes) > 1:
        mark = nodes[1].start_mark
        raise InputError.at(display, "expected exactly one YAML document, found "
                            f"{len(nodes)}", line=mark.line + 1, col=mark.column + 1)
    root = nodes[0]
    data = _Builder(display).build(root)
    return SourceDocument(path or Path(display), display, data, root)


def check_depth(text: str, display: str, limit: int = MAX_DEPTH) -> None:
    """Refuse input nested deeper than `limit`, using the C parser's flat event stream."""
    bound = text.count("[") + text.count("{") + max(map(len, text.splitlines()), default=0)
    if bound <= limit:
        return  # cheap proof: flow brackets plus the longest line bound the depth
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_CLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > limit:
                    mark = event.start_mark
                    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
                    raise InputError.at(display, f"nested more than {limit} levels deep",
                                        line=line, col=col)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return  # composing reports syntax errors with their location


class _Builder:
    """Turns a node tree into dicts, lists and scalars, refusing what specs must not use."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.seen: set[int] = set()

    def fail(self, node: yaml.Node, path: str, message: str) -> InputError:
        mark = node.start_mark
        return InputError.at(self.display, message, line=mark.line + 1, col=mark.column + 1,
                             field=path)

    def build(self, node: yaml.Node, path: str = "") -> Any:
        if id(node) in self.seen:
            raise self.fail(node, path, "YAML anchors and aliases are not allowed in specs")
        self.seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, f"{path}[{i}]") for i, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _mapping(self, node: yaml.MappingNode, path: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise self.fail(key_node, path, "YAML merge keys (<<) are not allowed in specs")
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, path, "mapping keys must be plain strings")
            key = key_node.value
            child = f"{path}.{key}" if path else key
            if key in result:
                raise self.fail(key_node, child, f"duplicate key {key!r}")
            result[key] = self.build(value_node, child)
        return result

    def _scalar(self, node: yaml.Node, path: str) -> Any:
        if node.tag not in _SCALAR_TAGS:
            raise self.fail(node, path, f"unsupported YAML type {node.tag!r}; quote the "
                            "value to make it a string")
        if node.tag == _STR:
            return node.value
        try:
            return _constructor.construct_object(node, deep=True)
        except Exception as exc:  # PyYAML raises KeyError, IndexError... on e.g. `!!int ''`
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            shown = node.value if len(node.value) <= 40 else node.value[:37] + "..."
            raise self.fail(node, path, f"invalid {node.tag.rsplit(':', 1)[-1]} value "
                            f"{shown!r}: {reason}") from None
