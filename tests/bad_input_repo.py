"""The repository the bad-input suite breaks, built from fixed texts.

test_bad_input.py hard-codes `path:line:col` positions, so the specs it edits must keep their
layout: they are held here as text rather than read from `environments/`, so a fork may change,
rename or remove its sample environments and models without touching this suite. `build(root)`
writes environment `prod` (this environment.yaml, fraud-detector.yaml and churn-predictor.yaml
verbatim, plus the models they refer to, made by `repo_builder`) and `dev` (the same texts with
its own name, namespace and 1800Mi for fraud-detector), renders both, and returns `root`.
"""

from __future__ import annotations

from pathlib import Path

from repo_builder import build_repo, environment, model, render_repo

PREFIX = "gs://acme-models-prod/"
ENVIRONMENT = """\
# yaml-language-server: $schema=../../generators/schemas/environment.schema.json
apiVersion: modelops.dev/v1alpha1
kind: Environment
metadata:
  name: prod
spec:
  namespace: models-prod
  cluster:
    name: prod-eu1
    server: https://prod-eu1.k8s.acme.internal
  artifacts:
    allowedPrefixes:
      - gs://acme-models-prod/
    storageSecret: seldon-rclone-gcs
  servers:
    mlserver-cpu:
      runtime: mlserver
      replicas: 4
      memory: 16Gi
      cpu: "4"
      overcommitPercent: 10
      maxArtifactSize: 2Gi
    triton-gpu:
      runtime: triton
      replicas: 3
      memory: 32Gi
      cpu: "8"
      gpu: 1
      overcommitPercent: 0
      maxArtifactSize: 4Gi
  defaults:
    replicas: {min: 2, max: 6}
    memoryFactor: 1.5
  limits:
    maxOvercommitPercent: 50
    minReplicas: 2
  alerts:
    p99LatencyMs: 500
    errorRatePercent: 0.5
    loadBacklog: 50
    kafkaLagMessages: 10000
    kafkaLagSeconds: 300
  kafka:
    cluster: seldon
    namespace: kafka
    topicPrefix: seldon
    partitions: 6
    replicationFactor: 3
    minInSyncReplicas: 2
    retentionHours: 168
  smoke:
    image: ghcr.io/acme/modelops:0.1.0
    timeoutSeconds: 300
  monitoring:
    labels:
      release: kube-prometheus-stack
"""
FRAUD_DETECTOR = """\
# yaml-language-server: $schema=../../../generators/schemas/modeldeployment.schema.json
apiVersion: modelops.dev/v1alpha1
kind: ModelDeployment
metadata:
  name: fraud-detector
  owner: risk-ml
  description: Card-not-present fraud score, called on every checkout.
spec:
  artifact:
    uri: gs://acme-models-prod/fraud-detector/2026-11-02-a1b2c3
    size: 1200Mi
  framework: xgboost
  memory: 2Gi
  replicas: {min: 3, max: 8}
  server: mlserver-cpu
  processing:
    pre: [feature-encoder]
  drift:
    reference: gs://acme-models-prod/fraud-detector/drift/2026-11-02-a1b2c3
    referenceRows: 10000
    pValue: 0.01
    batchSize: 100
  smoke:
    inputs:
      - name: predict
        datatype: FP32
        shape: [1, 4]
        data: [0.1, 0.2, 0.3, 0.4]
  alerts:
    p99LatencyMs: 300
"""
CHURN_PREDICTOR = """\
# yaml-language-server: $schema=../../../generators/schemas/modeldeployment.schema.json
apiVersion: modelops.dev/v1alpha1
kind: ModelDeployment
metadata:
  name: churn-predictor
  owner: growth-ml
spec:
  artifact:
    uri: gs://acme-models-prod/churn-predictor/2026-11-02-a1b2c3
    size: 180Mi
  framework: sklearn
  server: mlserver-cpu
  rollout:
    strategy: canary
    candidate:
      uri: gs://acme-models-prod/churn-predictor/2026-11-20-d4e5f6
      weight: 10
  logger:
    percent: 5
  smoke:
    inputs:
      - name: predict
        datatype: FP64
        shape: [1, 6]
        data: [12, 3, 0.5, 1, 0, 42.0]
"""


def _model(name: str, **spec: object) -> dict[str, object]:
    return model(name, **{"artifact": {"uri": f"{PREFIX}{name}/2026-11-02-a1b2c3", "size": "95Mi"},
                          "server": "mlserver-cpu", **spec})


def build(root: Path) -> Path:
    others = (_model("feature-encoder"), _model("ltv-regressor", framework="lightgbm"),
              _model("demand-forecaster", framework="onnx", server="triton-gpu"))
    build_repo(root, environment("prod", *others), environment("dev", others[0]),
               render=False, commit=False)
    texts = {
        "prod": (ENVIRONMENT, FRAUD_DETECTOR, CHURN_PREDICTOR),
        "dev": (ENVIRONMENT.replace("name: prod\n", "name: dev\n")
                .replace("namespace: models-prod\n", "namespace: models-dev\n"),
                FRAUD_DETECTOR.replace("memory: 2Gi\n", "memory: 1800Mi\n"), None),
    }
    for env, (environment_text, fraud, churn) in texts.items():
        folder = root / "environments" / env
        (folder / "environment.yaml").write_text(environment_text, encoding="utf-8")
        (folder / "models" / "fraud-detector.yaml").write_text(fraud, encoding="utf-8")
        if churn is not None:
            (folder / "models" / "churn-predictor.yaml").write_text(churn, encoding="utf-8")
    render_repo(root)
    return root
