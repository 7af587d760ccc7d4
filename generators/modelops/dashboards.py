"""One Grafana dashboard per environment, shipped as a ConfigMap the Grafana sidecar loads.

On-call opens one board per environment and sees, per model, what the alerts watch: latency
against the environment's threshold, error rate, drift, and per Server pool the memory models
hold against the capacity Seldon's agents advertise (with and without overcommit). Queries come
from `modelops.monitoring`, the same builders the alert rules use; thresholds are drawn from
environment.yaml so the red line on a panel is the line the alert fires at.

The JSON is built here (not templated) and serialised with sorted keys, so rendering stays
byte-for-byte deterministic.
"""

from __future__ import annotations

import json
from typing import Any

from modelops import monitoring
from modelops.spec import EnvironmentSpec

SCHEMA_VERSION = 39
MODEL_VARIABLE = "$model"  # a regex alternation, or .+ for All
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def _target(expr: str, legend: str, ref: str = "A") -> dict[str, Any]:
    return {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "refId": ref}


def _panel(panel_id: int, title: str, unit: str, targets: list[dict[str, Any]],
           x: int, y: int, threshold: float | None = None, description: str = "",
           width: int = 12) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
    if threshold is not None:
        steps.append({"color": "red", "value": threshold})
    return {
        "id": panel_id, "type": "timeseries", "title": title, "description": description,
        "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": width, "x": x, "y": y},
        "fieldConfig": {"defaults": {
            "unit": unit,
            "thresholds": {"mode": "absolute", "steps": steps},
            "custom": {"thresholdsStyle": {"mode": "line" if threshold is not None
                                           else "off"}},
        }, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "right",
                               "calcs": ["lastNotNull", "max"]},
                    "tooltip": {"mode": "multi", "sort": "desc"}},
        "targets": targets,
    }


def _row(panel_id: int, title: str, y: int) -> dict[str, Any]:
    return {"id": panel_id, "type": "row", "title": title, "collapsed": False,
            "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []}


def panels(spec: EnvironmentSpec) -> list[dict[str, Any]]:
    ns = spec.namespace
    alerts = spec.alerts
    models = f'model=~"{MODEL_VARIABLE}"'
    return [
        _row(1, "Models", 0),
        _panel(2, "Latency per model (mean)", "s",
               [_target(monitoring.mean_latency_seconds(ns, models), "{{model}}")], 0, 1,
               alerts.p99_latency_ms / 1000,
               "Seldon agent per-model mean; no per-model p99 is exported. Red line: the "
               "environment's p99 threshold (models may override it)."),
        _panel(3, "Error rate per model", "percentunit",
               [_target(monitoring.error_ratio(ns, models), "{{model}}")], 12, 1,
               alerts.error_rate_percent / 100,
               "Non-200 / non-OK share of requests, from the Seldon agent."),
        _panel(4, "Requests per second per model", "reqps",
               [_target(monitoring.request_rate(ns, models), "{{model}}")], 0, 9),
        _panel(5, "Drift: share of KS tests that found drift", "percentunit",
               [_target(monitoring.drift_share(ns, MODEL_VARIABLE), "{{model}}")], 12, 9,
               monitoring.DRIFT_SHARE,
               f"MLServer alibi-detect runtime, seldon_model_drift over "
               f"{monitoring.DRIFT_WINDOW}. Drift alone never triggers a retrain."),
        _row(6, "Server pools", 17),
        _panel(7, "p99 latency per Server pool", "s",
               [_target(monitoring.server_p99_seconds(ns), "{{server}}")], 0, 18,
               alerts.p99_latency_ms / 1000,
               "Seldon agent histogram: a true p99, per pool."),
        _panel(8, "Model memory vs capacity per Server pool", "bytes", [
            _target(monitoring.memory_by_server("seldon_loaded_model_memory_bytes_gauge", ns),
                    "{{server}} loaded", "A"),
            _target(monitoring.memory_by_server(
                "seldon_server_replica_memory_capacity_bytes_gauge", ns),
                "{{server}} capacity", "B"),
            _target(monitoring.memory_by_server(
                "seldon_server_replica_memory_capacity_overcommit_bytes_gauge", ns),
                "{{server}} capacity with overcommit", "C"),
        ], 12, 18, description="Memory of loaded models against what the agents advertise "
                               "(the inference container's memory request)."),
    ]


def dashboard(env_name: str, spec: EnvironmentSpec) -> dict[str, Any]:
    model_query = f'label_values(seldon_model_infer_total{{namespace="{spec.namespace}"}}, model)'
    return {
        "uid": f"modelops-{env_name}",
        "title": f"modelops / {env_name}",
        "tags": ["modelops", "seldon", env_name],
        "editable": False,
        "schemaVersion": SCHEMA_VERSION,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "1m",
        "timezone": "utc",
        "templating": {"list": [
            {"name": "datasource", "label": "Data source", "type": "datasource",
             "query": "prometheus", "current": {}, "hide": 0},
            {"name": "model", "label": "Model", "type": "query", "datasource": DATASOURCE,
             "query": {"query": model_query, "refId": "models"}, "definition": model_query,
             "refresh": 2, "multi": True, "includeAll": True, "allValue": ".+",
             "current": {"text": "All", "value": "$__all"}, "sort": 1, "hide": 0},
        ]},
        "panels": panels(spec),
    }


def dashboard_json(env_name: str, spec: EnvironmentSpec) -> str:
    return json.dumps(dashboard(env_name, spec), indent=2, sort_keys=True,
                      ensure_ascii=False) + "\n"
