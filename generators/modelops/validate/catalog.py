"""`SchemaCatalog`: the schema for any apiVersion/kind, from kubernetes-validate or a CRD.

Built-in kinds are checked against the strict schemas bundled with kubernetes-validate; custom
kinds against the CRDs of a directory. A validator is built the first time its kind is seen.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from modelops.validate.code_cache import CodeCache, default_cache_dir
from modelops.validate.core import KUBERNETES_VERSION, core_library
from modelops.validate.crd_index import CrdSource, index_file, load_crd
from modelops.validate.kinds import Checker, Fixed, KindValidator
from modelops.validate.messages import describe_value
from modelops.validate.prepare import core_document, crd_document
from modelops.validate.problems import CatalogError, CrdDirectoryError, SchemaProblem

_GROUP: Final = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?\Z|\Z")
_VERSION: Final = re.compile(r"[a-z0-9]+\Z")
_KIND: Final = re.compile(r"[A-Za-z][A-Za-z0-9]*\Z")


class SchemaCatalog:
    """Loads CRDs from a directory once; hands out validators per (apiVersion, kind)."""

    def __init__(
        self, crd_dir: Path, crds: Mapping[tuple[str, str], CrdSource], cache: CodeCache
    ) -> None:
        self._crd_dir = crd_dir
        self._crds = dict(crds)
        self._cache = cache
        self._checkers: dict[tuple[str, str], Checker] = {}

    @classmethod
    def from_crd_dir(cls, crd_dir: Path, *, cache_dir: Path | None = None) -> SchemaCatalog:
        """Index every CRD under `crd_dir` (`*.yaml`/`*.yml`, recursively, multi-document and
        `kind: List` files included). Compiled validators are cached in `cache_dir`, by default
        `$XDG_CACHE_HOME/modelops` or `~/.cache/modelops`.
        """
        if not crd_dir.is_dir():
            raise CrdDirectoryError(
                f"CRD directory {crd_dir} does not exist or is not a directory"
            )
        files = sorted(
            path
            for path in crd_dir.rglob("*")
            if path.suffix in (".yaml", ".yml")
            and not any(part.startswith(".") for part in path.relative_to(crd_dir).parts)
            and path.is_file()
        )
        crds: dict[tuple[str, str], CrdSource] = {}
        for path in files:
            for source in index_file(path):
                key = (source.group, source.kind)
                if key in crds:
                    raise CatalogError(
                        f"{source.group} {source.kind} is defined twice: "
                        f"{crds[key].where} and {source.where}; keep one"
                    )
                crds[key] = source
        if not crds:
            raise CrdDirectoryError(
                f"no CustomResourceDefinition found in {crd_dir} "
                f"({len(files)} *.yaml/*.yml files looked at)"
            )
        return cls(crd_dir, crds, CodeCache(cache_dir or default_cache_dir()))

    def problems(self, obj: Mapping[str, Any]) -> list[SchemaProblem]:
        """Everything wrong with `obj` against its schema; [] when it is valid."""
        if not isinstance(obj, Mapping):
            return [SchemaProblem("", f"expected an object, got {describe_value(obj)}")]
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str) or not api_version:
            return [_identity_problem(api_version, kind)]
        checker = self._checkers.get((api_version, kind))
        if checker is None:
            checker = self._checkers[(api_version, kind)] = self._checker(api_version, kind)
        return checker.problems(obj)

    def _kind_validator(self, api_version: str, kind: str) -> Checker:
        if (api_version, kind) not in self._checkers:
            self._checkers[(api_version, kind)] = self._checker(api_version, kind)
        return self._checkers[(api_version, kind)]

    def _checker(self, api_version: str, kind: str) -> Checker:
        group, _, version = api_version.rpartition("/")
        label = f"{api_version} {kind}"
        if not (_GROUP.match(group) and _VERSION.match(version) and _KIND.match(kind)):
            return Fixed(f"{label}: not a valid apiVersion/kind")
        if "." not in group or group.endswith(".k8s.io"):
            core = core_library()
            schema = core.kind_schema(group, version, kind)
            if schema is not None:
                document = core_document(label, schema, core.definitions)
                return KindValidator(label, document, draft="2020-12", cache=self._cache)
            if "." not in group:
                return Fixed(
                    f"{label}: no schema: not a built-in kind of Kubernetes {KUBERNETES_VERSION}"
                )
        source = self._crds.get((group, kind))
        if source is None:
            return Fixed(f"{label}: no schema: no CRD for {group} {kind} in {self._crd_dir}")
        return self._crd_checker(label, version, source)

    def _crd_checker(self, label: str, version: str, source: CrdSource) -> Checker:
        crd = load_crd(source)
        spec = crd.get("spec", {})
        versions = spec.get("versions") or (
            [{"name": spec["version"], "served": True}] if spec.get("version") else []
        )
        served = [str(v.get("name")) for v in versions if v.get("served", True)]
        entry = next((v for v in versions if v.get("name") == version), None)
        if entry is None or not entry.get("served", True):
            return Fixed(
                f"{label}: version not served by the CRD; served: {', '.join(served) or 'none'}"
            )
        schema = (entry.get("schema") or {}).get("openAPIV3Schema") or (
            spec.get("validation") or {}
        ).get("openAPIV3Schema")
        if not isinstance(schema, Mapping):
            return Fixed(f"{label}: the CRD at {source.where} has no schema for {version}")
        document = crd_document(label, schema, core_library().definitions)
        return KindValidator(label, document, draft="7", cache=self._cache)


def _identity_problem(api_version: Any, kind: Any) -> SchemaProblem:
    wrong = [
        f"missing required field '{name}'"
        if value is None
        else f"'{name}' must be a non-empty string"
        for name, value in (("apiVersion", api_version), ("kind", kind))
        if not isinstance(value, str) or not value
    ]
    return SchemaProblem("", "; ".join(wrong))
