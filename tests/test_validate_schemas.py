"""Tests for `modelops.validate`: strict schema checks of rendered objects against real CRDs.

The CRDs come from `MODELOPS_CRD_DIR` or the shared `crds/` folder next to the repository; they
are never copied into the repo.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from modelops.validate import (
    KUBERNETES_VERSION,
    SKIPPED_PATTERNS,
    CatalogError,
    SchemaCatalog,
    SchemaProblem,
    _translate_pattern,
)

Obj = dict[str, Any]
DEFAULT_CRD_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "crds"


@pytest.fixture(scope="session")
def crd_dir() -> Path:
    path = Path(os.environ.get("MODELOPS_CRD_DIR", DEFAULT_CRD_DIR))
    if not path.is_dir():
        pytest.skip(
            f"no CRDs at {path}: export them from a cluster that has Seldon Core 2, Strimzi and "
            "the Prometheus Operator (`kubectl get crd -o yaml > crds/all.yaml`) and set "
            "MODELOPS_CRD_DIR to that folder"
        )
    return path


@pytest.fixture(scope="session")
def catalog(crd_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> SchemaCatalog:
    return SchemaCatalog.from_crd_dir(crd_dir, cache_dir=tmp_path_factory.mktemp("schema-cache"))


def _meta(name: str = "demo", namespace: str | None = "models") -> Obj:
    meta: Obj = {
        "name": name,
        "labels": {"app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": "modelops"},
        "annotations": {"argocd.argoproj.io/sync-wave": "2", "modelops.dev/source": "x.yaml"},
    }
    if namespace is not None:
        meta["namespace"] = namespace
    return meta


def model() -> Obj:
    return {
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Model",
        "metadata": _meta("iris"),
        "spec": {
            "storageUri": "gs://seldon-models/scv2/samples/mlserver_1.6.0/iris-sklearn",
            "requirements": ["sklearn"],
            "memory": "100Ki",
            "server": "mlserver",
            "replicas": 2,
            "minReplicas": 1,
            "maxReplicas": 3,
            "logger": {"percent": 10},
            "explainer": {"type": "anchor_tabular", "modelRef": "iris"},
        },
    }


def server() -> Obj:
    def probe() -> Obj:
        return {"httpGet": {"path": "/v2/health/live", "port": "server-http"}}

    return {
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Server",
        "metadata": _meta("mlserver-gpu"),
        "spec": {
            "serverConfig": "mlserver",
            "replicas": 2,
            "extraCapabilities": ["gpu"],
            "podSpec": {
                "containers": [
                    {
                        "name": "mlserver",
                        "resources": {
                            "requests": {"cpu": "1", "memory": "3Gi"},
                            "limits": {"memory": "3Gi", "nvidia.com/gpu": 1},
                        },
                        "startupProbe": {**probe(), "periodSeconds": 10, "failureThreshold": 30},
                        "readinessProbe": {**probe(), "initialDelaySeconds": 5, "periodSeconds": 5},
                        "ports": [{"containerPort": 9000, "name": "extra"}],
                    },
                    {
                        "name": "agent",
                        "env": [{"name": "SELDON_OVERCOMMIT_PERCENTAGE", "value": "10"}],
                    },
                ]
            },
        },
    }


def pipeline() -> Obj:
    return {
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Pipeline",
        "metadata": _meta("income"),
        "spec": {
            "steps": [
                {"name": "income"},
                {"name": "income-drift", "inputs": ["income.inputs"], "batch": {"size": 20}},
            ],
            "output": {"steps": ["income"]},
        },
    }


def experiment() -> Obj:
    return {
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Experiment",
        "metadata": _meta("iris-canary"),
        "spec": {
            "default": "iris",
            "candidates": [{"name": "iris", "weight": 90}, {"name": "iris2", "weight": 10}],
            "mirror": {"name": "iris3", "percent": 25},
        },
    }


def kafka_topic() -> Obj:
    meta = _meta("seldon.models.model.iris.outputs", "kafka")
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


def pod_monitor() -> Obj:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": _meta("seldon-servers"),
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": "seldon-server"}},
            "namespaceSelector": {"matchNames": ["models"]},
            "podMetricsEndpoints": [
                {"port": "metrics", "path": "/metrics", "interval": "15s"},
                {"port": "server-metrics", "path": "/metrics", "interval": "15s"},
            ],
        },
    }


def service_monitor() -> Obj:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": _meta("seldon-gateways"),
        "spec": {
            "selector": {
                "matchExpressions": [
                    {
                        "key": "app.kubernetes.io/name",
                        "operator": "In",
                        "values": ["seldon-envoy", "seldon-modelgateway"],
                    }
                ]
            },
            "namespaceSelector": {"matchNames": ["models"]},
            "endpoints": [{"port": "stats", "path": "/stats/prometheus", "interval": "60s"}],
        },
    }


def prometheus_rule() -> Obj:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": _meta("iris-slo"),
        "spec": {
            "groups": [
                {
                    "name": "iris.slo",
                    "partial_response_strategy": "warn",
                    "rules": [
                        {
                            "alert": "IrisLatencyHigh",
                            "expr": "histogram_quantile(0.99, rate(x[5m])) > 0.25",
                            "for": "10m",
                            "labels": {"severity": "page"},
                            "annotations": {"summary": "p99 above 250 ms"},
                        }
                    ],
                }
            ]
        },
    }


def job() -> Obj:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _meta("smoke-iris"),
        "spec": {
            "backoffLimit": 1,
            "activeDeadlineSeconds": 300,
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": "smoke-iris"}},
                "spec": {
                    "restartPolicy": "Never",
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 65532,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [
                        {
                            "name": "smoke",
                            "image": "ghcr.io/example/smoke:1.0",
                            "args": ["smoke", "--model", "iris"],
                            "resources": {
                                "requests": {"cpu": "50m", "memory": "128Mi"},
                                "limits": {"cpu": "500m", "memory": "256Mi"},
                            },
                            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                        }
                    ],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}}],
                },
            },
        },
    }


def config_map() -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta("smoke-iris"),
        "data": {"request.json": '{"inputs": []}'},
    }


def namespace() -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta("models", None)}


VALID: dict[str, Callable[[], Obj]] = {
    "Model": model,
    "Server": server,
    "Pipeline": pipeline,
    "Experiment": experiment,
    "KafkaTopic": kafka_topic,
    "PodMonitor": pod_monitor,
    "ServiceMonitor": service_monitor,
    "PrometheusRule": prometheus_rule,
    "Job": job,
    "ConfigMap": config_map,
    "Namespace": namespace,
}


def _at(obj: Obj, path: str) -> Any:
    """Follow a `a.b[0].c` path (the module's own path syntax) into `obj`."""
    node: Any = obj
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        node = node[int(index)] if index else node[name]
    return node


def _set(obj: Obj, path: str, value: Any) -> Obj:
    parent, _, leaf = path.rpartition(".")
    _at(obj, parent)[leaf] = value
    return obj


def _delete(obj: Obj, path: str) -> Obj:
    parent, _, leaf = path.rpartition(".")
    del _at(obj, parent)[leaf]
    return obj


@pytest.mark.parametrize("kind", VALID)
def test_valid_objects_have_no_problems(catalog: SchemaCatalog, kind: str) -> None:
    assert catalog.problems(VALID[kind]()) == []


@pytest.mark.parametrize("kind", VALID)
def test_validation_does_not_change_the_object(catalog: SchemaCatalog, kind: str) -> None:
    obj = VALID[kind]()
    before = copy.deepcopy(obj)
    catalog.problems(obj)
    catalog.problems(_set(copy.deepcopy(obj), "metadata.bogus", 1))
    assert obj == before


TYPOS = [
    ("Model", "spec", "memroy"),
    ("Model", "spec.logger", "percnt"),
    ("Server", "spec.podSpec.containers[0]", "resoures"),
    ("Server", "spec.podSpec.containers[0].readinessProbe.httpGet", "pth"),
    ("Server", "spec.podSpec.containers[1].env[0]", "vaule"),
    ("Pipeline", "spec.steps[1].batch", "sise"),
    ("Experiment", "spec.mirror", "percentage"),
    ("KafkaTopic", "spec", "partitons"),
    ("PodMonitor", "spec.podMetricsEndpoints[0]", "intervall"),
    ("ServiceMonitor", "spec.selector.matchExpressions[0]", "operater"),
    ("PrometheusRule", "spec.groups[0].rules[0]", "expresion"),
    ("Job", "spec.template.spec.containers[0].resources", "limts"),
    ("Job", "spec.template.spec.securityContext", "runAsNonroot"),
    ("ConfigMap", "", "datta"),
    ("Namespace", "metadata", "label"),
    ("Model", "metadata", "lables"),
]


@pytest.mark.parametrize(("kind", "parent", "field"), TYPOS)
def test_unknown_field_is_reported_at_its_own_path(
    catalog: SchemaCatalog, kind: str, parent: str, field: str
) -> None:
    obj = VALID[kind]()
    (_at(obj, parent) if parent else obj)[field] = "x"
    path = f"{parent}.{field}" if parent else field
    assert catalog.problems(obj) == [SchemaProblem(path, f"unknown field '{field}'")]


def test_every_unknown_field_is_listed(catalog: SchemaCatalog) -> None:
    obj = model()
    obj["spec"].update({"memroy": "1Gi", "replica": 2})
    obj["bogus"] = True
    assert catalog.problems(obj) == [
        SchemaProblem("bogus", "unknown field 'bogus'"),
        SchemaProblem("spec.memroy", "unknown field 'memroy'"),
        SchemaProblem("spec.replica", "unknown field 'replica'"),
    ]


WRONG_TYPES = [
    ("Model", "spec.replicas", "abc", "expected integer, got string 'abc'"),
    ("Model", "spec.requirements", "sklearn", "expected array, got string 'sklearn'"),
    ("Model", "spec.memory", True, "expected integer or string, got boolean true"),
    (
        "Server",
        "spec.podSpec.containers[0].readinessProbe.httpGet.port",
        1.5,
        "expected integer or string, got number 1.5",
    ),
    ("Pipeline", "spec.steps[1].batch.size", "20", "expected integer, got string '20'"),
    ("Experiment", "spec.candidates[0].weight", "90", "expected integer, got string '90'"),
    ("KafkaTopic", "spec.partitions", "3", "expected integer, got string '3'"),
    ("PrometheusRule", "spec.groups[0].rules[0].labels", ["a"], "expected object, got array"),
    ("Job", "spec.backoffLimit", "1", "expected integer, got string '1'"),
    (
        "Job",
        "spec.template.spec.containers[0].resources.limits.cpu",
        True,
        "expected string or number, got boolean true",
    ),
    ("ConfigMap", "data.request.json", 7, "expected string, got integer 7"),
    ("Namespace", "metadata.labels.app.kubernetes.io/name", 1, "expected string, got integer 1"),
]


@pytest.mark.parametrize(("kind", "path", "value", "message"), WRONG_TYPES)
def test_wrong_type(catalog: SchemaCatalog, kind: str, path: str, value: Any, message: str) -> None:
    obj = VALID[kind]()
    parent, leaf = _split_leaf(obj, path)
    parent[leaf] = value
    assert catalog.problems(obj) == [SchemaProblem(_display(path, leaf), message)]


def _split_leaf(obj: Obj, path: str) -> tuple[Any, str]:
    """Paths whose last key contains dots (labels, ConfigMap keys) are addressed by prefix."""
    for parent in ("metadata.labels", "data", "spec.template.spec.containers[0].resources.limits"):
        if path.startswith(parent + "."):
            return _at(obj, parent), path[len(parent) + 1 :]
    parent_path, _, leaf = path.rpartition(".")
    return _at(obj, parent_path), leaf


def _display(path: str, leaf: str) -> str:
    if "." in leaf or "/" in leaf:
        return f'{path[: -len(leaf) - 1]}["{leaf}"]'
    return path


MISSING = [
    ("Model", "spec.storageUri", "spec", "storageUri"),
    ("Server", "spec.serverConfig", "spec", "serverConfig"),
    ("Server", "spec.podSpec.containers[1].name", "spec.podSpec.containers[1]", "name"),
    ("Pipeline", "spec.steps[0].name", "spec.steps[0]", "name"),
    ("Experiment", "spec.mirror.percent", "spec.mirror", "percent"),
    ("PrometheusRule", "spec.groups[0].rules[0].expr", "spec.groups[0].rules[0]", "expr"),
    ("Job", "spec.template", "spec", "template"),
    ("Job", "spec.template.spec.containers[0].name", "spec.template.spec.containers[0]", "name"),
]


@pytest.mark.parametrize(("kind", "delete", "path", "field"), MISSING)
def test_missing_required_field(
    catalog: SchemaCatalog, kind: str, delete: str, path: str, field: str
) -> None:
    obj = _delete(VALID[kind](), delete)
    assert catalog.problems(obj) == [SchemaProblem(path, f"missing required field '{field}'")]


def test_several_problems_are_all_reported(catalog: SchemaCatalog) -> None:
    obj = server()
    del obj["spec"]["serverConfig"]
    obj["spec"]["replicas"] = "two"
    obj["spec"]["podSpec"]["containers"][0]["resoures"] = {}
    assert catalog.problems(obj) == [
        SchemaProblem("spec", "missing required field 'serverConfig'"),
        SchemaProblem("spec.podSpec.containers[0].resoures", "unknown field 'resoures'"),
        SchemaProblem("spec.replicas", "expected integer, got string 'two'"),
    ]


def test_enum_and_minimum_messages(catalog: SchemaCatalog) -> None:
    obj = pipeline()
    obj["spec"]["steps"][1]["inputsJoinType"] = "left"
    obj2 = _set(kafka_topic(), "spec.partitions", 0)
    assert catalog.problems(obj) == [
        SchemaProblem(
            "spec.steps[1].inputsJoinType", "'left' is not one of ['inner', 'outer', 'any']"
        )
    ]
    assert catalog.problems(obj2) == [
        SchemaProblem("spec.partitions", "0 is less than the minimum of 1")
    ]


@pytest.mark.parametrize("value", ["warn", "abort", "WARN", "Abort", ""])
def test_case_insensitive_go_pattern_accepts(catalog: SchemaCatalog, value: str) -> None:
    obj = _set(prometheus_rule(), "spec.groups[0].partial_response_strategy", value)
    assert catalog.problems(obj) == []


@pytest.mark.parametrize("value", ["warning", "abort\n", "drop"])
def test_case_insensitive_go_pattern_rejects(catalog: SchemaCatalog, value: str) -> None:
    obj = _set(prometheus_rule(), "spec.groups[0].partial_response_strategy", value)
    shown = value.replace("\n", "\\n")
    assert catalog.problems(obj) == [
        SchemaProblem(
            "spec.groups[0].partial_response_strategy",
            f"'{shown}' does not match pattern '^(?i)(abort|warn)?$'",
        )
    ]
    assert not [p for p in SKIPPED_PATTERNS if "abort" in p.pattern]


def test_pattern_translation() -> None:
    assert _translate_pattern("^(?i)(abort|warn)?$") == "(?i)^(abort|warn)?\\Z"
    assert _translate_pattern("a(?i)b|c") == "a(?i:b)|(?i:c)"
    assert _translate_pattern("[[:alpha:]$]+\\z") == "[A-Za-z\\$]+\\Z"
    assert _translate_pattern("\\Qa.b\\E") == "a\\.b"
    with pytest.raises(re.error):
        _translate_pattern("\\p{Greek}")


def test_unknown_kinds_are_errors(catalog: SchemaCatalog, crd_dir: Path) -> None:
    assert catalog.problems({"apiVersion": "example.com/v1", "kind": "Widget"}) == [
        SchemaProblem(
            "", f"example.com/v1 Widget: no schema: no CRD for example.com Widget in {crd_dir}"
        )
    ]
    assert catalog.problems({"apiVersion": "v1", "kind": "Bogus", "metadata": {}}) == [
        SchemaProblem(
            "", f"v1 Bogus: no schema: not a built-in kind of Kubernetes {KUBERNETES_VERSION}"
        )
    ]
    assert catalog.problems({"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Modle"})[
        0
    ].message.startswith("mlops.seldon.io/v1alpha1 Modle: no schema")


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"kind": "Model"}, "missing required field 'apiVersion'"),
        ({"apiVersion": "v1"}, "missing required field 'kind'"),
        ({}, "missing required field 'apiVersion'; missing required field 'kind'"),
        ({"apiVersion": 1, "kind": "ConfigMap"}, "'apiVersion' must be a non-empty string"),
    ],
)
def test_missing_identity_is_one_problem(catalog: SchemaCatalog, obj: Obj, message: str) -> None:
    assert catalog.problems(obj) == [SchemaProblem("", message)]


def _kafka_topic_served_versions(crd_dir: Path) -> list[str]:
    for path in sorted(crd_dir.rglob("*.y*ml")):
        text = path.read_text(encoding="utf-8")
        if "kafkatopics.kafka.strimzi.io" not in text:
            continue
        for doc in yaml.safe_load_all(text):
            items = doc.get("items", [doc]) if isinstance(doc, dict) else []
            for crd in items:
                if crd.get("metadata", {}).get("name") == "kafkatopics.kafka.strimzi.io":
                    return [v["name"] for v in crd["spec"]["versions"] if v.get("served")]
    pytest.skip("no KafkaTopic CRD in the CRD directory")


def test_unserved_crd_version_is_rejected(catalog: SchemaCatalog, crd_dir: Path) -> None:
    served = _kafka_topic_served_versions(crd_dir)
    obj = kafka_topic()
    obj["apiVersion"] = "kafka.strimzi.io/v1beta2"
    if "v1beta2" in served:
        assert catalog.problems(obj) == []
    else:
        assert catalog.problems(obj) == [
            SchemaProblem(
                "",
                "kafka.strimzi.io/v1beta2 KafkaTopic: version not served by the CRD; "
                f"served: {', '.join(served)}",
            )
        ]


def test_crd_metadata_is_checked_as_object_meta(catalog: SchemaCatalog) -> None:
    obj = model()
    obj["metadata"]["labels"]["replicas"] = 3
    obj["metadata"]["ownerReferences"] = [{"kind": "X"}]
    assert catalog.problems(obj) == [
        SchemaProblem("metadata.labels.replicas", "expected string, got integer 3"),
        SchemaProblem("metadata.ownerReferences[0]", "missing required field 'apiVersion'"),
        SchemaProblem("metadata.ownerReferences[0]", "missing required field 'name'"),
        SchemaProblem("metadata.ownerReferences[0]", "missing required field 'uid'"),
    ]


def test_preserve_unknown_fields_stay_open(catalog: SchemaCatalog) -> None:
    obj = kafka_topic()
    obj["spec"]["config"]["cleanup.policy"] = "compact"
    obj["spec"]["config"]["segment.bytes"] = 1073741824
    assert catalog.problems(obj) == []


def _samples(crd_dir: Path) -> Iterator[tuple[str, Obj]]:
    for path in sorted(crd_dir.glob("**/samples/**/*.y*ml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc:
                yield str(path.relative_to(crd_dir)), doc


def test_upstream_samples_validate(catalog: SchemaCatalog, crd_dir: Path) -> None:
    samples = list(_samples(crd_dir))
    if not samples:
        pytest.skip(f"no samples/ folder under {crd_dir}")
    failures = {name: catalog.problems(doc) for name, doc in samples}
    assert {name: found for name, found in failures.items() if found} == {}
    assert len(samples) >= 10


def _mutations(obj: Obj) -> Iterator[Obj]:
    """Small edits of a valid object at every level: unknown keys, wrong types, deletions."""

    def paths(node: Any, prefix: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
        yield prefix
        if isinstance(node, dict | list):
            for key, child in node.items() if isinstance(node, dict) else enumerate(node):
                yield from paths(child, (*prefix, key))

    def at(root: Any, path: tuple[Any, ...]) -> Any:
        for key in path:
            root = root[key]
        return root

    wrong = {str: 12345, int: "many", float: "x", bool: "yes", dict: ["x"], list: {"x": 1}}
    for path in paths(obj, ()):
        target = at(obj, path)
        if isinstance(target, dict):
            mutated = copy.deepcopy(obj)
            at(mutated, path)["zzUnknown"] = 1
            yield mutated
        if path:
            mutated = copy.deepcopy(obj)
            at(mutated, path[:-1])[path[-1]] = wrong[type(target)]
            yield mutated
            mutated = copy.deepcopy(obj)
            del at(mutated, path[:-1])[path[-1]]
            yield mutated
        if isinstance(target, str):
            mutated = copy.deepcopy(obj)
            at(mutated, path[:-1])[path[-1]] = None
            yield mutated


@pytest.mark.parametrize("kind", VALID)
def test_fast_and_slow_paths_agree(catalog: SchemaCatalog, kind: str) -> None:
    base = VALID[kind]()
    validator: Any = catalog._kind_validator(base["apiVersion"], base["kind"])
    assert validator.compile_fast(), validator.engine
    checked = rejected = 0
    for obj in [base, *_mutations(base)]:
        slow_ok = validator.slow_problems(obj) == []
        assert validator.fast_accepts(obj) == slow_ok, obj
        checked += 1
        rejected += not slow_ok
    assert checked > 20
    assert 0 < rejected < checked


def test_every_crd_compiles_with_fastjsonschema(catalog: SchemaCatalog, crd_dir: Path) -> None:
    if crd_dir != DEFAULT_CRD_DIR:
        pytest.skip("only checked against the shared CRD set")
    versions = {
        "serving.kserve.io/v1beta1": ["InferenceService"],
        "serving.kserve.io/v1alpha1": ["ServingRuntime", "ClusterServingRuntime"],
        "argoproj.io/v1alpha1": ["Application", "ApplicationSet", "AppProject"],
        "kafka.strimzi.io/v1": ["Kafka", "KafkaTopic"],
        "mlops.seldon.io/v1alpha1": ["Server", "ServerConfig", "SeldonRuntime", "SeldonConfig"],
    }
    for api_version, kinds in versions.items():
        for kind in kinds:
            validator: Any = catalog._kind_validator(api_version, kind)
            assert validator.compile_fast(), validator.engine


def test_compiled_code_is_reused_from_the_disk_cache(crd_dir: Path, tmp_path: Path) -> None:
    first = SchemaCatalog.from_crd_dir(crd_dir, cache_dir=tmp_path)
    validator: Any = first._kind_validator("kafka.strimzi.io/v1", "KafkaTopic")
    assert validator.compile_fast()
    second = SchemaCatalog.from_crd_dir(crd_dir, cache_dir=tmp_path)
    reused: Any = second._kind_validator("kafka.strimzi.io/v1", "KafkaTopic")
    assert reused.engine == "fastjsonschema (cached code)"
    assert second.problems(kafka_topic()) == []
    assert second.problems(_set(kafka_topic(), "spec.bogus", 1)) == [
        SchemaProblem("spec.bogus", "unknown field 'bogus'")
    ]


# --- Catalog loading, with small synthetic CRDs --------------------------------------------------


def _crd(kind: str, schema: Obj, *, group: str = "example.com", versions: Any = None) -> Obj:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{kind.lower()}s.{group}"},
        "spec": {
            "group": group,
            "names": {"kind": kind, "plural": f"{kind.lower()}s"},
            "scope": "Namespaced",
            "versions": versions
            or [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
        },
    }


WIDGET_SCHEMA: Obj = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "required": ["size"],
            "properties": {
                "size": {"x-kubernetes-int-or-string": True},
                "note": {"type": "string", "nullable": True},
                "name": {"type": "string", "pattern": "^\\p{Lu}"},
                "mode": {"type": "string", "enum": ["a", "b"], "nullable": True},
                "limit": {"type": "integer", "minimum": 1, "exclusiveMinimum": True},
                "extra": {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": True,
                    "properties": {"known": {"type": "string"}},
                },
                "choice": {
                    "oneOf": [
                        {"properties": {"a": {"type": "string"}}, "required": ["a"]},
                        {"properties": {"b": {"type": "string"}}, "required": ["b"]},
                    ],
                    "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                    "type": "object",
                },
            },
        },
    },
}


def _widget(**spec: Any) -> Obj:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"size": 1, **spec},
    }


@pytest.fixture
def widget_catalog(tmp_path: Path) -> SchemaCatalog:
    crds = tmp_path / "crds"
    (crds / "nested").mkdir(parents=True)
    (crds / "nested" / "widget.yaml").write_text(
        "# leading comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
        "---\n" + yaml.safe_dump(_crd("Widget", WIDGET_SCHEMA)),
        encoding="utf-8",
    )
    (crds / "README.md").write_text("not yaml: [", encoding="utf-8")
    return SchemaCatalog.from_crd_dir(crds, cache_dir=tmp_path / "cache")


def test_openapi_extensions(widget_catalog: SchemaCatalog) -> None:
    check = widget_catalog.problems
    assert check(_widget()) == []
    assert check(_widget(size="10%", note=None, mode=None, limit=2)) == []
    assert check(_widget(extra={"known": "x", "anything": {"goes": 1}})) == []
    assert check(_widget(choice={"a": "x"})) == []
    assert check(_widget(size=[1])) == [
        SchemaProblem("spec.size", "expected integer or string, got array")
    ]
    assert check(_widget(limit=1)) == [SchemaProblem("spec.limit", "1 must be greater than 1")]
    assert check(_widget(mode="c")) == [SchemaProblem("spec.mode", "'c' is not one of ['a', 'b']")]
    assert check(_widget(extra={"known": 1})) == [
        SchemaProblem("spec.extra.known", "expected string, got integer 1")
    ]
    assert check(_widget(choice={})) == [
        SchemaProblem("spec.choice", "missing required field 'a' (no oneOf choice matches)")
    ]


def test_untranslatable_pattern_is_skipped_and_recorded(widget_catalog: SchemaCatalog) -> None:
    assert widget_catalog.problems(_widget(name="lowercase")) == []
    skipped = [p for p in SKIPPED_PATTERNS if p.schema == "example.com/v1 Widget"]
    assert [(p.location, p.pattern) for p in skipped] == [
        ("/properties/spec/properties/name/pattern", "^\\p{Lu}")
    ]
    assert "not supported" in skipped[0].reason


def test_kubectl_list_export_is_understood(crd_dir: Path, tmp_path: Path) -> None:
    crds = []
    for name in ("mlops.seldon.io_models.yaml", "mlops.seldon.io_pipelines.yaml"):
        found = sorted(crd_dir.rglob(name))
        if not found:
            pytest.skip(f"{name} not in {crd_dir}")
        crds.append(yaml.safe_load(found[0].read_text(encoding="utf-8")))
    crds.append(_crd("Widget", WIDGET_SCHEMA))
    export = {"apiVersion": "v1", "kind": "List", "items": crds, "metadata": {}}
    (tmp_path / "all.yaml").write_text(yaml.safe_dump(export), encoding="utf-8")
    listed = SchemaCatalog.from_crd_dir(tmp_path, cache_dir=tmp_path / "cache")
    assert listed.problems(model()) == []
    assert listed.problems(pipeline()) == []
    assert listed.problems(_widget()) == []
    assert listed.problems(_set(model(), "spec.memroy", "1")) == [
        SchemaProblem("spec.memroy", "unknown field 'memroy'")
    ]


def test_catalog_errors(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="does not exist"):
        SchemaCatalog.from_crd_dir(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\n")
    with pytest.raises(CatalogError, match="no CustomResourceDefinition found"):
        SchemaCatalog.from_crd_dir(tmp_path / "empty")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "bad.yaml").write_text(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "spec: {group: example.com, names: {kind: [Widget}\n"
    )
    with pytest.raises(CatalogError, match=r"bad\.yaml:1: not valid YAML"):
        SchemaCatalog.from_crd_dir(broken)
    twice = tmp_path / "twice"
    twice.mkdir()
    for name in ("a.yaml", "b.yml"):
        (twice / name).write_text(yaml.safe_dump(_crd("Widget", WIDGET_SCHEMA)))
    with pytest.raises(CatalogError, match=r"example.com Widget is defined twice: .*a\.yaml"):
        SchemaCatalog.from_crd_dir(twice)


def test_broken_yaml_after_the_crd_head_is_reported_when_used(tmp_path: Path) -> None:
    text = yaml.safe_dump(_crd("Widget", WIDGET_SCHEMA), sort_keys=False)
    (tmp_path / "late.yaml").write_text(text + "  oops: [unclosed\n")
    catalog = SchemaCatalog.from_crd_dir(tmp_path, cache_dir=tmp_path / "cache")
    with pytest.raises(CatalogError, match=r"late\.yaml:1: not valid YAML"):
        catalog.problems(_widget())


def test_crd_without_schema_is_an_error(tmp_path: Path) -> None:
    versions = [
        {"name": "v1", "served": True, "storage": True},
        {"name": "v2", "served": False, "storage": False},
    ]
    (tmp_path / "bare.yaml").write_text(yaml.safe_dump(_crd("Widget", {}, versions=versions)))
    catalog = SchemaCatalog.from_crd_dir(tmp_path, cache_dir=tmp_path / "cache")
    assert catalog.problems(_widget())[0].message.endswith("has no schema for v1")
    assert catalog.problems({**_widget(), "apiVersion": "example.com/v2"}) == [
        SchemaProblem("", "example.com/v2 Widget: version not served by the CRD; served: v1")
    ]
