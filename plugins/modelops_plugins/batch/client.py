"""tritonclient's asyncio clients (HTTP and gRPC) behind one call, with errors classified.

What a failure means decides what the runner does with it, so every failure becomes a
`CallError` of one of three kinds:

- `rejected`: the server answered that this request is wrong (HTTP 4xx, gRPC
  INVALID_ARGUMENT, NOT_FOUND...). Never retried; the records in it fail.
- `server`: the server answered with an error of its own (HTTP 500, gRPC INTERNAL/UNKNOWN).
  Retried; if it persists the records in it fail (MLServer answers a model's exception, a
  wrong shape included, with a bare 500).
- `unavailable`: no usable answer (connection refused or reset, timeout, HTTP 502/503/504/
  429/408, gRPC UNAVAILABLE/DEADLINE_EXCEEDED/RESOURCE_EXHAUSTED). Retried; if it persists
  the run stops and can be resumed, because scoring further records would only fail them.

Retries back off exponentially with jitter, so a fleet of runners does not retry in step.
HTTP sends JSON tensors (MLServer rejects binary ones) with an explicit JSON content type
(tritonclient's asyncio client sends none, and MLServer then refuses the body).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from modelops_plugins.smoke import wire

Kind = Literal["rejected", "server", "unavailable"]
Outputs = list[tuple[str, str, npt.NDArray[Any]]]
UNAVAILABLE_HTTP = frozenset({"408", "429", "502", "503", "504"})
UNAVAILABLE_GRPC = frozenset({"UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED",
                              "ABORTED", "CANCELLED"})
SERVER_GRPC = frozenset({"INTERNAL", "UNKNOWN", "DATA_LOSS"})
LATENCY_SAMPLES = 10_000


class CallError(Exception):
    def __init__(self, kind: Kind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    def __str__(self) -> str:
        return self.message


def classify(exc: BaseException, url: str) -> CallError:
    """Whatever tritonclient, aiohttp, gRPC or the network raised, as a CallError."""
    from tritonclient.utils import InferenceServerException

    if isinstance(exc, CallError):
        return exc
    if isinstance(exc, InferenceServerException):
        status = str(exc.status() or "").removeprefix("StatusCode.")
        text = _server_text(exc)
        if status.isdigit():
            if status in UNAVAILABLE_HTTP:
                return CallError("unavailable", f"HTTP {status} from {url}: {text}")
            kind: Kind = "rejected" if status.startswith("4") else "server"
            return CallError(kind, f"HTTP {status}: {text}")
        if status in UNAVAILABLE_GRPC or not status:
            return CallError("unavailable", f"cannot reach {url}: {status or 'error'}: {text}")
        if status in SERVER_GRPC:
            return CallError("server", f"gRPC {status}: {text}")
        return CallError("rejected", f"gRPC {status}: {text}")
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return CallError("unavailable", f"no answer from {url} in time")
    if isinstance(exc, ConnectionRefusedError):
        return CallError("unavailable", f"cannot reach {url}: connection refused")
    if isinstance(exc, OSError):
        return CallError("unavailable", f"cannot reach {url}: {exc.strerror or exc}")
    try:
        import aiohttp
    except ImportError:  # pragma: no cover - tritonclient[http] brings it
        aiohttp = None  # type: ignore[assignment]
    if aiohttp is not None and isinstance(exc, aiohttp.ClientError):
        return CallError("unavailable", f"cannot reach {url}: {exc}")
    return CallError("server", f"{type(exc).__name__}: {exc}")


def _server_text(exc: Any) -> str:
    """The server's own words: tritonclient wraps bodies it cannot decode (MLServer's
    `{"detail": ...}` and bare 500 pages) in a message of its own."""
    message = str(exc.message() or "").strip()
    marker = "\nresponse: "
    if marker in message:
        message = message.split(marker, 1)[1].strip()
    lines = message.splitlines()
    return lines[0] if lines else "no message"


@dataclass
class Retries:
    """Exponential backoff with jitter: attempt n waits base × 2^n (at most `cap`), scaled by
    a random factor in [0.5, 1)."""

    retries: int = 6
    base: float = 0.25
    cap: float = 5.0

    def delay(self, attempt: int) -> float:
        return float(min(self.cap, self.base * 2 ** attempt) * (0.5 + random.random() / 2))


@dataclass
class CallStats:
    """Requests, retries and a bounded sample of latencies (reservoir), for the manifest."""

    requests: int = 0
    retries: int = 0
    latencies_ms: list[float] = field(default_factory=list)

    def record(self, milliseconds: float) -> None:
        self.requests += 1
        if len(self.latencies_ms) < LATENCY_SAMPLES:
            self.latencies_ms.append(milliseconds)
        else:
            slot = random.randrange(self.requests)
            if slot < LATENCY_SAMPLES:
                self.latencies_ms[slot] = milliseconds

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms)

        def quantile(q: float) -> float | None:
            return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 3) \
                if ordered else None

        return {"requests": self.requests, "retries": self.retries,
                "latencyMs": {"p50": quantile(0.5), "p99": quantile(0.99),
                               "max": round(ordered[-1], 3) if ordered else None}}


async def with_retries(call: Callable[[], Awaitable[Any]], policy: Retries, stats: CallStats,
                       url: str, *, retry_server_errors: bool = True) -> Any:
    attempt = 0
    while True:
        started = time.perf_counter()
        try:
            result = await call()
        except Exception as exc:
            failure = classify(exc, url)
            retryable = failure.kind == "unavailable" or (failure.kind == "server"
                                                          and retry_server_errors)
            if not retryable or attempt >= policy.retries:
                if retryable and attempt:
                    failure.message += f" (after {attempt + 1} attempts)"
                raise failure from None
            stats.retries += 1
            await asyncio.sleep(policy.delay(attempt))
            attempt += 1
            continue
        stats.record((time.perf_counter() - started) * 1000)
        return result


class AsyncV2:
    """One model's infer and metadata calls over HTTP or gRPC; `headers` go with each call."""

    def __init__(self, protocol: str, url: str, headers: Mapping[str, str],
                 timeout: float) -> None:
        self.protocol = protocol
        self.url = url
        self.timeout = timeout
        if protocol == "grpc":
            import tritonclient.grpc.aio as grpc_aio

            self._module: Any = grpc_aio
            self.headers = {k.lower(): v for k, v in headers.items()}
            self._client: Any = grpc_aio.InferenceServerClient(url)
        else:
            import tritonclient.http.aio as http_aio

            self._module = http_aio
            self.headers = {"content-type": "application/json", **headers}
            self._client = http_aio.InferenceServerClient(url, conn_timeout=timeout)

    async def metadata(self, model: str) -> wire.ModelMetadata:
        if self.protocol == "grpc":
            raw = await self._client.get_model_metadata(
                model, headers=self.headers, as_json=True, client_timeout=self.timeout)
        else:
            raw = await asyncio.wait_for(self._client.get_model_metadata(
                model, headers=self.headers), self.timeout)
        try:
            return wire.parse_metadata(raw)
        except wire.WireError as exc:
            raise CallError("server", f"the model's metadata is not V2: {exc}") from None

    async def infer(self, model: str, inputs: Sequence[tuple[str, str, npt.NDArray[Any]]],
                    outputs: Sequence[str], request_id: str,
                    parameters: dict[str, Any] | None) -> tuple[str, Outputs]:
        module = self._module
        items = []
        for name, datatype, array in inputs:
            item = module.InferInput(name, list(array.shape), datatype)
            if self.protocol == "grpc":
                item.set_data_from_numpy(array)
            else:
                item.set_data_from_numpy(array, binary_data=False)
            items.append(item)
        if self.protocol == "grpc":
            asked = [module.InferRequestedOutput(n) for n in outputs]
            result = await self._client.infer(
                model, items, outputs=asked or None, request_id=request_id,
                headers=self.headers, client_timeout=self.timeout, parameters=parameters)
            body = result.get_response(as_json=True)
        else:
            asked = [module.InferRequestedOutput(n, binary_data=False) for n in outputs]
            result = await asyncio.wait_for(self._client.infer(
                model, items, outputs=asked or None, request_id=request_id,
                headers=self.headers, parameters=parameters), self.timeout)
            body = result.get_response()
        found: Outputs = []
        for output in body.get("outputs", []):
            array = (wire.grpc_output(result, output["name"]) if self.protocol == "grpc"
                     else result.as_numpy(output["name"]))
            if array is None:
                raise CallError("server", f"output {output['name']!r} came back without data")
            found.append((output["name"], output["datatype"], np.asarray(array)))
        return str(body.get("model_name", model)), found

    async def close(self) -> None:
        await self._client.close()
