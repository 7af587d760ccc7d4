"""`modelops smoke` without a server: the rendered Job's command, bad input, and the checks.

The end-to-end runs against a real MLServer are in test_serving.py; here: every rendered
PostSync Job runs exactly a command this CLI accepts (with a request it accepts), the verb
works outside a checkout (as in the Job's container), bad input exits 2 with a located
message, and the output checks catch what they claim to.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import FEATURES_ENV, EnvTree, run_cli
from modelops.cli import build_parser
from modelops_plugins.smoke import checks, wire
from modelops_plugins.smoke.cli import handle
from serving import free_ports


def rendered(env: EnvTree, kind: str) -> list[dict[str, Any]]:
    base = env.root / "environments" / env.name / "rendered"
    objects = [yaml.safe_load(p.read_text()) for p in sorted(base.rglob("*.yaml"))]
    return [o for o in objects if o["kind"] == kind]


def test_every_rendered_job_runs_this_smoke_cli(env_tree: EnvTree) -> None:
    """The Job's args parse with the real parser; header, threshold and request are right."""
    env = env_tree
    folder = env.root / "environments" / env.name
    spec = yaml.safe_load((folder / "environment.yaml").read_text())["spec"]
    models = {p.stem: yaml.safe_load(p.read_text())["spec"]
              for p in (folder / "models").glob("*.yaml")}
    pipelines = {p["metadata"]["name"] for p in rendered(env, "Pipeline")}
    configmaps = {c["metadata"]["name"]: c for c in rendered(env, "ConfigMap")}
    jobs = rendered(env, "Job")
    assert len(jobs) == len(models)
    for job in jobs:
        pod = job["spec"]["template"]["spec"]
        container = pod["containers"][0]
        args = build_parser().parse_args(container["args"])
        assert args.handler is handle
        model = models[args.model]
        assert args.protocol == "http"
        if model.get("target", spec.get("defaultTarget", "seldon")) == "kserve":
            # KServe: the InferenceService's own predictor Service, no routing header.
            assert args.url == f"{args.model}-predictor.{spec['namespace']}:80"
            assert not args.header
        else:
            assert args.url == f"seldon-mesh.{spec['namespace']}:80"
            route = dict(h.split("=", 1) for h in args.header)["seldon-model"]
            if "drift" in model or "processing" in model:
                assert route == f"{args.model}-pipeline.pipeline"
                assert route.removesuffix(".pipeline") in pipelines
            else:
                assert route == args.model
        own = model.get("alerts", {}).get("p99LatencyMs")
        assert args.max_latency_ms == (own or spec["alerts"]["p99LatencyMs"])
        assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PostSync"
        if "smoke" not in model:
            assert args.payload is None
            continue
        mount = next(m for m in container["volumeMounts"] if m["name"] == "request")
        assert args.payload == Path(mount["mountPath"]) / "request.json"
        volume = next(v for v in pod["volumes"] if v["name"] == "request")
        request = configmaps[volume["configMap"]["name"]]["data"]["request.json"]
        parsed = wire.parse_request(json.loads(request))
        assert parsed["inputs"][0]["shape"] == model["smoke"]["inputs"][0]["shape"]


def test_smoke_needs_no_checkout(tmp_path: Path) -> None:
    """In the Job's container there is no git repository: the verb still runs (exit 1 here,
    nothing listens), it does not stop at 'not inside a git repository' (exit 2)."""
    port = free_ports(1)[0]
    result = run_cli("smoke", "--url", f"127.0.0.1:{port}", "--model", "m", cwd=tmp_path,
                     env={"GIT_CEILING_DIRECTORIES": str(tmp_path.parent)})
    assert result.rc == 1, result.stderr
    assert "FAIL  server live" in result.stdout
    assert "Traceback" not in result.stderr


BAD_PAYLOADS = [
    ('{"inputs": [', "request.json:1:13: the V2 request is not JSON: Expecting value"),
    ('{"inputs": []}', "request.inputs: at least one input is needed"),
    ('{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3]}]}',
     "request.inputs[0].data: 3 value(s) for shape [1, 4] (4 expected)"),
    ('{"inputs": [{"name": "x", "datatype": "FP31", "shape": [1], "data": [1]}]}',
     "request.inputs[0].datatype: 'FP31' is not a V2 datatype"),
    ('{"inputs": [{"name": "x", "datatype": "INT64", "shape": [2], "data": [1, 2.5]}]}',
     "request.inputs[0].data[1]: number 2.5 is not a INT64 value"),
    ('{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": ["a"]}]}',
     "request.inputs[0].data[0]: string 'a' is not a FP32 value"),
    ('{"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1], "data": []}]}',
     "request.inputs[0].shape[0]: expected an integer >= 0, got number -1"),
    ('{"input": []}', "request: unknown field 'input'; V2 allows id, inputs, outputs, "
     "parameters"),
    ('{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]},'
     ' {"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}]}',
     "request.inputs: 'x' appears twice"),
    ('{"inputs": [{"name": "x", "datatype": "BYTES", "shape": [1], "data": ["a"],'
     ' "parameters": {"content_type": "str"}}]}',
     "request.inputs[0].parameters: per-input parameters cannot be sent through tritonclient"),
]


@pytest.mark.parametrize(("body", "message"), BAD_PAYLOADS)
def test_bad_payload_is_bad_input(tmp_path: Path, run_main: Any, body: str,
                                  message: str) -> None:
    path = tmp_path / "request.json"
    path.write_text(body)
    result = run_main("smoke", "--url", "127.0.0.1:1", "--model", "m", "--payload", str(path))
    assert result.rc == 2
    assert message in result.stderr
    assert result.stderr.startswith(f"modelops: error: {path}")


@pytest.mark.parametrize(("args", "message"), [
    (["--header", "seldon-model"], "--header 'seldon-model': expected KEY=VALUE"),
    (["--from-spec", FEATURES_ENV], f"--from-spec '{FEATURES_ENV}': expected ENV/MODEL"),
    (["--from-spec", f"{FEATURES_ENV}/nope"], f"no model 'nope' in environment '{FEATURES_ENV}'"),
    (["--from-spec", "nope/scorer"], "unknown environment 'nope'"),
    (["--max-latency-ms", "0"], "--max-latency-ms must be greater than zero"),
    (["--payload", "missing.json"], "missing.json: cannot read the V2 request"),
    (["--payload", "a.json", "--from-spec", f"{FEATURES_ENV}/scorer"], "not allowed with"),
    (["--protocol", "udp"], "invalid choice: 'udp'"),
    (["--url", "http://127.0.0.1:1"], "--url 'http://127.0.0.1:1': expected HOST:PORT without a "
                                      "scheme"),
])
def test_bad_usage_exits_2(run_main: Any, feature_repo: Path, args: list[str],
                          message: str) -> None:
    result = run_main("smoke", "--url", "127.0.0.1:1", "--model", "m", *args, repo=feature_repo)
    assert result.rc == 2
    assert message in result.stderr


def test_spec_request_is_what_the_configmap_holds(feature_repo: Path) -> None:
    """--from-spec builds the same request the renderer mounts for the Job."""
    import argparse

    from modelops_plugins.smoke.cli import from_spec

    request, threshold = from_spec(argparse.Namespace(from_spec=f"{FEATURES_ENV}/scorer",
                                                      repo=feature_repo))
    assert threshold == 300  # the model's own p99LatencyMs, not the environment's 500
    configmap = next(c for c in rendered(EnvTree(feature_repo, FEATURES_ENV), "ConfigMap")
                     if c["metadata"]["name"] == "smoke-scorer")
    assert request == wire.parse_request(json.loads(configmap["data"]["request.json"]))


# ---------------------------------------------------------------- the checks themselves


METADATA = wire.parse_metadata({
    "name": "m",
    "inputs": [{"name": "x", "datatype": "FP32", "shape": ["-1", "3"]}],
    "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 1]},
                {"name": "label", "datatype": "INT64", "shape": [-1]}],
})


def tensor(name: str, datatype: str, shape: list[int], data: list[Any]) -> wire.Tensor:
    return wire.Tensor(name=name, datatype=datatype, shape=shape, data=data)


def test_metadata_shapes_from_grpc_json_are_integers() -> None:
    assert METADATA["inputs"][0]["shape"] == [-1, 3]


def test_request_from_metadata_fills_variable_dimensions_with_one() -> None:
    request = checks.request_from_metadata(METADATA)
    assert request == {"inputs": [tensor("x", "FP32", [1, 3], [0, 0, 0])]}
    assert checks.request_problems(request, METADATA) == []


def test_request_problems_name_every_mismatch() -> None:
    request = wire.InferenceRequest(inputs=[tensor("x", "FP64", [2, 4], [0.0] * 8),
                                            tensor("z", "FP32", [1], [0.0])])
    assert checks.request_problems(request, METADATA) == [
        "input 'x' is FP64, the model declares FP32",
        "input 'x' has shape [2, 4], the model declares [-1, 3]",
        "input 'z' is not one the model declares (x)",
    ]
    assert checks.request_problems(wire.InferenceRequest(inputs=[tensor("z", "FP32", [1],
                                                                        [0])]), METADATA)[-1] \
        == "missing input(s) the model declares: x"


def response(*outputs: wire.Tensor) -> wire.InferenceResponse:
    return wire.InferenceResponse(model_name="m", outputs=list(outputs))


def test_outputs_that_match_the_metadata_pass() -> None:
    request = checks.request_from_metadata(METADATA)
    assert request is not None
    good = response(tensor("y", "FP32", [1, 1], [0.5]), tensor("label", "INT64", [1], [2]))
    assert checks.output_problems(good, request, METADATA) == []


def test_output_problems_catch_type_shape_names_and_nan() -> None:
    request = wire.with_outputs(wire.InferenceRequest(inputs=[]), ["y", "label"])
    bad = response(tensor("y", "FP64", [1, 2], [math.nan, 1.0]),
                   tensor("extra", "INT64", [1], [1]))
    assert checks.output_problems(bad, request, METADATA) == [
        "asked for outputs y, label, got y, extra",
        "output 'y' is FP64, the model declares FP32",
        "output 'y' has shape [1, 2], the model declares [-1, 1]",
        "output 'y' has 1 NaN or infinite value(s)",
        "output 'extra' is not one the model declares (y, label)",
    ]
    assert checks.output_problems(response(), request, None) == ["the response has no outputs"]


def test_nested_data_is_flattened_row_major() -> None:
    parsed = wire.parse_tensor({"name": "x", "datatype": "INT32", "shape": [2, 2],
                                "data": [[1, 2], [3, 4]]}, "t")
    assert parsed["data"] == [1, 2, 3, 4]
    assert wire.to_numpy(parsed).tolist() == [[1, 2], [3, 4]]
