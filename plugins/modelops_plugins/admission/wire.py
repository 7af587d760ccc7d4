"""AdmissionReview `admission.k8s.io/v1` on the wire: its shape, and the checks before kopf.

kopf trusts its input: a review without `request.resource` raises KeyError (HTTP 500), one without
`uid` is answered with an empty uid, and any apiVersion is echoed back. An apiserver never sends
such requests, so they come from a broken client or a probe; they get a 4xx here, before kopf
sees them, and the reason says which field is wrong. Only v1 is served: the webhook
configuration asks for `admissionReviewVersions: [v1]`, so anything else is a misroute.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final, Literal, NotRequired, TypedDict

from modelops_plugins.admission.resources import Webhook

API_VERSION: Final = "admission.k8s.io/v1"
KIND: Final = "AdmissionReview"
Operation = Literal["CREATE", "UPDATE", "DELETE", "CONNECT"]
OPERATIONS: Final = ("CREATE", "UPDATE", "DELETE", "CONNECT")


class GroupVersionKind(TypedDict):
    group: str
    version: str
    kind: str


class GroupVersionResource(TypedDict):
    group: str
    version: str
    resource: str


class UserInfo(TypedDict, total=False):
    username: str
    uid: str
    groups: list[str]
    extra: dict[str, list[str]]


class AdmissionRequest(TypedDict):
    uid: str
    kind: GroupVersionKind
    resource: GroupVersionResource
    operation: Operation
    userInfo: UserInfo
    subResource: NotRequired[str]
    requestKind: NotRequired[GroupVersionKind]
    requestResource: NotRequired[GroupVersionResource]
    requestSubResource: NotRequired[str]
    name: NotRequired[str]
    namespace: NotRequired[str]
    object: NotRequired[dict[str, Any] | None]
    oldObject: NotRequired[dict[str, Any] | None]
    dryRun: NotRequired[bool]
    options: NotRequired[dict[str, Any] | None]


class AdmissionReview(TypedDict):
    apiVersion: Literal["admission.k8s.io/v1"]
    kind: Literal["AdmissionReview"]
    request: AdmissionRequest


class Status(TypedDict, total=False):
    code: int
    message: str


class AdmissionResponse(TypedDict, total=False):
    uid: str
    allowed: bool
    status: Status
    warnings: list[str]


class AdmissionReviewResponse(TypedDict):
    apiVersion: str
    kind: str
    response: AdmissionResponse


class ReviewError(Exception):
    """The HTTP request is not an AdmissionReview this webhook can answer (4xx, no review)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def parse_review(raw: bytes, webhook: Webhook) -> AdmissionReview:
    """The review in `raw`, checked field by field; ReviewError(400 or 404) otherwise."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReviewError(400, f"body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ReviewError(400, "body must be a JSON object (an AdmissionReview)")
    if data.get("apiVersion") != API_VERSION:
        raise ReviewError(400, f"apiVersion must be {API_VERSION}, got "
                             f"{_show(data.get('apiVersion'))}; configure "
                             "admissionReviewVersions: [v1]")
    if data.get("kind") != KIND:
        raise ReviewError(400, f"kind must be {KIND}, got {_show(data.get('kind'))}")
    request = data.get("request")
    if not isinstance(request, dict):
        raise ReviewError(400, "request must be an object")
    _require_text(request, "uid")
    operation = request.get("operation")
    if operation not in OPERATIONS:
        raise ReviewError(400, f"request.operation must be one of {', '.join(OPERATIONS)}, "
                             f"got {_show(operation)}")
    _require_fields(request, "kind", ("group", "version", "kind"))
    resource = _require_fields(request, "resource", ("group", "version", "resource"))
    if not isinstance(request.get("userInfo"), dict):
        raise ReviewError(400, "request.userInfo must be an object")
    for field in ("object", "oldObject", "options"):
        if request.get(field) is not None and not isinstance(request[field], dict):
            raise ReviewError(400, f"request.{field} must be an object or null")
    if not isinstance(request.get("dryRun", False), bool):
        raise ReviewError(400, "request.dryRun must be a boolean")
    needed = "oldObject" if operation == "DELETE" else "object"
    if operation != "CONNECT" and request.get(needed) is None:
        raise ReviewError(400, f"request.{needed} is required for {operation}")
    expected = webhook.resource
    if (resource["group"], resource["version"], resource["resource"]) != (
            expected.group, expected.version, expected.plural):
        raise ReviewError(404, f"{webhook.path} serves {expected.plural}.{expected.group}/"
                             f"{expected.version}, not {resource['resource']}."
                             f"{resource['group']}/{resource['version']}")
    return data  # type: ignore[return-value]  # checked field by field above


def checked_response(review: AdmissionReview,
                     answer: Mapping[str, Any]) -> AdmissionReviewResponse:
    """kopf's answer, checked for what the apiserver insists on before it is sent.

    The apiserver discards a response whose apiVersion, kind or uid differ from the request's,
    or whose `allowed` is missing, and applies failurePolicy instead; a 500 here says why.
    """
    response = answer.get("response")
    if (answer.get("apiVersion") != review["apiVersion"] or answer.get("kind") != KIND
            or not isinstance(response, dict)
            or response.get("uid") != review["request"]["uid"]
            or not isinstance(response.get("allowed"), bool)):
        raise ValueError(f"kopf answered {_show(answer)}")
    return answer  # type: ignore[return-value]  # checked above


def _require_text(request: dict[str, Any], field: str) -> None:
    value = request.get(field)
    if not isinstance(value, str) or not value:
        raise ReviewError(400, f"request.{field} must be a non-empty string")


def _require_fields(request: dict[str, Any], field: str, keys: tuple[str, ...]) -> dict[str, str]:
    value = request.get(field)
    if not isinstance(value, dict) or not all(isinstance(value.get(k), str) for k in keys):
        raise ReviewError(400, f"request.{field} must be an object with string "
                             f"{', '.join(keys)}")
    return value


def _show(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."
