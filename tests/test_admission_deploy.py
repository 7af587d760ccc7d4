"""platform/admission/: strictly valid, consistent with the plugin's code, least privilege.

The YAML is checked against the same strict schemas as rendered objects (`SchemaCatalog`:
kubernetes-validate for core kinds, CRDs from $MODELOPS_CRD_DIR), then against the plugin's own
tables: webhook paths and rules against `resources.WEBHOOKS`, RBAC against `resources.INDEXED`,
container args against the real `modelops` argument parser. RBAC is also checked against
behaviour: the real operator runs against kmock's API emulator, and every request it makes must
be one the ClusterRole allows.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from admission_support import REPO_ROOT, Harness, Obj, make_certificates
from conftest import ENVIRONMENTS as REPO_ENVIRONMENTS
from modelops.cli import build_parser
from modelops.policy import PolicyLibrary, build_input, create_engine
from modelops.validate import SchemaCatalog
from modelops_plugins.admission.local import read_rendered
from modelops_plugins.admission.resources import ENVIRONMENTS, INDEXED, OPERATIONS, WEBHOOKS
from repo_builder import feature_environment, rendered_objects

PLATFORM = REPO_ROOT / "platform" / "admission"
NAMESPACE = "modelops-admission"
DEFAULT_CRD_DIR = REPO_ROOT.parent / "shared" / "crds"


def _load(name: str) -> list[Obj]:
    return [d for d in yaml.safe_load_all((PLATFORM / name).read_text()) if d]


MANIFESTS = [name for name in yaml.safe_load((PLATFORM / "kustomization.yaml").read_text())
             ["resources"]]
OBJECTS = [obj for name in MANIFESTS for obj in _load(name)]


def one(kind: str, name: str | None = None) -> Obj:
    found = [o for o in OBJECTS if o["kind"] == kind
             and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, (kind, name, len(found))
    return found[0]


DEPLOYMENT = one("Deployment")
CONTAINER = DEPLOYMENT["spec"]["template"]["spec"]["containers"][0]
SERVICE = one("Service")
WEBHOOK_CONFIG = one("ValidatingWebhookConfiguration")


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> SchemaCatalog:
    crd_dir = Path(os.environ.get("MODELOPS_CRD_DIR", DEFAULT_CRD_DIR))
    if not crd_dir.is_dir():
        pytest.skip(f"no CRDs at {crd_dir}: set MODELOPS_CRD_DIR (see tests/README.md)")
    return SchemaCatalog.from_crd_dir(crd_dir, cache_dir=tmp_path_factory.mktemp("cache"))


# --- strict validity ---------------------------------------------------------------------------

@pytest.mark.parametrize("obj", OBJECTS, ids=lambda o: f"{o['kind']}/{o['metadata']['name']}")
def test_manifest_is_strictly_valid(catalog: SchemaCatalog, obj: Obj) -> None:
    problems = catalog.problems(obj)
    if problems and all("no schema" in p.message for p in problems):
        pytest.skip(f"{problems[0].message}: add the cert-manager CRDs to $MODELOPS_CRD_DIR "
                    "(`kubectl get crd certificates.cert-manager.io issuers.cert-manager.io "
                    "-o yaml`) to validate these strictly")
    assert problems == []


def test_validation_is_strict_here(catalog: SchemaCatalog) -> None:
    typo = copy.deepcopy(WEBHOOK_CONFIG)
    typo["webhooks"][0]["timeoutSecond"] = typo["webhooks"][0].pop("timeoutSeconds")
    assert any("timeoutSecond" in p.message or "timeoutSecond" in p.path
               for p in catalog.problems(typo))


def test_every_object_names_the_plugin_namespace() -> None:
    for obj in OBJECTS:
        if obj["kind"] in ("Namespace", "ClusterRole", "ClusterRoleBinding",
                           "ValidatingWebhookConfiguration"):
            assert "namespace" not in obj["metadata"], obj["kind"]
        else:
            assert obj["metadata"]["namespace"] == NAMESPACE, obj["kind"]
    assert one("Namespace")["metadata"]["name"] == NAMESPACE


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomize_builds_exactly_these_objects() -> None:
    built = subprocess.run(["kubectl", "kustomize", str(PLATFORM)], capture_output=True,
                           text=True, check=True, timeout=60).stdout
    objects = [d for d in yaml.safe_load_all(built) if d]

    def key(obj: Obj) -> tuple[str, str]:
        return obj["kind"], obj["metadata"]["name"]

    assert sorted(map(key, objects)) == sorted(map(key, OBJECTS))
    assert {key(o): o for o in objects} == {key(o): o for o in OBJECTS}, \
        "kustomize changed an object: keep the files as applied"


def test_argo_cd_application_points_here() -> None:
    app_file = REPO_ROOT / "platform" / "stack" / "modelops-admission.yaml"
    if not app_file.is_file():
        pytest.skip("platform/stack/modelops-admission.yaml is not there yet")
    app = yaml.safe_load(app_file.read_text())
    assert app["spec"]["source"]["path"] == "platform/admission"
    assert app["spec"]["destination"]["namespace"] == NAMESPACE


# --- the webhook configuration ------------------------------------------------------------------

def test_one_webhook_per_handler_with_the_handlers_path_and_rules() -> None:
    hooks = WEBHOOK_CONFIG["webhooks"]
    assert [h["clientConfig"]["service"]["path"] for h in hooks] == [w.path for w in WEBHOOKS]
    for hook, webhook in zip(hooks, WEBHOOKS, strict=True):
        res = webhook.resource
        assert hook["rules"] == [{"apiGroups": [res.group], "apiVersions": [res.version],
                                  "resources": [res.plural], "operations": list(OPERATIONS),
                                  "scope": "Namespaced"}]


def test_webhook_settings() -> None:
    for hook in WEBHOOK_CONFIG["webhooks"]:
        assert hook["admissionReviewVersions"] == ["v1"]
        assert hook["sideEffects"] == "None"
        assert 1 <= hook["timeoutSeconds"] <= 5
        assert hook["matchPolicy"] == "Equivalent"
        assert hook["failurePolicy"] == "Fail"
        service = hook["clientConfig"]["service"]
        assert (service["name"], service["namespace"]) == (SERVICE["metadata"]["name"],
                                                          NAMESPACE)
        assert service["port"] == SERVICE["spec"]["ports"][0]["port"]
        assert "url" not in hook["clientConfig"] and "caBundle" not in hook["clientConfig"]


def test_namespace_selector_matches_model_namespaces_and_excludes_system_ones() -> None:
    managed_namespaces = [obj for env in REPO_ENVIRONMENTS
                          for obj in read_rendered(REPO_ROOT / "environments" / env / "rendered")
                          if obj["kind"] == "Namespace"]
    assert len(managed_namespaces) == len(REPO_ENVIRONMENTS)

    def selected(labels: dict[str, str], selector: Obj) -> bool:
        for expr in selector["matchExpressions"]:
            value = labels.get(expr["key"])
            if expr["operator"] == "In" and value not in expr["values"]:
                return False
            if expr["operator"] == "NotIn" and value in expr["values"]:
                return False
        return not selector.get("matchLabels")

    for hook in WEBHOOK_CONFIG["webhooks"]:
        selector = hook["namespaceSelector"]
        for ns in managed_namespaces:
            labels = {**ns["metadata"]["labels"],
                      "kubernetes.io/metadata.name": ns["metadata"]["name"]}
            assert selected(labels, selector), ns["metadata"]["name"]
        for name in ("kube-system", NAMESPACE):
            # Even if someone labels them as managed, they are never reviewed.
            labels = {"kubernetes.io/metadata.name": name, "modelops.dev/managed": "true"}
            assert not selected(labels, selector), name
        assert not selected({"kubernetes.io/metadata.name": "default"}, selector)


def test_ca_injection_names_the_serving_certificate_the_pods_mount() -> None:
    injected = WEBHOOK_CONFIG["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]
    namespace, name = injected.split("/")
    certificate = one("Certificate", name)
    assert namespace == NAMESPACE
    secret = certificate["spec"]["secretName"]
    volumes = {v["name"]: v for v in DEPLOYMENT["spec"]["template"]["spec"]["volumes"]}
    mounts = {m["name"]: m["mountPath"] for m in CONTAINER["volumeMounts"]}
    [tls] = [n for n, v in volumes.items() if v.get("secret", {}).get("secretName") == secret]
    assert f"--tls-cert={mounts[tls]}/tls.crt" in CONTAINER["args"]
    assert f"--tls-key={mounts[tls]}/tls.key" in CONTAINER["args"]
    service = f"{SERVICE['metadata']['name']}.{NAMESPACE}.svc"
    assert service in certificate["spec"]["dnsNames"]
    issuer = one("Issuer", certificate["spec"]["issuerRef"]["name"])
    assert one("Certificate", issuer["spec"]["ca"]["secretName"])["spec"]["isCA"] is True


# --- the Deployment ------------------------------------------------------------------------------

def test_deployment_runs_the_real_cli() -> None:
    args = build_parser().parse_args(CONTAINER["args"])
    assert (args.verb, args.admission_verb) == ("admission", "run")
    port = int(args.listen.rsplit(":", 1)[1])
    assert CONTAINER["ports"] == [{"name": "https", "containerPort": port, "protocol": "TCP"}]
    assert SERVICE["spec"]["ports"][0]["targetPort"] == "https"
    assert SERVICE["spec"]["selector"].items() <= \
        DEPLOYMENT["spec"]["template"]["metadata"]["labels"].items()


def test_deployment_splits_reviews_over_its_workers() -> None:
    # The bench runs the plugin with these very arguments (bench_admission.deployed_workers).
    from modelops_plugins.admission.verdict import partitions

    args = build_parser().parse_args(CONTAINER["args"])
    assert args.policy_split, "the Deployment shares reviews out (--policy-split)"
    shares = partitions(PolicyLibrary.load(REPO_ROOT / "policies"), args.policy_split)
    assert shares is not None and args.policy_workers % len(shares) == 0


def test_deployment_is_available_and_restricted() -> None:
    spec = DEPLOYMENT["spec"]
    pod = spec["template"]["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    pdb = one("PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"].items() <= \
        spec["template"]["metadata"]["labels"].items()
    assert pod["serviceAccountName"] == one("ServiceAccount")["metadata"]["name"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    security = CONTAINER["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"]["drop"] == ["ALL"]
    assert {"cpu", "memory"} <= CONTAINER["resources"]["requests"].keys()
    assert "memory" in CONTAINER["resources"]["limits"]
    probes = {k: CONTAINER[k]["httpGet"] for k in ("startupProbe", "readinessProbe",
                                                    "livenessProbe")}
    assert probes["readinessProbe"]["path"] == "/readyz"
    assert probes["livenessProbe"]["path"] == "/healthz"
    assert all(p["scheme"] == "HTTPS" and p["port"] == "https" for p in probes.values())


def test_pod_security_policy_finds_nothing_to_deny() -> None:
    library = PolicyLibrary.load(REPO_ROOT / "policies")
    if "pod-security" not in {p.name for p in library.policies}:
        pytest.skip("the pod-security policy is not in policies/ yet")
    findings = create_engine(library, "regorus").evaluate(build_input(OBJECTS))
    assert [str(f) for f in findings if f.severity == "deny"] == []
    assert [str(f) for f in findings if f.policy == "pod-security"] == []


# --- RBAC: exactly what is indexed, read-only -------------------------------------------------

RULES = one("ClusterRole")["rules"]


def test_rbac_grants_list_and_watch_of_the_indexed_kinds_only() -> None:
    granted = {(group, resource, tuple(rule.get("resourceNames", ()))): sorted(rule["verbs"])
               for rule in RULES for group in rule["apiGroups"] for resource in rule["resources"]}
    expected = {}
    for indexed in INDEXED:
        names = ()
        if indexed.field_selector:
            field, _, value = indexed.field_selector.partition("=")
            assert field == "metadata.name"
            names = (value,)
        expected[(indexed.resource.group, indexed.resource.plural, names)] = ["list", "watch"]
    assert granted == expected
    binding = one("ClusterRoleBinding")
    assert binding["roleRef"]["name"] == one("ClusterRole")["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "namespace": NAMESPACE,
                                    "name": one("ServiceAccount")["metadata"]["name"]}]


def _allowed(group: str, plural: str, verb: str, field_selector: str) -> bool:
    for rule in RULES:
        if group in rule["apiGroups"] and plural in rule["resources"] and verb in rule["verbs"]:
            names = rule.get("resourceNames")
            if not names or field_selector in {f"metadata.name={n}" for n in names}:
                return True
    return False


# /api, /api/v1, /apis, /apis/<group>, /apis/<group>/<version>, /version
_DISCOVERY = re.compile(r"^/api(/v1)?$|^/apis(/[^/]+){0,2}$|^/version$")


@pytest.fixture(scope="module")
def operator_requests(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Any]]:
    objects = rendered_objects(feature_environment("live"))
    certs = make_certificates(tmp_path_factory.mktemp("certs"))
    with Harness(objects, certs) as plugin:
        assert plugin.cluster is not None
        yield [r for r in list(plugin.cluster.emulator)
               if r.headers.get("User-Agent", "").startswith("kopf/")]


def test_the_operator_only_makes_requests_its_clusterrole_allows(
        operator_requests: list[Any]) -> None:
    listed = set()
    for request in operator_requests:
        path = request.url.path
        assert request.method.value.upper() == "GET", (request.method, path)
        if _DISCOVERY.match(path):
            continue
        verb = "watch" if request.params.get("watch") in ("true", "1") else "list"
        assert request.name is None and request.namespace is None, path   # cluster-wide lists
        resource = request.resource
        selector = request.params.get("fieldSelector", "")
        assert _allowed(resource.group, resource.plural, verb, selector), (verb, path, selector)
        listed.add((resource.group, resource.plural, verb))
    assert {(i.resource.group, i.resource.plural) for i in INDEXED} == \
        {(g, p) for g, p, _ in listed}
    configmaps = [r for r in operator_requests if r.url.path == "/api/v1/configmaps"]
    assert configmaps and all(r.params.get("fieldSelector") == ENVIRONMENTS.field_selector
                              for r in configmaps)


# --- the image ---------------------------------------------------------------------------------

DOCKERFILE = (PLATFORM / "Dockerfile").read_text()


def _instructions() -> list[tuple[str, str]]:
    lines = re.sub(r"\\\n\s*", " ", DOCKERFILE).splitlines()
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip())
            for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_dockerfile_copies_files_that_exist_and_the_ignore_file_lets_through() -> None:
    ignore = (PLATFORM / "Dockerfile.dockerignore").read_text().splitlines()
    included = {line[1:] for line in ignore if line.startswith("!")}
    for op, args in _instructions():
        if op == "COPY" and not args.startswith("--from"):
            *sources, _ = args.split()
            for source in sources:
                assert (REPO_ROOT / source).exists(), source
                assert any(source == i or source.startswith(i + "/") for i in included), source
        if op == "FROM":
            image = args.split()[0]
            assert ":" in image and not image.endswith(":latest"), image


def test_image_runs_modelops_as_the_deployments_user() -> None:
    instructions = _instructions()
    assert ("ENTRYPOINT", '["modelops"]') in instructions
    project = (REPO_ROOT / "pyproject.toml").read_text()
    assert re.search(r'^modelops = "modelops\.cli:main"$', project, re.MULTILINE)
    [user] = [args for op, args in instructions if op == "USER"]
    uid, gid = (int(part) for part in user.split(":"))
    pod_security = DEPLOYMENT["spec"]["template"]["spec"]["securityContext"]
    assert (uid, gid) == (pod_security["runAsUser"], pod_security["runAsGroup"]) and uid > 0
    copied = [args.split() for op, args in instructions if op == "COPY"]
    assert ["policies", "/srv/modelops/policies"] in copied
    assert "--policies=/srv/modelops/policies" in CONTAINER["args"]
    assert CONTAINER["image"].split(":")[0].endswith("/modelops")
