"""Metric names in a PromQL expression, without a PromQL parser.

Good enough for the expressions modelops generates: string literals, label matchers, ranges
and grouping clauses are removed, and what is left that is not a function or keyword is a
metric name. Anything unexpected shows up as an unknown "metric", so a test using this fails
loudly instead of silently passing.
"""

from __future__ import annotations

import re

KEYWORDS = frozenset({
    "sum", "min", "max", "avg", "count", "stddev", "topk", "bottomk", "quantile",
    "rate", "irate", "increase", "delta", "histogram_quantile", "label_replace",
    "clamp_min", "clamp_max", "abs", "vector", "scalar", "and", "or", "unless", "bool",
    "offset", "inf", "nan",
})
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_NUMBER = re.compile(r"\b\d+(\.\d+)?(e[+-]?\d+)?\b", re.I)
_NAME = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def metric_names(expr: str) -> set[str]:
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub("", text)
    text = _RANGE.sub("", text)
    text = _GROUPING.sub("", text)
    text = _NUMBER.sub("", text)
    return {name for name in _NAME.findall(text) if name.lower() not in KEYWORDS}
