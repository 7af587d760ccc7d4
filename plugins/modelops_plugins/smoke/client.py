"""One small V2 client over tritonclient, the same for HTTP and gRPC.

The smoke test and shadow comparison only need six calls (live, ready, model ready, metadata,
infer, close); hiding the two tritonclient flavours behind them keeps the checks protocol-free
and puts the protocol traps in one place: tritonclient.http sends binary tensors unless told
not to, which MLServer rejects, and sends no content type, without which KServe takes the JSON
body for binary; tritonclient.grpc decodes only raw output bytes, while KServe answers in the
typed `contents` fields; gRPC reports a missing model as an error where HTTP answers False.
Every failure becomes a `ClientError` whose text is fit for a report (no traceback).
tritonclient.grpc is imported only when gRPC is used: it is slow to import, and it cannot share
a process with `mlserver` (duplicate protobuf symbols).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol, TypeVar

import numpy as np

from modelops_plugins.smoke import wire

ProtocolName = Literal["http", "grpc"]
PROTOCOLS: tuple[ProtocolName, ...] = ("http", "grpc")
T = TypeVar("T")


class ClientError(Exception):
    """A call that failed: connection, timeout, or an error status from the server."""


class V2Client(Protocol):
    """The calls the plugins make; `headers` (e.g. seldon-model) go with every one."""

    url: str
    protocol: ProtocolName

    def server_live(self) -> bool: ...
    def server_ready(self) -> bool: ...
    def model_ready(self, model: str) -> bool: ...
    def metadata(self, model: str) -> wire.ModelMetadata: ...
    def infer(self, model: str, request: wire.InferenceRequest) -> wire.InferenceResponse: ...
    def close(self) -> None: ...


def connect(protocol: ProtocolName, url: str, headers: Mapping[str, str] | None = None,
            timeout: float = 10.0) -> V2Client:
    """A client for `url` (host:port, as tritonclient takes it)."""
    # Checked here: a tritonclient.http client whose constructor fails prints a traceback
    # from its __del__.
    if not url or "://" in url or any(c.isspace() for c in url):
        raise ClientError("expected HOST:PORT without a scheme, e.g. seldon-mesh.models:80")
    if protocol == "grpc":
        return GrpcClient(url, dict(headers or {}), timeout)
    return HttpClient(url, dict(headers or {}), timeout)


def _describe(exc: BaseException, url: str) -> str:
    """What went wrong, in one line, from whatever tritonclient or the network raised."""
    from tritonclient.utils import InferenceServerException

    if isinstance(exc, InferenceServerException):
        status = exc.status()
        message = (exc.message() or "").strip().splitlines()
        text = message[0] if message else "no message"
        if status is None:
            return text
        code = str(status).removeprefix("StatusCode.")
        if code == "UNAVAILABLE":
            return f"cannot reach {url}: {text}"
        prefix = f"HTTP {code}" if code.isdigit() else f"gRPC {code}"
        return f"{prefix}: {text}"
    if isinstance(exc, ConnectionRefusedError):
        return f"cannot reach {url}: connection refused (is the server running?)"
    if isinstance(exc, socket.timeout | TimeoutError):
        return f"no answer from {url} in time"
    if isinstance(exc, OSError):
        return f"cannot reach {url}: {exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"


def _call(url: str, call: Callable[[], T]) -> T:
    try:
        return call()
    except Exception as exc:
        raise ClientError(_describe(exc, url)) from exc


class HttpClient:
    """tritonclient.http, JSON tensors only (binary_data=False both ways), sent as
    application/json unless a header given by the caller says otherwise."""

    protocol: ProtocolName = "http"

    def __init__(self, url: str, headers: dict[str, str], timeout: float) -> None:
        from tritonclient import http

        self._http = http
        self.url = url
        self.headers = headers
        given = {k.lower() for k in headers}
        self._infer_headers = ({} if "content-type" in given
                               else {"Content-Type": "application/json"}) | headers
        self._client = _call(url, lambda: http.InferenceServerClient(
            url, connection_timeout=timeout, network_timeout=timeout))

    def server_live(self) -> bool:
        return bool(_call(self.url, lambda: self._client.is_server_live(headers=self.headers)))

    def server_ready(self) -> bool:
        return bool(_call(self.url, lambda: self._client.is_server_ready(headers=self.headers)))

    def model_ready(self, model: str) -> bool:
        return bool(_call(self.url, lambda: self._client.is_model_ready(
            model, headers=self.headers)))

    def metadata(self, model: str) -> wire.ModelMetadata:
        raw = _call(self.url, lambda: self._client.get_model_metadata(model,
                                                                      headers=self.headers))
        return _metadata(raw)

    def build(self, request: wire.InferenceRequest) -> tuple[list[Any], list[Any] | None]:
        """tritonclient inputs and requested outputs for a V2 request."""
        inputs = []
        for tensor in request["inputs"]:
            item = self._http.InferInput(tensor["name"], tensor["shape"], tensor["datatype"])
            item.set_data_from_numpy(wire.to_numpy(tensor), binary_data=False)
            inputs.append(item)
        outputs = [self._http.InferRequestedOutput(o["name"], binary_data=False)
                   for o in request.get("outputs", [])]
        return inputs, outputs or None

    def infer(self, model: str, request: wire.InferenceRequest) -> wire.InferenceResponse:
        inputs, outputs = self.build(request)
        result = _call(self.url, lambda: self._client.infer(
            model, inputs, outputs=outputs, request_id=request.get("id", ""),
            headers=self._infer_headers, parameters=request.get("parameters")))
        body = result.get_response()
        return _response(body, [(o["name"], o["datatype"]) for o in body.get("outputs", [])],
                         result.as_numpy)

    def close(self) -> None:
        self._client.close()


class GrpcClient:
    """tritonclient.grpc; gRPC metadata keys must be lower case, so headers are lowered."""

    protocol: ProtocolName = "grpc"

    def __init__(self, url: str, headers: dict[str, str], timeout: float) -> None:
        from tritonclient import grpc

        self._grpc = grpc
        self.url = url
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.timeout = timeout
        self._client = _call(url, lambda: grpc.InferenceServerClient(url))

    def server_live(self) -> bool:
        return bool(_call(self.url, lambda: self._client.is_server_live(
            headers=self.headers, client_timeout=self.timeout)))

    def server_ready(self) -> bool:
        return bool(_call(self.url, lambda: self._client.is_server_ready(
            headers=self.headers, client_timeout=self.timeout)))

    def model_ready(self, model: str) -> bool:
        try:
            return bool(self._client.is_model_ready(model, headers=self.headers,
                                                    client_timeout=self.timeout))
        except Exception as exc:
            text = _describe(exc, self.url)
            if "NOT_FOUND" in text or "not found" in text:
                return False  # HTTP answers "not ready" here; make gRPC agree
            raise ClientError(text) from exc

    def metadata(self, model: str) -> wire.ModelMetadata:
        raw = _call(self.url, lambda: self._client.get_model_metadata(
            model, headers=self.headers, as_json=True, client_timeout=self.timeout))
        return _metadata(raw)

    def build(self, request: wire.InferenceRequest) -> tuple[list[Any], list[Any] | None]:
        inputs = []
        for tensor in request["inputs"]:
            item = self._grpc.InferInput(tensor["name"], tensor["shape"], tensor["datatype"])
            item.set_data_from_numpy(wire.to_numpy(tensor))
            inputs.append(item)
        outputs = [self._grpc.InferRequestedOutput(o["name"])
                   for o in request.get("outputs", [])]
        return inputs, outputs or None

    def infer(self, model: str, request: wire.InferenceRequest) -> wire.InferenceResponse:
        inputs, outputs = self.build(request)
        result = _call(self.url, lambda: self._client.infer(
            model, inputs, outputs=outputs, request_id=request.get("id", ""),
            headers=self.headers, client_timeout=self.timeout,
            parameters=request.get("parameters")))
        return grpc_response(result)

    def close(self) -> None:
        self._client.close()


def grpc_response(result: Any) -> wire.InferenceResponse:
    """A tritonclient.grpc InferResult as a typed response, each output read from raw bytes
    where the server sent them and from the typed contents otherwise."""
    message = result.get_response()
    return _response(result.get_response(as_json=True),
                     [(o.name, o.datatype) for o in message.outputs],
                     lambda name: wire.grpc_output(result, name))


def _metadata(raw: Any) -> wire.ModelMetadata:
    try:
        return wire.parse_metadata(raw)
    except wire.WireError as exc:
        raise ClientError(f"the server's model metadata is not V2: {exc}") from None


def _response(body: Mapping[str, Any], outputs: list[tuple[str, str]],
              as_numpy: Callable[[str], Any]) -> wire.InferenceResponse:
    """A typed response; `as_numpy` decodes each output (tritonclient's decoder, or the typed
    gRPC contents), and an output it cannot decode fails the call, not the command."""
    tensors = []
    for name, datatype in outputs:
        try:
            array = as_numpy(name)
        except (ValueError, TypeError) as exc:
            raise ClientError(f"output {name!r} {datatype} cannot be decoded: {exc}") from None
        if array is None:
            raise ClientError(f"output {name!r} came back without data")
        tensors.append(wire.from_numpy(name, datatype, np.asarray(array)))
    response = wire.InferenceResponse(model_name=str(body.get("model_name", "")),
                                      outputs=tensors)
    if body.get("model_version"):
        response["model_version"] = str(body["model_version"])
    if body.get("id"):
        response["id"] = str(body["id"])
    return response
