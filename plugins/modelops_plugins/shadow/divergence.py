"""Output distributions of two models and the Jensen-Shannon divergence between them.

Class labels are compared as frequencies; scores as histograms over shared bins (equal width
over the range both models produced), so both distributions live on the same support. The
divergence uses log base 2: 0 for identical distributions, 1 for disjoint ones, symmetric and
always finite (unlike KL), which is why a fixed review threshold (0.1, DESIGN.md) makes sense.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from modelops_plugins.shadow import DEFAULT_BINS

Kind = Literal["classes", "scores"]


@dataclass(frozen=True)
class Comparison:
    kind: Kind
    labels: list[str]
    current: list[float]
    previous: list[float]
    divergence: float
    count_current: int
    count_previous: int


def jensen_shannon(p: npt.NDArray[np.float64], q: npt.NDArray[np.float64]) -> float:
    """JS divergence (base 2) of two probability vectors on the same support."""
    if p.shape != q.shape or p.ndim != 1 or len(p) == 0:
        raise ValueError("two non-empty probability vectors of the same length are needed")
    p = p / p.sum()
    q = q / q.sum()
    m = (p + q) / 2

    def kl(a: npt.NDArray[np.float64]) -> float:
        mask = a > 0
        return float(np.sum(a[mask] * np.log2(a[mask] / m[mask])))

    return min(1.0, max(0.0, (kl(p) + kl(q)) / 2))


def _label_key(label: Any) -> tuple[int, float, str]:
    if isinstance(label, bool) or not isinstance(label, int | float):
        return (1, 0.0, str(label))
    return (0, float(label), "")


def class_frequencies(current: list[Any], previous: list[Any]) -> Comparison:
    labels = sorted(set(current) | set(previous), key=_label_key)
    index = {label: i for i, label in enumerate(labels)}
    counts = np.zeros((2, len(labels)))
    for row, values in enumerate((current, previous)):
        for value in values:
            counts[row, index[value]] += 1
    p, q = counts[0] / len(current), counts[1] / len(previous)
    return Comparison("classes", [str(label) for label in labels], p.tolist(), q.tolist(),
                      jensen_shannon(p, q), len(current), len(previous))


def binned_scores(current: list[float], previous: list[float], bins: int) -> Comparison:
    a = np.asarray(current, dtype=np.float64)
    b = np.asarray(previous, dtype=np.float64)
    both = np.concatenate([a, b])
    low, high = float(both.min()), float(both.max())
    edges = (np.array([low, high]) if low == high
             else np.linspace(low, high, bins + 1))
    p = np.histogram(a, bins=edges)[0] / len(a)
    q = np.histogram(b, bins=edges)[0] / len(b)
    labels = [f"[{edges[i]:.4g}, {edges[i + 1]:.4g}{']' if i == len(edges) - 2 else ')'}"
              for i in range(len(edges) - 1)]
    return Comparison("scores", labels, p.tolist(), q.tolist(), jensen_shannon(p, q),
                      len(a), len(b))


def compare(current: list[Any], previous: list[Any], kind: Kind,
            bins: int = DEFAULT_BINS) -> Comparison:
    if not current or not previous:
        raise ValueError("both models must have produced at least one value")
    if kind == "classes":
        return class_frequencies(current, previous)
    return binned_scores(current, previous, bins)


def format_comparison(output: str, comparison: Comparison, threshold: float) -> str:
    width = max(len("bin" if comparison.kind == "scores" else "class"),
                *(len(label) for label in comparison.labels))
    head = "bin" if comparison.kind == "scores" else "class"
    lines = [f"shadow: output {output!r} as {comparison.kind}, "
             f"{comparison.count_current} current vs {comparison.count_previous} previous "
             "value(s)",
             f"  {head:<{width}}  current  previous"]
    for label, p, q in zip(comparison.labels, comparison.current, comparison.previous,
                           strict=True):
        lines.append(f"  {label:<{width}}  {p:7.3f}  {q:8.3f}")
    flagged = comparison.divergence > threshold
    verdict = "FLAG: review before promoting" if flagged else "OK"
    lines.append(f"Jensen-Shannon divergence (base 2): {comparison.divergence:.4f}, threshold "
                 f"{threshold:g}: {verdict}")
    return "\n".join(lines) + "\n"
