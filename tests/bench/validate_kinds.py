"""Benchmark for `modelops.validate` on the project's real workload shape (~16,000 objects).

Why: validation runs on every render and in CI, where the schema cache is often empty, so both
the first process (nothing compiled yet) and later ones (generated code on disk) must stay well
under the 3 s budget. Each measurement runs in a fresh interpreter so imports and set-up count.

    PYTHONPATH=generators python tests/bench/validate_kinds.py [--crd-dir DIR] [--strategy all]

Strategies: `adaptive` (the module's behaviour), `eager` (compile every kind on first sight),
`jsonschema` (never compile; jsonschema for every object).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

DEFAULT_CRD_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "crds"
COUNTS = {
    "Model": 3000,
    "KafkaTopic": 6000,
    "Job": 3000,
    "ConfigMap": 3000,
    "Server": 30,
    "Pipeline": 300,
    "Experiment": 300,
    "PodMonitor": 20,
    "ServiceMonitor": 20,
    "PrometheusRule": 20,
    "Namespace": 20,
}


def _meta(name: str, namespace: str, n: int) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": namespace,
        "labels": {
            "app.kubernetes.io/name": name,
            "app.kubernetes.io/part-of": "modelops",
            "app.kubernetes.io/managed-by": "modelops",
            "modelops.dev/team": f"team-{n % 7}",
            "modelops.dev/environment": "prod",
        },
        "annotations": {
            "argocd.argoproj.io/sync-wave": str(n % 5),
            "modelops.dev/source": f"models/{name}.yaml",
        },
    }


def _model(n: int) -> dict[str, Any]:
    return {
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Model",
        "metadata": _meta(f"model-{n}", f"ns-{n % 40}", n),
        "spec": {
            "storageUri": f"gs://bucket/models/model-{n}/v3",
            "requirements": ["sklearn", "mlserver"],
            "memory": "512Mi",
            "server": f"mlserver-{n % 10}",
            "replicas": 2,
            "minReplicas": 1,
            "maxReplicas": 4,
            "logger": {"percent": 10},
        },
    }


def _topic(n: int) -> dict[str, Any]:
    meta = _meta(f"seldon.ns-{n % 40}.model.model-{n}.outputs", f"kafka-{n % 3}", n)
    meta["labels"]["strimzi.io/cluster"] = "seldon"
    return {
        "apiVersion": "kafka.strimzi.io/v1",
        "kind": "KafkaTopic",
        "metadata": meta,
        "spec": {
            "topicName": meta["name"],
            "partitions": 3,
            "replicas": 3,
            "config": {"min.insync.replicas": "2", "retention.ms": "604800000"},
        },
    }


def _job(n: int) -> dict[str, Any]:
    name = f"smoke-model-{n}"
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _meta(name, f"ns-{n % 40}", n),
        "spec": {
            "backoffLimit": 1,
            "activeDeadlineSeconds": 300,
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": name}},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 65532,
                        "runAsGroup": 65532,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [
                        {
                            "name": "smoke",
                            "image": "ghcr.io/example/smoke:1.4.2",
                            "args": [
                                "smoke",
                                "--url",
                                "http://seldon-mesh",
                                "--model",
                                name,
                                "--max-latency-ms",
                                "250",
                                "--payload",
                                "/req/request.json",
                            ],
                            "resources": {
                                "requests": {"cpu": "50m", "memory": "128Mi"},
                                "limits": {"cpu": "500m", "memory": "256Mi"},
                            },
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                                "runAsNonRoot": True,
                                "capabilities": {"drop": ["ALL"]},
                            },
                            "volumeMounts": [
                                {"name": "tmp", "mountPath": "/tmp"},
                                {"name": "request", "mountPath": "/req", "readOnly": True},
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}},
                        {"name": "request", "configMap": {"name": name}},
                    ],
                },
            },
        },
    }


def _configmap(n: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(f"smoke-model-{n}", f"ns-{n % 40}", n),
        "data": {"request.json": json.dumps({"inputs": [{"name": "x", "data": [n, 1.5]}]})},
    }


def _server(n: int) -> dict[str, Any]:
    probe = {"httpGet": {"path": "/v2/health/live", "port": "server-http"}}
    return {
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Server",
        "metadata": _meta(f"mlserver-{n}", f"ns-{n % 40}", n),
        "spec": {
            "serverConfig": "mlserver",
            "replicas": 2,
            "extraCapabilities": ["gpu-small"],
            "podSpec": {
                "containers": [
                    {
                        "name": "mlserver",
                        "resources": {
                            "requests": {"cpu": "1", "memory": "4Gi"},
                            "limits": {"memory": "4Gi", "nvidia.com/gpu": 1},
                        },
                        "startupProbe": {**probe, "periodSeconds": 10, "failureThreshold": 30},
                        "readinessProbe": {
                            **probe,
                            "initialDelaySeconds": 5,
                            "periodSeconds": 5,
                            "timeoutSeconds": 2,
                            "failureThreshold": 3,
                        },
                    },
                    {
                        "name": "agent",
                        "env": [{"name": "SELDON_OVERCOMMIT_PERCENTAGE", "value": "10"}],
                    },
                ]
            },
        },
    }


def _pipeline(n: int) -> dict[str, Any]:
    return {
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Pipeline",
        "metadata": _meta(f"pipeline-{n}", f"ns-{n % 40}", n),
        "spec": {
            "steps": [
                {"name": f"model-{n}"},
                {
                    "name": f"model-{n}-drift",
                    "inputs": [f"pipeline-{n}.inputs"],
                    "batch": {"size": 20},
                },
            ],
            "output": {"steps": [f"model-{n}"]},
        },
    }


def _experiment(n: int) -> dict[str, Any]:
    return {
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Experiment",
        "metadata": _meta(f"experiment-{n}", f"ns-{n % 40}", n),
        "spec": {
            "default": f"model-{n}",
            "candidates": [
                {"name": f"model-{n}", "weight": 90},
                {"name": f"model-{n}-canary", "weight": 10},
            ],
            "mirror": {"name": f"model-{n}-shadow", "percent": 25},
        },
    }


def _monitor(kind: str, n: int) -> dict[str, Any]:
    endpoints = [{"port": "metrics", "path": "/metrics", "interval": "15s"}]
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app.kubernetes.io/name": "seldon-server"}},
        "namespaceSelector": {"matchNames": [f"ns-{n}"]},
    }
    spec["podMetricsEndpoints" if kind == "PodMonitor" else "endpoints"] = endpoints
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": kind,
        "metadata": _meta(f"seldon-{n}", f"ns-{n}", n),
        "spec": spec,
    }


def _rule(n: int) -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": _meta(f"slo-{n}", f"ns-{n}", n),
        "spec": {
            "groups": [
                {
                    "name": "modelops.slo",
                    "partial_response_strategy": "warn",
                    "rules": [
                        {
                            "alert": "ModelLatencyHigh",
                            "expr": "histogram_quantile(0.99, rate(x[5m])) > 0.25",
                            "for": "10m",
                            "labels": {"severity": "page"},
                            "annotations": {"summary": "p99 latency above 250 ms"},
                        }
                    ],
                }
            ]
        },
    }


def _namespace(n: int) -> dict[str, Any]:
    meta = _meta(f"ns-{n}", "", n)
    del meta["namespace"]
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


BUILDERS = {
    "Model": _model,
    "KafkaTopic": _topic,
    "Job": _job,
    "ConfigMap": _configmap,
    "Server": _server,
    "Pipeline": _pipeline,
    "Experiment": _experiment,
    "PodMonitor": lambda n: _monitor("PodMonitor", n),
    "ServiceMonitor": lambda n: _monitor("ServiceMonitor", n),
    "PrometheusRule": _rule,
    "Namespace": _namespace,
}


def workload() -> list[dict[str, Any]]:
    """Objects in render order: every kind interleaved, as the generators emit them."""
    per_kind = {kind: [build(n) for n in range(COUNTS[kind])] for kind, build in BUILDERS.items()}
    longest = max(COUNTS.values())
    return [objs[n] for n in range(longest) for objs in per_kind.values() if n < len(objs)]


def child(crd_dir: Path, cache_dir: Path, strategy: str) -> dict[str, Any]:
    """One process: import, index CRDs, validate the workload twice; report seconds per kind."""
    started = time.perf_counter()
    from modelops import validate

    imported = time.perf_counter()
    catalog = validate.SchemaCatalog.from_crd_dir(crd_dir, cache_dir=cache_dir)
    indexed = time.perf_counter()
    validate.core.core_library()
    core_loaded = time.perf_counter()
    objects = workload()
    clock = time.perf_counter
    per_kind_first: defaultdict[str, float] = defaultdict(float)
    per_kind_again: defaultdict[str, float] = defaultdict(float)
    invalid = 0
    for bucket in (per_kind_first, per_kind_again):
        for obj in objects:
            kind = obj["kind"]
            t0 = clock()
            if strategy == "adaptive":
                found = catalog.problems(obj)
            else:
                checker: Any = catalog._kind_validator(obj["apiVersion"], kind)
                if strategy == "eager":
                    checker.compile_fast()
                    found = checker.problems(obj)
                else:
                    found = checker.slow_problems(obj)
            bucket[kind] += clock() - t0
            invalid += bool(found)
    engines = {
        f"{api} {kind}": getattr(checker, "engine", "?")
        for (api, kind), checker in catalog._checkers.items()
    }
    return {
        "import": imported - started,
        "index": indexed - imported,
        "core": core_loaded - indexed,
        "first": dict(per_kind_first),
        "again": dict(per_kind_again),
        "invalid": invalid,
        "engines": engines,
        "skipped_patterns": [p.pattern for p in validate.SKIPPED_PATTERNS],
    }


def run_child(crd_dir: Path, cache_dir: Path, strategy: str) -> dict[str, Any]:
    generators = str(Path(__file__).resolve().parents[2] / "generators")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([generators, *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            "--crd-dir",
            str(crd_dir),
            "--cache-dir",
            str(cache_dir),
            "--strategy",
            strategy,
        ],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def report(strategy: str, cold: dict[str, Any], warm: dict[str, Any]) -> None:
    print(f"\n== strategy: {strategy} ==")
    print(f"{'':16}{'count':>7}{'cold s':>9}{'warm s':>9}{'hot s':>9}{'warm obj/s':>12}  engine")
    setup = (("import", "import"), ("index CRDs", "index"), ("k8s schemas", "core"))
    for label, key in setup:
        print(f"{label:16}{'':>7}{cold[key]:9.3f}{warm[key]:9.3f}")
    total_cold: float = sum(cold[key] for _, key in setup)
    total_warm: float = sum(warm[key] for _, key in setup)
    total_hot = 0.0
    for kind, count in COUNTS.items():
        c, w, h = cold["first"][kind], warm["first"][kind], warm["again"][kind]
        total_cold, total_warm, total_hot = total_cold + c, total_warm + w, total_hot + h
        engine = next((e for name, e in warm["engines"].items() if name.endswith(f" {kind}")), "")
        print(f"{kind:16}{count:7d}{c:9.3f}{w:9.3f}{h:9.3f}{count / w:12.0f}  {engine}")
    print(
        f"{'TOTAL':16}{sum(COUNTS.values()):7d}{total_cold:9.3f}{total_warm:9.3f}{total_hot:9.3f}"
    )
    print(
        f"invalid objects: {cold['invalid']} (expected 0); "
        f"skipped patterns: {cold['skipped_patterns']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--crd-dir", type=Path, default=Path(os.environ.get("MODELOPS_CRD_DIR", DEFAULT_CRD_DIR))
    )
    parser.add_argument("--cache-dir", type=Path)
    parser.add_argument(
        "--strategy", default="adaptive", choices=["adaptive", "eager", "jsonschema", "all"]
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.crd_dir, args.cache_dir, args.strategy)))
        return
    strategies = ["adaptive", "eager", "jsonschema"] if args.strategy == "all" else [args.strategy]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, CRDs from {args.crd_dir}")
    print("cold = first process, empty code cache; warm = next process, cache filled;")
    print("hot = the same objects again in the warm process (validators already built)")
    for strategy in strategies:
        with tempfile.TemporaryDirectory() as cache:
            cold = run_child(args.crd_dir, Path(cache), strategy)
            warm = run_child(args.crd_dir, Path(cache), strategy)
        report(strategy, cold, warm)


if __name__ == "__main__":
    main()
