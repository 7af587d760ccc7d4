"""The admission plugin, running for real, for tests/test_admission_*.py and the benchmark.

`Harness(objects)` starts, in a background thread with its own event loop, exactly what
`modelops admission serve` runs: kmock's Kubernetes API emulator holding `objects`, the kopf
operator (indexes filled by listing and watching that emulator) and the HTTPS webhook server on
a free loopback port, with a certificate made here by `cryptography` and signed by a throwaway
CA the clients verify against. Tests are plain synchronous code: they POST AdmissionReviews over
real TLS (`post`, `raw`), and change the cluster through the emulator's HTTP API (`kube`) so
the operator sees list and watch events, never a back door.

    with Harness(objects) as plugin:
        status, answer = plugin.post("/validate-models", review(model))
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import http.client
import ipaddress
import json
import ssl
import threading
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

import kopf
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from modelops.policy.inputs import environment_document
from modelops_plugins.admission import operator
from modelops_plugins.admission.handlers import Readiness
from modelops_plugins.admission.local import (
    LocalCluster,
    indexed_objects,
    resource_key,
    resource_of,
)
from modelops_plugins.admission.resources import CONTEXT, WEBHOOKS, Webhook
from modelops_plugins.admission.server import DEFAULT_LIMITS, AdmissionServer, Limits
from modelops_plugins.admission.verdict import Judge

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES = REPO_ROOT.parent / "shared" / "admission-samples"
Obj = dict[str, Any]


# --- certificates ------------------------------------------------------------------------------

class Certificates(NamedTuple):
    ca: Path
    cert: Path
    key: Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_certificates(directory: Path, ca: tuple[Any, Any] | None = None) -> Certificates:
    """A CA and a server certificate for 127.0.0.1/localhost, as PEM files in `directory`.

    Pass `ca=(ca_key, ca_cert)` (from `load_ca`) to sign a new server pair with the same CA.
    """
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    if ca is None:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = (x509.CertificateBuilder().subject_name(_name("modelops test CA"))
                   .issuer_name(_name("modelops test CA")).public_key(ca_key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                   .add_extension(x509.KeyUsage(
                       digital_signature=True, content_commitment=False,
                       key_encipherment=False, data_encipherment=False, key_agreement=False,
                       key_cert_sign=True, crl_sign=True, encipher_only=False,
                       decipher_only=False), critical=True)
                   .sign(ca_key, hashes.SHA256()))
        (directory / "ca.crt").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        (directory / "ca.key").write_bytes(ca_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
    else:
        ca_key, ca_cert = ca
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("modelops-admission"))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (directory / "tls.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    (directory / "tls.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Certificates(directory / "ca.crt", directory / "tls.crt", directory / "tls.key")


def load_ca(directory: Path) -> tuple[Any, Any]:
    key = serialization.load_pem_private_key((directory / "ca.key").read_bytes(), None)
    return key, x509.load_pem_x509_certificate((directory / "ca.crt").read_bytes())


# --- reviews -----------------------------------------------------------------------------------

def indexed_context(rendered: list[Obj]) -> tuple[list[Obj], dict[str, Any]]:
    """What the plugin's indexes hold for a rendered environment (its Seldon objects and
    PrometheusRule) and the Environment document its ConfigMap carries."""
    context = {kind.resource for kind in CONTEXT}
    indexed = [o for resource, o in indexed_objects(rendered) if resource in context]
    return indexed, dict(environment_document(rendered) or {})


def review(obj: Obj | None, operation: str = "CREATE", old: Obj | None = None,
           dry_run: bool = False, uid: str | None = None) -> Obj:
    """An AdmissionReview v1 request for `obj` (or `old`, for DELETE) as an apiserver sends it."""
    subject = obj if obj is not None else old
    assert subject is not None
    resource = resource_of(subject)
    assert resource is not None, f"not a served kind: {subject.get('kind')}"
    meta = subject.get("metadata") or {}
    gvk = {"group": resource.group, "version": resource.version, "kind": resource.kind}
    gvr = {"group": resource.group, "version": resource.version, "resource": resource.plural}
    options_kind = {"CREATE": "CreateOptions", "UPDATE": "UpdateOptions",
                    "DELETE": "DeleteOptions"}[operation]
    return {
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": uid or str(uuid.uuid4()), "kind": gvk, "resource": gvr,
            "requestKind": gvk, "requestResource": gvr,
            "name": meta.get("name", ""), "namespace": meta.get("namespace", ""),
            "operation": operation,
            "userInfo": {"username": "alice@example.com", "uid": "1001",
                         "groups": ["system:authenticated"]},
            "object": obj, "oldObject": old,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": options_kind},
            "dryRun": dry_run,
        },
    }


def path_for(obj: Obj) -> str:
    resource = resource_of(obj)
    return next(w.path for w in WEBHOOKS if w.resource == resource)


def with_changes(obj: Obj, change: Callable[[Obj], None]) -> Obj:
    copied = copy.deepcopy(obj)
    change(copied)
    return copied


# --- the running plugin ------------------------------------------------------------------------

class Harness:
    """The plugin (emulator + kopf operator + HTTPS server) in a background thread."""

    def __init__(self, objects: Sequence[Obj], certs: Certificates,
                 policies: Path = REPO_ROOT / "policies", limits: Limits = DEFAULT_LIMITS,
                 webhooks: Sequence[Webhook] = WEBHOOKS,
                 extra: Callable[[kopf.OperatorRegistry], None] | None = None,
                 wait_for_indexes: bool = True, policy_workers: int = 0,
                 policy_split: Sequence[Sequence[str]] = (), freeze_heap: bool = False) -> None:
        self.objects = list(objects)
        self.freeze_heap = freeze_heap   # as `modelops admission run` does; never in pytest
        self.policy_workers = policy_workers
        self.policy_split = policy_split
        self.wait_for_indexes = wait_for_indexes
        self.certs = certs
        self.policies = policies
        self.limits = limits
        self.webhooks = webhooks
        self.extra = extra
        self.port = 0
        self.kube_url = ""
        self.cluster: LocalCluster | None = None   # the emulator, e.g. for its request log
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="admission-plugin", daemon=True)

    def __enter__(self) -> Harness:
        self._thread.start()
        if not self._ready.wait(60) or self._failure is not None:
            self.__exit__(None, None, None)
            raise RuntimeError(f"admission plugin did not become ready: {self._failure!r}")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        assert not self._thread.is_alive(), "the operator did not stop"

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to __enter__ / the test
            self._failure = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        # created on this thread: regorus is unsendable
        judge = Judge.load(self.policies, workers=self.policy_workers, split=self.policy_split)
        readiness = Readiness(self.freeze_heap)
        server = AdmissionServer("127.0.0.1", 0, self.certs.cert, self.certs.key, readiness,
                                 self.limits, self.webhooks)
        async with LocalCluster(self.objects) as local:
            self.cluster = local
            self.kube_url = local.url
            registry = operator.build_registry(judge, readiness, login=local.login)
            if self.extra is not None:
                self.extra(registry)
            task = asyncio.create_task(operator.run(registry, server, self._stop,
                                                     emulated=True))
            waiting = asyncio.gather(server.listening.wait(), *(
                [readiness.indexed.wait()] if self.wait_for_indexes else []))
            done, _ = await asyncio.wait([task, waiting], timeout=60,
                                         return_when=asyncio.FIRST_COMPLETED)
            if waiting in done and server.address is not None:
                self.port = server.address[1]
                self._ready.set()
            else:
                waiting.cancel()
                self._stop.set()
            await task
        judge.close()
        if not self._ready.is_set():
            raise RuntimeError("the operator stopped before it was ready")

    # --- clients ---

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.certs.ca))

    def connection(self, timeout: float = 10) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context(),
                                           timeout=timeout)

    def raw(self, method: str, path: str, body: bytes = b"",
            headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """One HTTPS request on a fresh connection: (status, body)."""
        conn = self.connection()
        try:
            conn.request(method, path, body=body,
                         headers={"Content-Type": "application/json", **(headers or {})})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def post(self, path: str, document: Any) -> tuple[int, Any]:
        status, body = self.raw("POST", path, json.dumps(document).encode())
        return status, json.loads(body) if body else None

    def answer(self, document: Obj, path: str | None = None) -> Obj:
        """The AdmissionReview response to `document` (asserting HTTP 200)."""
        obj = document["request"]["object"] or document["request"]["oldObject"]
        status, body = self.post(path or path_for(obj), document)
        assert status == 200, (status, body)
        response: Obj = body["response"]
        assert response["uid"] == document["request"]["uid"]
        return response

    def kube(self, method: str, path: str, body: Obj | None = None) -> tuple[int, Any]:
        """A request to the emulated Kubernetes API (what kubectl would send)."""
        host_port = self.kube_url.removeprefix("http://")
        conn = http.client.HTTPConnection(host_port, timeout=10)
        try:
            payload = json.dumps(body).encode() if body is not None else None
            content_type = ("application/merge-patch+json" if method == "PATCH"
                            else "application/json")
            conn.request(method, path, body=payload, headers={"Content-Type": content_type})
            response = conn.getresponse()
            data = response.read()
            return response.status, json.loads(data) if data else None
        finally:
            conn.close()

    def object_path(self, obj: Obj, named: bool = True) -> str:
        resource = resource_of(obj)
        assert resource is not None
        meta = obj["metadata"]
        base = "/api" if not resource.group else "/apis"
        key = resource_key(resource).rsplit("/", 1)
        path = f"{base}/{key[0]}/namespaces/{meta['namespace']}/{key[1]}"
        return f"{path}/{meta['name']}" if named else path

    def create(self, obj: Obj) -> None:
        body = with_changes(obj, lambda o: o["metadata"].setdefault("uid", str(uuid.uuid4())))
        status, answer = self.kube("POST", self.object_path(obj, named=False), body)
        assert status in (200, 201), (status, answer)

    def patch(self, obj: Obj, patch: Obj) -> None:
        status, answer = self.kube("PATCH", self.object_path(obj), patch)
        assert status == 200, (status, answer)

    def delete(self, obj: Obj) -> None:
        status, answer = self.kube("DELETE", self.object_path(obj))
        assert status == 200, (status, answer)
