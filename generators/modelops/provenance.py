"""Where a rendered value came from: the spec, an environment setting, or a platform rule.

Every value a user might ask about is wrapped in `Sourced` by the modules that decide it, so
`modelops explain` can say where each rendered field came from, and `render` unwraps them.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

from modelops.organization import ORGANIZATION_FILE

Source = Literal["spec", "environment", "organization", "derived", "platform"]


class Sourced(NamedTuple):
    """A rendered value and where it came from (a tuple: thousands are made per render)."""

    value: Any
    source: Source
    origin: str


def from_spec(value: Any, path: str) -> Sourced:
    return Sourced(value, "spec", path)


def from_env(value: Any, path: str) -> Sourced:
    return Sourced(value, "environment", f"environment.yaml {path}")


def from_organization(value: Any, path: str) -> Sourced:
    return Sourced(value, "organization", f"{ORGANIZATION_FILE} {path}")


def derived(value: Any, how: str) -> Sourced:
    return Sourced(value, "derived", how)


def platform(value: Any, why: str) -> Sourced:
    return Sourced(value, "platform", why)
