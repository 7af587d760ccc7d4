"""`modelops drift build`: the platform's rules, the artifact it writes, and what renders.

Serving the built detector in a real MLServer is in test_serving.py; here the folder itself:
exactly the files Seldon's agent and MLServer's alibi-detect runtime load, a detector that
alibi-detect loads back and that finds drift, refusals (with nothing written) for windows and
p-values outside the operating brief, and the rendered Model pointing at that folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from conftest import EnvTree, snapshot


def reference(rows: int, features: int = 3, seed: int = 5) -> np.ndarray[Any, Any]:
    return np.random.default_rng(seed).normal(size=(rows, features))


def test_build_writes_the_folder_mlserver_loads(tmp_path: Path, run_main: Any) -> None:
    np.save(tmp_path / "ref.npy", reference(6000))
    out = tmp_path / "artifacts" / "fraud-detector-drift"
    result = run_main("drift", "build", "--reference", str(tmp_path / "ref.npy"),
                      "--out", str(out), "--p-value", "0.005")
    assert result.rc == 0, result.stderr
    assert "KSDrift on 6000×3 reference rows, p-value 0.005" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == ["config.toml", "model-settings.json",
                                                     "x_ref.npy"]
    assert json.loads((out / "model-settings.json").read_text()) == {
        "name": "fraud-detector-drift",
        "implementation": "mlserver_alibi_detect.AlibiDetectRuntime",
        "parameters": {"uri": "./"},
    }
    assert sorted(p.name for p in out.parent.iterdir()) == ["fraud-detector-drift"]

    from alibi_detect.saving import load_detector

    detector = load_detector(str(out))
    assert type(detector).__name__ == "KSDrift"
    assert detector.p_val == 0.005
    np.testing.assert_allclose(detector.x_ref, reference(6000).astype(np.float32))
    rng = np.random.default_rng(9)
    assert detector.predict(rng.normal(size=(200, 3)))["data"]["is_drift"] == 0
    assert detector.predict(rng.normal(loc=0.8, size=(200, 3)))["data"]["is_drift"] == 1


def test_csv_with_a_header_row(tmp_path: Path, run_main: Any) -> None:
    path = tmp_path / "ref.csv"
    np.savetxt(path, reference(5000, 2), delimiter=",", header="amount,age", comments="")
    result = run_main("drift", "build", "--reference", str(path), "--out",
                      str(tmp_path / "d"), "--name", "custom")
    assert result.rc == 0, result.stderr
    assert "5000×2" in result.stdout
    assert json.loads((tmp_path / "d" / "model-settings.json").read_text())["name"] == "custom"


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[str, list[str], str]]:
    np.save(tmp_path / "small.npy", reference(4999))
    np.save(tmp_path / "large.npy", reference(10_001))
    np.save(tmp_path / "ok.npy", reference(5000))
    with_nan = reference(5000)
    with_nan[17, 1] = np.nan
    np.save(tmp_path / "nan.npy", with_nan)
    np.save(tmp_path / "cube.npy", np.zeros((5000, 2, 2)))
    (tmp_path / "text.csv").write_text("a,b\n1,2\n3,x\n")
    (tmp_path / "ragged.csv").write_text("1,2\n3\n")
    (tmp_path / "ref.parquet").write_text("")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "config.toml").write_text("")
    return {
        "too few rows": ("small.npy", [], "the reference window has 4999 rows; it must have "
                                         "5,000 to 10,000"),
        "too many rows": ("large.npy", [], "has 10001 rows"),
        "p-value 0.05": ("ok.npy", ["--p-value", "0.05"], "--p-value 0.05: must be above 0 "
                                                          "and at most 0.01"),
        "p-value 0": ("ok.npy", ["--p-value", "0"], "--p-value 0: must be above 0"),
        "NaN": ("nan.npy", [], "row 18, column 2: nan is not a finite number"),
        "3-D": ("cube.npy", [], "expected rows × features, got an array of shape "
                                "[5000, 2, 2]"),
        "text cell": ("text.csv", [], "data row 2, column 2: 'x' is not a number"),
        "ragged": ("ragged.csv", [], "data row 2 has 1 column(s), the first has 2"),
        "format": ("ref.parquet", [], "expected a .npy or .csv file"),
        "missing": ("nope.npy", [], "nope.npy: no such file"),
    }


def test_refusals_write_nothing(tmp_path: Path, run_main: Any) -> None:
    cases = _bad_inputs(tmp_path)
    before = snapshot(tmp_path)
    for label, (name, extra, message) in cases.items():
        result = run_main("drift", "build", "--reference", str(tmp_path / name),
                          "--out", str(tmp_path / "out"), *extra)
        assert result.rc == 2, label
        assert message in result.stderr, (label, result.stderr)
        assert "Traceback" not in result.stderr
    taken = run_main("drift", "build", "--reference", str(tmp_path / "ok.npy"),
                     "--out", str(tmp_path / "taken"))
    assert taken.rc == 2
    assert "already exists and is not an empty folder" in taken.stderr
    assert snapshot(tmp_path) == before


def test_rendered_detector_points_at_the_drift_build_folder(env_tree: EnvTree) -> None:
    """The detector Model's storageUri is spec.drift.reference (the folder `drift build`
    writes), on MLServer with alibi-detect, and its Pipeline step reads the model's inputs."""
    folder = env_tree.root / "environments" / env_tree.name
    rendered = folder / "rendered" / "models"
    for spec_path in sorted((folder / "models").glob("*.yaml")):
        spec = yaml.safe_load(spec_path.read_text())["spec"]
        if "drift" not in spec:
            continue
        name = spec_path.stem
        model = yaml.safe_load((rendered / f"{name}.model-{name}-drift.yaml").read_text())
        assert model["spec"]["storageUri"] == spec["drift"]["reference"]
        assert model["spec"]["requirements"] == ["mlserver", "alibi-detect"]
        assert model["metadata"]["annotations"]["modelops.dev/drift-artifact"] == (
            "modelops drift build: model-settings.json, config.toml, x_ref.npy")
        pipeline = yaml.safe_load((rendered / f"{name}.pipeline-{name}-pipeline.yaml")
                                  .read_text())
        step = next(s for s in pipeline["spec"]["steps"] if s["name"] == f"{name}-drift")
        assert step["inputs"] == [f"{name}.inputs"]
