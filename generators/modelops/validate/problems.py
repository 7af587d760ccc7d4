"""What strict validation hands back, shared by every part of it.

`SchemaProblem` is one reason an object does not match its schema; `CatalogError` says the
schema sources themselves cannot be used.
"""

from __future__ import annotations

from dataclasses import dataclass


class CatalogError(Exception):
    """The schema sources cannot be used: missing CRD directory, unreadable or broken CRD file."""


class CrdDirectoryError(CatalogError):
    """The CRD directory itself is unusable: it does not exist, or holds no CRD at all."""


@dataclass(frozen=True)
class SchemaProblem:
    """One reason an object does not match its schema."""

    path: str
    message: str
