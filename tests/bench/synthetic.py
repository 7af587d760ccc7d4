"""A synthetic repository of N models × 3 environments, shaped like the samples.

The mix mirrors a real fleet: most models are plain MLServer models with a smoke request, one
in ten has a drift detector behind a pipeline, one in ten a canary, one in twenty a mirror, and
one in eight runs on the Triton pool. Environments are the repo's own sample environment files,
so the benchmark exercises exactly what users run.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

FRAMEWORKS = ("sklearn", "xgboost", "lightgbm")


def _model(env: str, bucket: str, i: int) -> str:
    name = f"model-{i:05d}"
    triton = i % 8 == 7
    lines = [
        "# yaml-language-server: $schema=../../../generators/schemas/modeldeployment.schema.json",
        "apiVersion: modelops.dev/v1alpha1",
        "kind: ModelDeployment",
        "metadata:",
        f"  name: {name}",
        f"  owner: team-{i % 17}",
        "spec:",
        "  artifact:",
        f"    uri: {bucket}{name}/2026-11-{1 + i % 28:02d}-{i:06x}",
        f"    size: {40 + (i * 37) % 900}Mi",
        f"  framework: {'onnx' if triton else FRAMEWORKS[i % 3]}",
        f"  server: {'triton-gpu' if triton else 'mlserver-cpu'}",
    ]
    if i % 3 == 0:
        lines.append(f"  memory: {1 + i % 3}Gi")
    if env == "prod":
        lines.append("  replicas: {min: 2, max: 4}")
    if i % 10 == 1:
        lines += ["  drift:", f"    reference: {bucket}{name}/drift/2026-11-02",
                  "    referenceRows: 5000", "    pValue: 0.01", "    batchSize: 50"]
        if triton:
            lines.append("    server: mlserver-cpu")
    if i % 10 == 2:
        lines += ["  rollout:", "    strategy: canary", "    candidate:",
                  f"      uri: {bucket}{name}/2026-11-20-c{i:05x}", "      weight: 10"]
    elif i % 20 == 3:
        lines += ["  rollout:", "    strategy: mirror", "    candidate:",
                  f"      uri: {bucket}{name}/2026-11-20-m{i:05x}", "      weight: 50"]
    if i % 4 != 3:
        lines += ["  smoke:", "    inputs:", "      - name: predict", "        datatype: FP32",
                  "        shape: [1, 4]", "        data: [0.1, 0.2, 0.3, 0.4]"]
    if i % 25 == 4:
        lines.append("  alerts: {p99LatencyMs: 250}")
    return "\n".join(lines) + "\n"


def _scale_pools(environment: str, count: int) -> str:
    """Size the sample pools for `count` models, as a platform team would for such a fleet,
    so the synthetic repository passes the capacity policies and the plan like the samples."""
    lines = []
    for line in environment.splitlines():
        if line.startswith("      replicas: "):
            lines.append(f"      replicas: {max(int(line.split()[-1]), count // 8)}")
        elif line.startswith("      memory: "):
            lines.append("      memory: 64Gi")
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


def make_repo(root: Path, source: Path, count: int) -> Path:
    """Write a repository with `count` models per environment under `root`."""
    if root.exists():
        shutil.rmtree(root)
    (root / "generators").mkdir(parents=True)
    shutil.copytree(source / "generators" / "schemas", root / "generators" / "schemas")
    if (source / "organization.yaml").is_file():   # where later versions take their images
        shutil.copy2(source / "organization.yaml", root / "organization.yaml")
    for env_dir in sorted((source / "environments").iterdir()):
        env_file = env_dir / "environment.yaml"
        if not env_file.is_file():
            continue
        target = root / "environments" / env_dir.name
        (target / "models").mkdir(parents=True)
        text = env_file.read_text()
        (target / "environment.yaml").write_text(_scale_pools(text, count))
        bucket = next(line.split("- ", 1)[1].strip() for line in text.splitlines()
                      if line.strip().startswith("- gs://"))
        for i in range(count):
            (target / "models" / f"model-{i:05d}.yaml").write_text(_model(env_dir.name,
                                                                           bucket, i))
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root
