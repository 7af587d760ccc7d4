"""The batch policies judge what the generators render, the same on OPA and regorus.

Repositories built here render their batch CronJobs; each rendered environment is judged whole
(its settings ConfigMap supplies the environment) by the real policy library on OPA's own engine
and on regorus. An InferenceService of the shape KServe rendering produces is added by hand
where a test needs one (the KServe generators are another piece of work), carrying the spec's
artifact size as `modelops.dev/artifact-size`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO_ROOT
from modelops.policy import Finding, PolicyLibrary, build_input, create_engine
from repo_builder import PREFIX, environment, model, rendered_objects

ENGINES = ("opa", "regorus")
LIBRARY = PolicyLibrary.load(REPO_ROOT / "policies")
BATCH = {"schedule": "0 4 * * *", "input": f"{PREFIX}in/rows.jsonl", "output": f"{PREFIX}out/"}
KSERVE = {"deploymentMode": "Knative", "autoscaler": "kpa", "knativeVersion": "1.19",
          "storage": {"remoteMbPerSecond": 100},
          "runtimes": {"kserve-sklearnserver": {
              "image": "docker.io/kserve/sklearnserver:v0.15.0", "formats": ["sklearn"],
              "cpu": "1"}}}


@pytest.fixture(scope="module", params=ENGINES)
def judge(request: pytest.FixtureRequest) -> Iterator[Any]:
    engine = create_engine(LIBRARY, request.param)

    def findings(objects: list[dict[str, Any]]) -> list[Finding]:
        found: list[Finding] = engine.evaluate(build_input(objects))
        return found

    yield findings


def on_cronjobs(findings: list[Finding], severity: str = "deny") -> list[Finding]:
    return [f for f in findings if f.kind == "CronJob" and f.severity == severity]


def kserve_environment(size: str, timeout: int, min_replicas: int = 0) -> list[dict[str, Any]]:
    """The rendered environment of a KServe model with a batch (its InferenceService too)."""
    ranker = model("ranker", server=None, artifact={"size": size},
                   replicas={"min": min_replicas, "max": 2},
                   batch={**BATCH, "timeoutSeconds": timeout})
    return rendered_objects(environment("kq", ranker, defaultTarget="kserve", kserve=KSERVE))


def test_the_rendered_batch_passes_every_policy(judge: Any) -> None:
    objects = rendered_objects(environment("qa", model("scorer", batch=BATCH)))
    assert "CronJob" in {o["kind"] for o in objects}
    findings = judge(objects)
    assert [str(f) for f in findings if f.severity == "deny"] == []
    assert on_cronjobs(findings, "warn") == []


def test_a_schedule_the_spec_accepts_can_still_be_too_frequent(judge: Any) -> None:
    objects = rendered_objects(environment("qa", model(
        "scorer", batch={**BATCH, "schedule": "*/3 * * * *"})))
    (finding,) = on_cronjobs(judge(objects))
    assert (finding.policy, finding.name) == ("batch-schedule", "batch-scorer")
    assert "3 minute(s) apart" in finding.message


def test_a_timeout_below_the_cold_start_is_denied(judge: Any) -> None:
    # 2000M at the environment's 100 MB/s is 20 s to load.
    (finding,) = on_cronjobs(judge(kserve_environment("2000M", 20)))
    assert (finding.policy, finding.name) == ("batch-cold-start", "batch-ranker")
    assert "at 100 MB/s is about 20.00 s" in finding.message


def test_a_timeout_above_the_cold_start_is_allowed(judge: Any) -> None:
    assert on_cronjobs(judge(kserve_environment("2000M", 21))) == []


def test_a_model_that_never_scales_to_zero_needs_no_cold_start_timeout(judge: Any) -> None:
    assert on_cronjobs(judge(kserve_environment("2000M", 1, min_replicas=1))) == []


def test_the_engines_agree_on_the_batch_samples() -> None:
    opa, regorus = (create_engine(LIBRARY, name) for name in ENGINES)
    samples = sorted(Path(REPO_ROOT / "policies").glob("batch-*/samples/*/*.yaml"))
    assert len(samples) >= 4
    for path in samples:
        objects = [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
        document = build_input(objects, environment={})
        assert opa.evaluate(document) == regorus.evaluate(document), path
