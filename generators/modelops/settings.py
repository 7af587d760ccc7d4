"""One environment's settings as loaded: a module of its own so that the checks across
environments (clashes, promotion sources) and the repository loader can all name the type
without importing each other."""

from __future__ import annotations

from dataclasses import dataclass

from modelops.spec import Environment
from modelops.yamlsource import SourceDocument


@dataclass(frozen=True)
class EnvironmentSettings:
    """One environment's `environment.yaml`, without its models."""

    name: str
    doc: SourceDocument
    spec: Environment
