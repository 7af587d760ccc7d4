"""What the smoke test checks, in order, and the report it prints.

The order follows what can break after a sync: the server is up, then the model is loaded,
then it describes itself, then it answers one real request with the outputs it declares, in
time. A check that fails makes the checks depending on it "not run", so the first FAIL line
is the cause, not a cascade. Seldon's pipeline gateway serves only `infer` and `ready`; when
the target is a Pipeline the server and metadata checks are skipped and say why.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from modelops_plugins.smoke import wire
from modelops_plugins.smoke.client import ClientError, V2Client

Status = Literal["PASS", "FAIL", "SKIP"]
CHECKS = ("server live", "server ready", "model ready", "model metadata",
          "request fits metadata", "inference", "outputs", "latency")
PIPELINE_GATEWAY = "Seldon's pipeline gateway serves only infer and ready"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str = ""


@dataclass
class Report:
    model: str
    url: str
    protocol: str
    route: str
    checks: list[Check] = field(default_factory=list)
    latency_ms: float | None = None

    @property
    def ok(self) -> bool:
        return all(c.status != "FAIL" for c in self.checks)

    def format(self) -> str:
        route = f" ({self.route})" if self.route else ""
        lines = [f"smoke {self.model} at {self.url} over {self.protocol}{route}"]
        width = max(len(c.name) for c in self.checks)
        for check in self.checks:
            lines.append(f"  {check.status}  {check.name:<{width}}  {check.detail}".rstrip())
        counts = {s: sum(c.status == s for c in self.checks) for s in ("PASS", "FAIL", "SKIP")}
        verdict = "OK" if self.ok else "FAILED"
        lines.append(f"smoke: {verdict} ({counts['PASS']} passed, {counts['FAIL']} failed, "
                     f"{counts['SKIP']} skipped or not run)")
        return "\n".join(lines) + "\n"


def _shape_text(shape: list[int]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def describe(tensors: list[wire.TensorMetadata] | list[wire.Tensor]) -> str:
    return ", ".join(f"{t['name']} {t['datatype']} {_shape_text(t['shape'])}" for t in tensors)


def request_from_metadata(metadata: wire.ModelMetadata) -> wire.InferenceRequest | None:
    """A request of zeros shaped as the metadata declares (-1 dimensions become 1)."""
    if not metadata["inputs"]:
        return None
    inputs = []
    for declared in metadata["inputs"]:
        shape = [1 if d == -1 else d for d in declared["shape"]] or [1]
        count = math.prod(shape)
        fill: object = {"BYTES": "", "BOOL": False}.get(declared["datatype"], 0)
        inputs.append(wire.Tensor(name=declared["name"], datatype=declared["datatype"],
                                  shape=shape, data=[fill] * count))
    return wire.InferenceRequest(inputs=inputs)


def request_problems(request: wire.InferenceRequest,
                     metadata: wire.ModelMetadata) -> list[str]:
    """How the request differs from the inputs the model declares."""
    declared = {t["name"]: t for t in metadata["inputs"]}
    problems = []
    for tensor in request["inputs"]:
        spec = declared.get(tensor["name"])
        if spec is None:
            problems.append(f"input {tensor['name']!r} is not one the model declares "
                            f"({', '.join(declared)})")
            continue
        if tensor["datatype"] != spec["datatype"]:
            problems.append(f"input {tensor['name']!r} is {tensor['datatype']}, the model "
                            f"declares {spec['datatype']}")
        if spec["shape"] and not wire.shape_matches(tensor["shape"], spec["shape"]):
            problems.append(f"input {tensor['name']!r} has shape {_shape_text(tensor['shape'])}"
                            f", the model declares {_shape_text(spec['shape'])}")
    missing = sorted(set(declared) - {t["name"] for t in request["inputs"]})
    if missing:
        problems.append(f"missing input(s) the model declares: {', '.join(missing)}")
    return problems


def output_problems(response: wire.InferenceResponse, request: wire.InferenceRequest,
                    metadata: wire.ModelMetadata | None) -> list[str]:
    """Output names, datatypes, shapes and values that are not what was asked or declared."""
    outputs = response["outputs"]
    if not outputs:
        return ["the response has no outputs"]
    problems = []
    names = [o["name"] for o in outputs]
    asked = [o["name"] for o in request.get("outputs", [])]
    if asked and sorted(asked) != sorted(names):
        problems.append(f"asked for outputs {', '.join(asked)}, got {', '.join(names)}")
    declared = {t["name"]: t for t in (metadata or {"outputs": []})["outputs"]}
    for tensor in outputs:
        spec = declared.get(tensor["name"])
        if declared and spec is None:
            problems.append(f"output {tensor['name']!r} is not one the model declares "
                            f"({', '.join(declared)})")
        elif spec is not None:
            if tensor["datatype"] != spec["datatype"]:
                problems.append(f"output {tensor['name']!r} is {tensor['datatype']}, the model "
                                f"declares {spec['datatype']}")
            if spec["shape"] and not wire.shape_matches(tensor["shape"], spec["shape"]):
                problems.append(f"output {tensor['name']!r} has shape "
                                f"{_shape_text(tensor['shape'])}, the model declares "
                                f"{_shape_text(spec['shape'])}")
        if len(tensor["data"]) != math.prod(tensor["shape"]):
            problems.append(f"output {tensor['name']!r} has {len(tensor['data'])} values for "
                            f"shape {_shape_text(tensor['shape'])}")
        if tensor["datatype"] in wire.FLOAT_TYPES:
            bad = sum(not math.isfinite(v) for v in tensor["data"])
            if bad:
                problems.append(f"output {tensor['name']!r} has {bad} NaN or infinite value(s)")
    return problems


def run(client: V2Client, model: str, request: wire.InferenceRequest | None, *,
        max_latency_ms: float | None, route: str = "", pipeline: bool = False) -> Report:
    """Run every check against one model (or pipeline) and return the report."""
    report = Report(model=model, url=client.url, protocol=client.protocol, route=route)
    checks = report.checks

    def add(name: str, status: Status, detail: str = "") -> None:
        checks.append(Check(name, status, detail))

    def stop(reason: str) -> Report:
        for name in CHECKS[len(checks):]:
            add(name, "SKIP", f"not run: {reason}")
        return report

    def probe(name: str, call: Callable[[], bool], refusal: str) -> bool:
        try:
            ok = call()
        except ClientError as exc:
            add(name, "FAIL", str(exc))
            return False
        add(name, "PASS" if ok else "FAIL", "" if ok else refusal)
        return ok

    if pipeline:
        add("server live", "SKIP", PIPELINE_GATEWAY)
        add("server ready", "SKIP", PIPELINE_GATEWAY)
    else:
        if not probe("server live", client.server_live, "the server says it is not live"):
            return stop("the server is not live")
        if not probe("server ready", client.server_ready, "the server is up but not ready "
                     "(models still loading or failed to load)"):
            return stop("the server is not ready")
    if not probe("model ready", lambda: client.model_ready(model),
                 f"{model!r} is not ready: unknown to the server, still loading, or failed "
                 "to load"):
        return stop("the model is not ready")

    metadata: wire.ModelMetadata | None = None
    if pipeline:
        add("model metadata", "SKIP", PIPELINE_GATEWAY)
    else:
        try:
            metadata = client.metadata(model)
        except ClientError as exc:
            add("model metadata", "FAIL", str(exc))
        else:
            add("model metadata", "PASS",
                f"inputs {describe(metadata['inputs']) or 'not declared'}; "
                f"outputs {describe(metadata['outputs']) or 'not declared'}")

    if request is None and metadata is not None:
        request = request_from_metadata(metadata)
    if request is None:
        add("request fits metadata", "FAIL", "no request to send: give --payload FILE or "
            "--from-spec ENV/MODEL, or declare inputs in the model's metadata")
        return stop("there is no request")
    if metadata is not None and metadata["outputs"] and "outputs" not in request:
        # Ask for the declared outputs by name: JSON tensors back over HTTP, and a check that
        # the model really produces them.
        request = wire.with_outputs(request, [t["name"] for t in metadata["outputs"]])
    if metadata is None:
        add("request fits metadata", "SKIP", "no metadata to compare with")
    elif not metadata["inputs"]:
        add("request fits metadata", "SKIP", "the model declares no inputs")
    else:
        problems = request_problems(request, metadata)
        add("request fits metadata", "FAIL" if problems else "PASS",
            "; ".join(problems) or describe(request["inputs"]))

    started = time.perf_counter()
    try:
        response = client.infer(model, request)
    except ClientError as exc:
        add("inference", "FAIL", str(exc))
        return stop("inference failed")
    report.latency_ms = (time.perf_counter() - started) * 1000
    add("inference", "PASS", f"{describe(request['inputs'])} -> "
        f"{', '.join(o['name'] for o in response['outputs']) or 'no outputs'}")

    problems = output_problems(response, request, metadata)
    add("outputs", "FAIL" if problems else "PASS",
        "; ".join(problems) or describe(response["outputs"]))

    latency = report.latency_ms
    if max_latency_ms is None:
        add("latency", "SKIP", f"{latency:.1f} ms; no threshold given (--max-latency-ms)")
    elif latency > max_latency_ms:
        add("latency", "FAIL", f"{latency:.1f} ms > {max_latency_ms:g} ms allowed")
    else:
        add("latency", "PASS", f"{latency:.1f} ms <= {max_latency_ms:g} ms")
    return report
