"""Requests no apiserver would send: each gets a 4xx (or a closed connection), none stops the
server, and a correct review is still answered after all of them.

The plugin runs for real (tests/admission_support.py: kmock emulator + kopf operator + HTTPS
server) with a short body deadline so the slow-client case is quick. Malformed requests go over
raw TLS sockets where http.client would refuse to send them.
"""

from __future__ import annotations

import json
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from admission_support import (
    SAMPLES,
    Harness,
    Obj,
    load_ca,
    make_certificates,
    review,
)
from modelops_plugins.admission.server import MAX_BODY, Limits
from repo_builder import environment, model, rendered_objects

# The first Model grown to 2 x 12Gi fills the pool (2 x 8Gi x 1.5) on its own: with the second
# beside it, it is denied.
RENDERED = rendered_objects(environment("team", model("scorer"), model("ranker", memory="2Gi")))
MODEL = next(o for o in RENDERED if o["kind"] == "Model")
BODY_TIMEOUT = 0.5


@pytest.fixture(scope="module")
def certs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("certs")


@pytest.fixture(scope="module")
def plugin(certs_dir: Path) -> Iterator[Harness]:
    limits = Limits(body_timeout=BODY_TIMEOUT, cert_check_interval=0.1)
    with Harness(RENDERED, make_certificates(certs_dir), limits=limits) as harness:
        yield harness


def still_answers(plugin: Harness) -> None:
    assert plugin.alive
    response = plugin.answer(review(MODEL))
    assert response["allowed"] is True


def tls_socket(plugin: Harness) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", plugin.port), timeout=10)
    return plugin.context().wrap_socket(raw, server_hostname="127.0.0.1")


def read_status(sock: ssl.SSLSocket) -> int | None:
    """The HTTP status the server answered, or None if it closed the connection instead."""
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                return None
            data += chunk
    except (ConnectionError, ssl.SSLError):
        return None
    return int(data.split(b" ", 2)[1])


def headers(length: int, content_type: str = "application/json") -> bytes:
    return (f"POST /validate-models HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n").encode()


def _with(document: Obj, **request: Any) -> Obj:
    changed = json.loads(json.dumps(document))
    for key, value in request.items():
        if value is None:
            changed["request"].pop(key, None)
        else:
            changed["request"][key] = value
    return changed


GOOD = review(MODEL)

MALFORMED = {
    "not JSON": b'{"apiVersion": "admission.k8s.io/v1", "kind": ',
    "not UTF-8": b"\xff\xfe\x00{}",
    "a JSON array": b"[]",
    "wrong apiVersion": json.dumps({**GOOD, "apiVersion": "admission.k8s.io/v1beta1"}).encode(),
    "wrong kind": json.dumps({**GOOD, "kind": "AdmissionResponse"}).encode(),
    "no request": json.dumps({k: v for k, v in GOOD.items() if k != "request"}).encode(),
    "missing uid": json.dumps(_with(GOOD, uid=None)).encode(),
    "empty uid": json.dumps(_with(GOOD, uid="")).encode(),
    "unknown operation": json.dumps(_with(GOOD, operation="PATCH")).encode(),
    "no resource": json.dumps(_with(GOOD, resource=None)).encode(),
    "no userInfo": json.dumps(_with(GOOD, userInfo=None)).encode(),
    "CREATE without object": json.dumps(_with(GOOD, object=None)).encode(),
    "object not an object": json.dumps(_with(GOOD, object=[1, 2])).encode(),
    "dryRun not a boolean": json.dumps(_with(GOOD, dryRun="yes")).encode(),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_review_is_400(plugin: Harness, case: str) -> None:
    status, body = plugin.raw("POST", "/validate-models", MALFORMED[case])
    assert status == 400, (status, body)
    assert json.loads(body)["error"]
    still_answers(plugin)


def test_unknown_resource_on_a_known_path_is_404(plugin: Harness) -> None:
    deployments = _with(GOOD, resource={"group": "apps", "version": "v1",
                                        "resource": "deployments"})
    status, body = plugin.post("/validate-models", deployments)
    assert status == 404 and "not deployments.apps/v1" in body["error"]
    # A Server review sent to the Models webhook is a misroute too.
    status, _ = plugin.post("/validate-servers", GOOD)
    assert status == 404
    still_answers(plugin)


def test_unknown_path_is_404_never_an_empty_allow(plugin: Harness) -> None:
    for path in ("/validate-pods", "/", "/validate-models/extra", "/healthz"):
        status, _ = plugin.raw("POST", path, json.dumps(GOOD).encode())
        assert status in (404, 405), path
    still_answers(plugin)


def test_wrong_content_type_is_415(plugin: Harness) -> None:
    status, _ = plugin.raw("POST", "/validate-models", json.dumps(GOOD).encode(),
                           {"Content-Type": "text/plain"})
    assert status == 415
    still_answers(plugin)


def test_upstream_samples_that_no_apiserver_would_send(plugin: Harness) -> None:
    for name, expected in (("02-k8s-docs-request-scale-update-v1.json", 404),
                           ("05-gatekeeper-library-requiredprobes-update-v1beta1.json", 400),
                           ("01-k8s-api-testdata-admissionreview-v1-allfields.json", 400)):
        path = SAMPLES / name
        if not path.is_file():
            pytest.skip(f"no {path}: the upstream samples live in ../shared/admission-samples/")
        status, body = plugin.raw("POST", "/validate-models", path.read_bytes())
        assert status == expected, (name, status, body)
    still_answers(plugin)


def test_five_megabyte_body_announced_is_refused_before_it_is_read(plugin: Harness) -> None:
    size = 5 * 1000 * 1000
    assert size > MAX_BODY
    with tls_socket(plugin) as sock:
        sock.sendall(headers(size))
        assert read_status(sock) == 413
    still_answers(plugin)


def test_five_megabyte_body_streamed_is_cut_off(plugin: Harness) -> None:
    # No Content-Length (chunked): the server counts while reading and stops at its limit.
    with tls_socket(plugin) as sock:
        sock.sendall(b"POST /validate-models HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"x" * 65536
        status: int | None = None
        try:
            for _ in range(5 * 1000 * 1000 // len(chunk) + 1):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sock.sendall(b"0\r\n\r\n")
        except (ConnectionError, ssl.SSLError):
            pass   # the server stopped reading and closed: also an acceptable answer
        status = read_status(sock)
        assert status in (413, None)
    still_answers(plugin)


def test_slow_client_gets_408_and_blocks_nobody(plugin: Harness) -> None:
    body = json.dumps(GOOD).encode()
    with tls_socket(plugin) as sock:
        sock.sendall(headers(len(body)) + body[:20])   # ...and nothing more
        # While it dawdles, other reviews are answered.
        still_answers(plugin)
        # 408, then the server closes the connection (recv reaches EOF instead of timing out):
        # the rest of that body is never awaited.
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
        assert reply.startswith(b"HTTP/1.1 408 "), reply
    still_answers(plugin)


def test_client_that_never_finishes_its_headers_blocks_nobody(plugin: Harness) -> None:
    with tls_socket(plugin) as sock:
        sock.sendall(b"POST /validate-models HTTP/1.1\r\nHost: 127.0")
        still_answers(plugin)
        still_answers(plugin)
    still_answers(plugin)


def test_plain_http_to_the_https_port_is_refused(plugin: Harness) -> None:
    with socket.create_connection(("127.0.0.1", plugin.port), timeout=10) as sock:
        sock.sendall(headers(2) + b"{}")
        try:
            reply = sock.recv(4096)
        except ConnectionError:
            reply = b""
        assert not reply.startswith(b"HTTP/1.1 200")
    still_answers(plugin)


def test_rotated_certificate_is_served_without_a_restart(plugin: Harness,
                                                         certs_dir: Path) -> None:
    def served_serial() -> int:
        with tls_socket(plugin) as sock:
            der = sock.getpeercert(binary_form=True)
        from cryptography import x509
        return x509.load_der_x509_certificate(der).serial_number

    before = served_serial()
    from cryptography import x509
    make_certificates(certs_dir, ca=load_ca(certs_dir))   # cert-manager renews in place
    renewed = x509.load_pem_x509_certificate((certs_dir / "tls.crt").read_bytes()).serial_number
    assert renewed != before
    deadline = time.monotonic() + 20
    while served_serial() != renewed:
        assert time.monotonic() < deadline, "the renewed certificate was never served"
        time.sleep(0.05)
    still_answers(plugin)


def test_after_everything_a_denial_is_still_correct(plugin: Harness) -> None:
    big = json.loads(json.dumps(MODEL))
    big["spec"].update(memory="12Gi", replicas=2, minReplicas=2, maxReplicas=2)
    response = plugin.answer(review(big))
    assert response["allowed"] is False and response["status"]["code"] == 403
