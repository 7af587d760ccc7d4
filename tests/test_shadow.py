"""`modelops shadow compare`: the divergence, the distributions, and the offline CLI.

Live comparisons against a real MLServer are in test_serving.py. Here: the Jensen-Shannon
divergence against hand-worked values and scipy's independent implementation, class and
score distributions, and the offline command on recorded V2 responses, including its exit
codes (0 pass, 1 flagged, 2 bad input).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from modelops_plugins.shadow.divergence import binned_scores, class_frequencies, jensen_shannon


def test_divergence_bounds_and_a_hand_worked_value() -> None:
    p = np.array([0.2, 0.3, 0.5])
    assert jensen_shannon(p, p) == 0
    assert jensen_shannon(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == 1
    # m = (0.75, 0.25): (log2(4/3) + 0.5 * log2(2/3) + 0.5 * log2(2)) / 2
    expected = (np.log2(4 / 3) + 0.5 * np.log2(2 / 3) + 0.5) / 2
    assert jensen_shannon(np.array([1.0, 0.0]), np.array([0.5, 0.5])) == pytest.approx(expected)


def test_divergence_agrees_with_scipy() -> None:
    from scipy.spatial.distance import jensenshannon

    rng = np.random.default_rng(3)
    for _ in range(20):
        p, q = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(6))
        ours = jensen_shannon(p, q)
        assert ours == pytest.approx(jensen_shannon(q, p))
        assert ours == pytest.approx(jensenshannon(p, q, base=2) ** 2)


def test_class_frequencies_cover_labels_either_model_produced() -> None:
    result = class_frequencies([0, 0, 1, 1], [1, 1, 2, 2])
    assert result.labels == ["0", "1", "2"]
    assert result.current == [0.5, 0.5, 0.0]
    assert result.previous == [0.0, 0.5, 0.5]
    assert result.divergence == pytest.approx(0.5)


def test_scores_share_bins_over_both_ranges() -> None:
    result = binned_scores([0.0, 0.1, 0.2, 0.3], [0.7, 0.8, 0.9, 1.0], bins=2)
    assert result.labels == ["[0, 0.5)", "[0.5, 1]"]
    assert (result.current, result.previous, result.divergence) == ([1, 0], [0, 1], 1)
    same = binned_scores([0.4] * 3, [0.4] * 5, bins=10)
    assert same.divergence == 0 and same.labels == ["[0.4, 0.4]"]


def responses(labels: list[list[int]], name: str = "predict",
              datatype: str = "INT64") -> list[dict[str, Any]]:
    return [{"model_name": "m", "model_version": "1",
             "outputs": [{"name": "proba", "datatype": "FP64", "shape": [len(batch)],
                          "data": [0.5] * len(batch)},
                         {"name": name, "datatype": datatype, "shape": [len(batch), 1],
                          "data": batch}]}
            for batch in labels]


def write(path: Path, docs: list[dict[str, Any]], lines: bool) -> Path:
    path.write_text("".join(json.dumps(d) + "\n" for d in docs) if lines else json.dumps(docs))
    return path


def test_recorded_identical_outputs_pass(tmp_path: Path, run_main: Any) -> None:
    docs = responses([[0, 1, 2, 1], [1, 1, 0, 2]])
    result = run_main("shadow", "compare", "--recorded",
                      str(write(tmp_path / "a.jsonl", docs, True)),
                      str(write(tmp_path / "b.json", docs, False)), "--output", "predict")
    assert result.rc == 0, result.stderr
    assert "output 'predict' as classes, 8 current vs 8 previous value(s)" in result.stdout
    assert result.stdout.endswith("divergence (base 2): 0.0000, threshold 0.1: OK\n")


def test_recorded_different_outputs_are_flagged(tmp_path: Path, run_main: Any) -> None:
    current = write(tmp_path / "a.jsonl", responses([[0, 0, 0, 1]] * 5), True)
    previous = write(tmp_path / "b.jsonl", responses([[1, 1, 1, 0]] * 5), True)
    result = run_main("shadow", "compare", "--recorded", str(current), str(previous),
                      "--output", "predict")
    assert result.rc == 1
    assert "FLAG: review before promoting" in result.stdout
    lenient = run_main("shadow", "compare", "--recorded", str(current), str(previous),
                       "--output", "predict", "--threshold", "0.9")
    assert lenient.rc == 0, lenient.stdout
    scores = run_main("shadow", "compare", "--recorded", str(current), str(previous))
    assert scores.rc == 0 and "output 'proba' as scores" in scores.stdout


@pytest.mark.parametrize(("current", "previous", "extra", "message"), [
    ('{"outputs": [', None, [], "a.json:1:14: not JSON (nor JSON lines): Expecting value"),
    ('{"model_name": "m"}', None, [], "a.json: not V2 inference responses: response 1: "
                                      "missing 'outputs'"),
    (None, None, ["--output", "nope"], "response 1 has no output 'nope'"),
    (None, "FP32", ["--output", "predict"], "is INT64 for the current model and FP32 for the "
                                            "previous one; choose --as classes or --as scores"),
    (None, None, ["--url", "x:1"], "--recorded compares files; it cannot be combined with "
                                   "--url"),
    (None, None, ["--bins", "0"], "--bins must be at least 1"),
    (None, None, ["--threshold", "2"], "--threshold is a Jensen-Shannon divergence"),
])
def test_bad_input_exits_2(tmp_path: Path, run_main: Any, current: str | None,
                           previous: str | None, extra: list[str], message: str) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    write(a, responses([[0, 1]]), False)
    write(b, responses([[0, 1]], datatype=previous or "INT64"), False)
    if current is not None:
        a.write_text(current)
    result = run_main("shadow", "compare", "--recorded", str(a), str(b), *extra)
    assert result.rc == 2
    assert message in result.stderr


def test_unreadable_files_exit_2_naming_them(tmp_path: Path, run_main: Any) -> None:
    recorded = write(tmp_path / "b.json", responses([[0, 1]]), False)
    missing = tmp_path / "missing.json"
    result = run_main("shadow", "compare", "--recorded", str(missing), str(recorded))
    assert result.rc == 2
    assert f"{missing}: cannot read the response file" in result.stderr
    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes(b'{"model_name": "caf\xe9"}')
    result = run_main("shadow", "compare", "--recorded", str(recorded), str(latin1))
    assert result.rc == 2
    assert f"{latin1}: the response file is not UTF-8 text" in result.stderr
    assert "Traceback" not in result.stderr


def test_live_comparison_needs_its_flags(run_main: Any) -> None:
    result = run_main("shadow", "compare", "--url", "127.0.0.1:1", "--current", "a")
    assert result.rc == 2
    assert "live comparison needs --previous, --inputs (or use --recorded" in result.stderr
