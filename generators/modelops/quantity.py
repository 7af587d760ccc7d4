"""Kubernetes resource quantities, parsed the way the API server parses them.

`2Gi`, `1536Mi`, `1.5G`, `500M`, `1e9` are quantities; `2GB`, `2 Gi` and `1.5.0` are not. Values
are kept exact (as `Fraction`) because Seldon converts `Model.spec.memory` with `AsInt64` and
rejects anything that is not a whole number of bytes.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL: dict[str, Fraction] = {
    "n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": Fraction(1),
    "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
    "P": Fraction(10**15), "E": Fraction(10**18)}
_QUANTITY = re.compile(
    r"(?P<sign>[+-]?)(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?:(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE](?P<exp>[+-]?[0-9]+))?"
)
_LOOKALIKES = {"KB": "k or Ki", "MB": "M or Mi", "GB": "G or Gi", "TB": "T or Ti", "KIB": "Ki",
               "MIB": "Mi", "GIB": "Gi", "TIB": "Ti", "K": "k or Ki"}
GIB = 2**30


class QuantityError(ValueError):
    """Raised with a message fit to show the user."""


@lru_cache(maxsize=4096)
def parse_quantity(text: str) -> Fraction:
    """Return the exact value of a Kubernetes quantity string."""
    match = _QUANTITY.fullmatch(text) if len(text) <= 64 else None
    if match is None:
        raise QuantityError(_explain(text))
    value = Fraction(match["number"])
    if match["exp"] is not None:
        exponent = int(match["exp"])
        if abs(exponent) > 30:
            raise QuantityError(f"{text!r}: exponent out of range")
        value *= Fraction(10) ** exponent
    elif match["suffix"] in _BINARY:
        value *= _BINARY[match["suffix"]]
    else:
        value *= _DECIMAL[match["suffix"] or ""]
    return -value if match["sign"] == "-" else value


@lru_cache(maxsize=4096)
def parse_bytes(text: str) -> int:
    """A memory quantity as a positive whole number of bytes, as Seldon requires."""
    value = parse_quantity(text)
    if value <= 0:
        raise QuantityError(f"{text!r}: must be greater than zero")
    if value.denominator != 1:
        raise QuantityError(f"{text!r}: is not a whole number of bytes")
    if value >= 2**63:
        raise QuantityError(f"{text!r}: too large")
    return int(value)


def format_bytes(count: int) -> str:
    """The shortest exact binary-suffixed form: 1610612736 -> '1536Mi'."""
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        unit = _BINARY[suffix]
        if count % unit == 0:
            return f"{count // unit}{suffix}"
    return str(count)


def _explain(text: str) -> str:
    if len(text) > 64:
        return f"{text[:20]!r}...: too long to be a Kubernetes quantity"
    stripped = text.strip()
    tail = re.sub(r"^[+-]?[0-9.]+", "", stripped)
    hint = _LOOKALIKES.get(tail.upper()) if tail else None
    if stripped != text:
        return f"{text!r} is not a Kubernetes quantity (no spaces allowed)"
    if hint:
        return f"{text!r} is not a Kubernetes quantity (use the suffix {hint}, e.g. 2Gi)"
    return f"{text!r} is not a Kubernetes quantity (e.g. 512Mi, 2Gi, 1.5G)"
