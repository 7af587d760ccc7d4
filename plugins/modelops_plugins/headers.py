"""`--header KEY=VALUE` options turned into request headers, shared by `smoke` and `shadow`.

Both verbs call a V2 endpoint, often through Seldon's mesh, which routes on headers such as
`seldon-model`; the option is spelt and checked the same way in both.
"""

from __future__ import annotations

from modelops.errors import UsageError


def parse_headers(values: list[str]) -> dict[str, str]:
    """`["k=v", ...]` -> {"k": "v"}; UsageError (exit 2) for an item without `=` or a key."""
    headers: dict[str, str] = {}
    for value in values:
        key, sep, content = value.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--header {value!r}: expected KEY=VALUE")
        headers[key.strip()] = content
    return headers
