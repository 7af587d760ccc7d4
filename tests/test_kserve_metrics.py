"""`modelops.kserve_metrics` is complete: every constant the KServe alert rules import is a
series listed in METRICS (or a listed histogram's base name), so the scrapes of the real servers
in test_smoke_kserve.py and test_smoke_triton.py, which walk METRICS, cover every constant."""

from __future__ import annotations

import re

from modelops import kserve_metrics

METRIC_NAME = re.compile(r"[a-z_:][a-z0-9_:]*")
HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")


def test_every_metric_constant_is_listed() -> None:
    constants = {key: value for key, value in vars(kserve_metrics).items()
                 if key.isupper() and isinstance(value, str) and METRIC_NAME.fullmatch(value)}
    listed = set(kserve_metrics.METRICS)
    histograms = {name.removesuffix(suffix) for name in listed for suffix in HISTOGRAM_SERIES
                  if name.endswith(suffix) and f"{name.removesuffix(suffix)}_bucket" in listed}
    assert {"TRITON_REQUEST_SUCCESS", "KSERVE_PREDICT_SECONDS"} <= set(constants)
    unlisted = {key for key, value in constants.items() if value not in listed | histograms}
    assert not unlisted


def test_a_histogram_constant_has_all_three_series() -> None:
    base = kserve_metrics.KSERVE_PREDICT_SECONDS
    assert {f"{base}{suffix}" for suffix in HISTOGRAM_SERIES} <= set(kserve_metrics.METRICS)
    assert kserve_metrics.METRICS[f"{base}_bucket"].labels == ("model_name", "le")


def test_each_metric_names_one_of_the_two_exporters() -> None:
    assert {m.exporter for m in kserve_metrics.METRICS.values()} == {
        kserve_metrics.TRITON, kserve_metrics.KSERVE_SERVER}
    assert all(m.name == name for name, m in kserve_metrics.METRICS.items())
