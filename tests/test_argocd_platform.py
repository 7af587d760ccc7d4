"""platform/: strict validation of every manifest, and the Argo CD wiring evaluated offline.

No Argo CD runs here, so the parts of it this repository depends on are evaluated the way the
ApplicationSet controller and the repo server do (argo-cd v3.5 `applicationset/generators/
git.go`, `matrix.go`, `utils/template_functions.go`; `reposerver` directory listing):

* git directories generator: every directory of the checkout except hidden ones, matched with
  Go's `path.Match` (`*` never crosses `/`); exclude rules win;
* git files generator: files matched segment by segment (the doublestar globbing Argo CD uses
  with new file globbing), YAML content as parameters, `path.*` of the file's folder, nested
  under `pathParamPrefix` when set;
* matrix: the second generator's fields are templated with each parameter set of the first;
* goTemplate with `missingkey=error`, then `templatePatch` merged into the Application.

The template evaluator understands only the constructs these files use and raises on any
other, so a new construct fails the test instead of being skipped.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import repo_builder as builder
import yaml
from conftest import ENVIRONMENTS, FEATURES_ENV, REPO_ROOT, copy_repo
from modelops.validate import SchemaCatalog

Obj = dict[str, Any]
PLATFORM = REPO_ROOT / "platform"
ARGOCD = PLATFORM / "argocd"
DEFAULT_CRD_DIR = REPO_ROOT.parent / "shared" / "crds"
NOT_MANIFESTS = {"kustomization.yaml", "health_test.yaml"}
SEMVER = re.compile(r"v?\d+\.\d+\.\d+\Z")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> SchemaCatalog:
    crd_dir = Path(os.environ.get("MODELOPS_CRD_DIR", DEFAULT_CRD_DIR))
    if not crd_dir.is_dir():
        pytest.skip(f"no CRDs at {crd_dir}: export your cluster's (`kubectl get crd -o yaml > "
                    "crds/all.yaml`, with Argo CD, Seldon Core 2, Strimzi and the Prometheus "
                    "Operator installed) and set MODELOPS_CRD_DIR to that folder")
    return SchemaCatalog.from_crd_dir(crd_dir, cache_dir=tmp_path_factory.mktemp("schemas"))


def strict(catalog: SchemaCatalog, obj: Obj) -> None:
    problems = catalog.problems(obj)
    missing = [p for p in problems if "no schema: no CRD for" in p.message]
    if missing:
        pytest.skip(f"{missing[0].message}: add that CRD to $MODELOPS_CRD_DIR to validate it")
    assert problems == [], f"{obj['kind']} {obj['metadata'].get('name')}: {problems}"


def load_all(path: Path) -> list[Obj]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def kustomize(folder: Path) -> list[Obj]:
    out = subprocess.run(["kubectl", "kustomize", str(folder)], capture_output=True, text=True,
                         check=False, timeout=60)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d is not None]


# --------------------------------------------------------------------------- Go templates

_ACTION = re.compile(r"\{\{(-?)\s*(.*?)\s*(-?)\}\}", re.S)
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[()]|[^\s()]+')


def _operand(token: str, params: Obj) -> Any:
    if token.startswith('"'):
        return json.loads(token)
    if token.isdigit():
        return int(token)
    if token in ("true", "false"):
        return token == "true"
    if token == ".":
        return params
    if not token.startswith("."):
        raise NotImplementedError(f"template operand {token!r}")
    value: Any = params
    for key in token[1:].split("."):
        if not isinstance(value, dict) or key not in value:
            raise KeyError(f"map has no entry for key {key!r} in {token} (missingkey=error)")
        value = value[key]
    return value


def _is_name(token: str) -> bool:
    return token not in ("(", ")", "true", "false", ".") and not token.isdigit() \
        and not token.startswith(('"', "."))


def _call(words: list[Any]) -> Any:
    """A function applied to evaluated arguments: Go's eq/ne/not/index, Sprig's dig."""
    name, args = words[0], words[1:]
    if name == "index" and len(args) == 2:
        return args[0][args[1]]
    if name in ("eq", "ne") and len(args) == 2:
        return (args[0] == args[1]) == (name == "eq")
    if name == "not" and len(args) == 1:
        return not args[0]
    if name == "dig" and len(args) >= 3:   # dig "k1" "k2" ... default map
        value: Any = args[-1]
        for key in args[:-2]:
            if not isinstance(value, dict) or key not in value:
                return args[-2]
            value = value[key]
        return value
    raise NotImplementedError(f"template function {name!r}")


def _expression(text: str, params: Obj) -> Any:
    tokens = _TOKEN.findall(text)

    def parse(pos: int) -> tuple[Any, int]:
        """The pipeline starting at tokens[pos], up to a closing parenthesis or the end."""
        function = tokens[pos] if pos < len(tokens) and _is_name(tokens[pos]) else None
        pos += function is not None
        args: list[Any] = []
        while pos < len(tokens) and tokens[pos] != ")":
            if tokens[pos] == "(":
                value, pos = parse(pos + 1)
                args.append(value)
            else:
                args.append(_operand(tokens[pos], params))
            pos += 1   # past the operand, or past the ")" of a sub-expression
        if function is not None:
            return _call([function, *args]), pos
        if len(args) != 1:
            raise NotImplementedError(f"template expression {text!r}")
        return args[0], pos

    value, _ = parse(0)
    return value


def go_template(text: str, params: Obj) -> str:
    """Go text/template, for the subset used under platform/ (see the module docstring)."""
    out: list[str] = []
    active = [True]
    pos, trim_next = 0, False
    for match in _ACTION.finditer(text):
        chunk = text[pos : match.start()]
        chunk = chunk.lstrip(" \t\r\n") if trim_next else chunk
        chunk = chunk.rstrip(" \t\r\n") if match.group(1) else chunk
        if all(active):
            out.append(chunk)
        action = match.group(2)
        if action.startswith("if "):
            active.append(all(active) and bool(_expression(action[3:], params)))
        elif action == "end":
            active.pop()
        elif all(active):
            value = _expression(action, params)
            if not isinstance(value, str | int):
                raise NotImplementedError(f"printing {type(value).__name__}")
            out.append(str(value))
        pos, trim_next = match.end(), bool(match.group(3))
    assert active == [True], "unbalanced {{if}}/{{end}}"
    tail = text[pos:]
    out.append(tail.lstrip(" \t\r\n") if trim_next else tail)
    return "".join(out)


def _render_fields(node: Any, params: Obj) -> Any:
    if isinstance(node, str):
        return go_template(node, params)
    if isinstance(node, list):
        return [_render_fields(item, params) for item in node]
    if isinstance(node, dict):
        return {key: _render_fields(value, params) for key, value in node.items()}
    return node


def _merge(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = _merge(base.get(key), value) if key in base else value
        return merged
    return patch


# --------------------------------------------------------------------------- git generators


def _path_match(pattern: str, name: str) -> bool:
    """Go's path.Match: `*` and `?` never match `/`."""
    parts, names = pattern.split("/"), name.split("/")
    return len(parts) == len(names) and all(
        fnmatch.fnmatchcase(n, p) for p, n in zip(parts, names, strict=True))


def _sanitize(name: str) -> str:
    return re.sub(r"[^a-z0-9.-]", "-", name.lower()).strip("-.")


def _path_params(folder: str, prefix: str | None, filename: str | None = None) -> Obj:
    path: Obj = {"path": folder, "basename": Path(folder).name,
                 "basenameNormalized": _sanitize(Path(folder).name),
                 "segments": folder.split("/")}
    if filename is not None:
        path |= {"filename": filename, "filenameNormalized": _sanitize(filename)}
    return {prefix: {"path": path}} if prefix else {"path": path}


def _directories(root: Path) -> list[str]:
    found = []
    for folder, dirs, _files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if folder != str(root):
            found.append(Path(folder).relative_to(root).as_posix())
    return found


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()
                  and ".git" not in p.relative_to(root).parts)


def git_generator(spec: Obj, root: Path) -> Iterator[Obj]:
    prefix = spec.get("pathParamPrefix")
    if "directories" in spec:
        rules = spec["directories"]
        for folder in _directories(root):
            matched = [r for r in rules if _path_match(r["path"], folder)]
            if matched and not any(r.get("exclude") for r in matched):
                yield _path_params(folder, prefix)
    for rule in spec.get("files", []):
        for name in _files(root):
            if _path_match(rule["path"], name):
                content = yaml.safe_load((root / name).read_text(encoding="utf-8"))
                for item in content if isinstance(content, list) else [content]:
                    yield {**item, **_path_params(str(Path(name).parent), prefix,
                                                  Path(name).name)}


def generate(spec: Obj, root: Path) -> Iterator[Obj]:
    if "git" in spec:
        yield from git_generator(spec["git"], root)
        return
    first, second = spec["matrix"]["generators"]
    for left in generate(first, root):
        for right in generate(_render_fields(second, left), root):
            clash = set(left) & set(right)
            assert not clash, f"matrix parameters collide: {clash}"
            yield {**left, **right}


def applications(appset: Obj, root: Path) -> dict[str, Obj]:
    """The Applications an ApplicationSet generates from the tree at `root`, by name."""
    spec = appset["spec"]
    assert spec["goTemplate"] is True
    assert spec["goTemplateOptions"] == ["missingkey=error"]
    apps: dict[str, Obj] = {}
    for generator in spec["generators"]:
        for params in generate(generator, root):
            app: Obj = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                        **_render_fields(copy.deepcopy(spec["template"]), params)}
            if "templatePatch" in spec:
                patch = yaml.safe_load(go_template(spec["templatePatch"], params))
                app = _merge(app, patch) if patch else app
            app["metadata"]["namespace"] = appset["metadata"]["namespace"]
            assert app["metadata"]["name"] not in apps, "two parameter sets, one name"
            apps[app["metadata"]["name"]] = app
    return apps


def appset(name: str) -> Obj:
    (obj,) = load_all(ARGOCD / "applicationsets" / f"{name}.yaml")
    return obj


def environment(root: Path, env: str) -> Obj:
    data: Obj = yaml.safe_load((root / "environments" / env / "environment.yaml").read_text())
    return data


# --------------------------------------------------------------------------- strict validation


def _platform_yaml() -> list[Path]:
    """Every YAML file under platform/ except kustomizations (built and validated below)
    and health_test.yaml case lists (run by test_argocd_health.py)."""
    return sorted(p for p in PLATFORM.rglob("*.yaml") if p.name not in NOT_MANIFESTS)


@pytest.mark.parametrize("path", _platform_yaml(),
                         ids=lambda p: p.relative_to(PLATFORM).as_posix())
def test_every_manifest_under_platform_validates_strictly(catalog: SchemaCatalog,
                                                          path: Path) -> None:
    docs = load_all(path)
    assert docs, "an empty YAML file"
    for doc in docs:
        assert isinstance(doc, dict) and {"apiVersion", "kind", "metadata"} <= set(doc), \
            f"{path}: not a Kubernetes object; platform/ holds manifests only"
    for doc in docs:
        strict(catalog, doc)


def test_strict_validation_catches_a_typo(catalog: SchemaCatalog) -> None:
    app = load_all(PLATFORM / "stack" / "seldon-core-v2-setup.yaml")[0]
    app["spec"]["sourcee"] = app["spec"]["source"]
    assert [p.path for p in catalog.problems(app)] == ["spec.sourcee"]


def test_kustomize_builds_validate(catalog: SchemaCatalog) -> None:
    for folder in (ARGOCD, PLATFORM / "stack"):
        for obj in kustomize(folder):
            strict(catalog, obj)


def test_argocd_cm_holds_exactly_the_lua_files() -> None:
    built = [o for o in kustomize(ARGOCD) if o["kind"] == "ConfigMap"]
    assert [(o["metadata"]["name"], o["metadata"]["namespace"]) for o in built] == [
        ("argocd-cm", "argocd")]
    expected = {
        f"resource.customizations.health.{p.parent.parent.name}_{p.parent.name}":
            p.read_text(encoding="utf-8")
        for p in (ARGOCD / "health").glob("*/*/health.lua")}
    assert len(expected) == 9
    assert built[0]["data"] == expected
    assert built[0]["metadata"]["annotations"]["argocd.argoproj.io/sync-options"] == \
        "Prune=false,ServerSideApply=true"


# --------------------------------------------------------------------------- ApplicationSets


def test_one_models_application_per_environment(catalog: SchemaCatalog) -> None:
    apps = applications(appset("models"), REPO_ROOT)
    assert sorted(apps) == [f"{env}-models" for env in ENVIRONMENTS]
    for env in ENVIRONMENTS:
        app, spec = apps[f"{env}-models"], environment(REPO_ROOT, env)["spec"]
        strict(catalog, app)
        assert app["spec"]["project"] == f"modelops-{env}"
        assert app["spec"]["source"]["path"] == f"environments/{env}/rendered"
        assert app["spec"]["source"]["directory"] == {"recurse": True}
        assert app["spec"]["destination"] == {"server": spec["cluster"]["server"],
                                              "namespace": spec["namespace"]}
        policy = app["spec"]["syncPolicy"]
        assert policy["automated"] == {"prune": True, "selfHeal": True}
        assert "ServerSideApply=true" in policy["syncOptions"]
        assert policy["retry"]["limit"] > 0 and policy["retry"]["backoff"]["factor"] > 1
        finalizers = app["metadata"].get("finalizers", [])
        # Deleting the Application deletes what it deployed, unless the environment keeps it.
        keep = spec.get("argocd", {}).get("keepResourcesOnDelete", False)
        assert finalizers == ([] if keep else ["resources-finalizer.argocd.argoproj.io"])
    assert appset("models")["spec"]["syncPolicy"]["preserveResourcesOnDeletion"] is True


def _add_environment(root: Path, name: str, *, render_it: bool = True) -> None:
    cluster = {"name": f"{name}-eu1", "server": f"https://{name}-eu1.k8s.acme.internal"}
    draft = builder.environment(name, builder.model("scorer"), cluster=cluster)
    builder.write_spec(root, name, draft.document)
    for document in draft.models:
        builder.write_spec(root, name, document)
    if render_it:
        builder.render_repo(root, name)


def _unused_name(base: str) -> str:
    """`base`, or `base` with a number, whichever no committed environment is called."""
    return next(name for name in (base, *(f"{base}{i}" for i in range(2, 99)))
                if name not in ENVIRONMENTS)


def test_a_fourth_environment_yields_its_applications(tmp_path: Path,
                                                      catalog: SchemaCatalog) -> None:
    root = copy_repo(tmp_path / "repo")
    added, unrendered = _unused_name("qa"), _unused_name("perf")
    _add_environment(root, added)
    _add_environment(root, unrendered, render_it=False)  # never rendered: no Application yet
    hidden = root / "environments" / ".scratch" / "rendered"
    hidden.mkdir(parents=True)
    (hidden / "x.yaml").write_text("{}\n")
    shutil.copy(root / "environments" / added / "environment.yaml", hidden.parent)
    apps = applications(appset("models"), root)
    assert sorted(apps) == sorted(f"{env}-models" for env in (*ENVIRONMENTS, added))
    app = apps[f"{added}-models"]
    strict(catalog, app)
    assert app["spec"]["destination"] == {"server": f"https://{added}-eu1.k8s.acme.internal",
                                          "namespace": f"models-{added}"}
    assert app["spec"]["source"]["path"] == f"environments/{added}/rendered"
    assert app["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]
    platform = applications(appset("platform"), root)
    assert sorted(platform) == sorted(f"{env}-platform" for env in (*ENVIRONMENTS, added))
    # and the checks below tell the author what else a new environment needs (beyond what
    # the committed environments may lack already, which test_every_environment_has_its_project
    # reports)
    new_problems = [p for p in project_problems(root) if p not in project_problems(REPO_ROOT)]
    first, second = sorted((added, unrendered))
    assert new_problems == [
        f"environment {first}: no AppProject modelops-{first} in platform/argocd/projects/",
        f"environment {second}: no AppProject modelops-{second} in platform/argocd/projects/",
        f"environment {first}: cluster https://{first}-eu1.k8s.acme.internal is not a "
        "destination of modelops-platform",
        f"environment {second}: cluster https://{second}-eu1.k8s.acme.internal is not a "
        "destination of modelops-platform",
    ]


def test_templates_fail_on_a_missing_parameter() -> None:
    with pytest.raises(KeyError, match="missingkey=error"):
        go_template("{{.spec.clusterr.server}}", {"spec": {"cluster": {"server": "x"}}})
    with pytest.raises(NotImplementedError):
        go_template("{{ .a | upper }}", {"a": "x"})
    assert go_template('a\n{{- if ne .n "x" }}\nb: 1\n{{- end }}\n', {"n": "y"}) == \
        "a\nb: 1\n"
    keep = '{{- if not (dig "spec" "keep" false .) }}gone{{- end }}'
    assert go_template(keep, {"spec": {}}) == "gone"
    assert go_template(keep, {"spec": {"keep": True}}) == ""
    assert go_template(keep, {}) == "gone"


# --------------------------------------------------------------------------- projects


def _projects() -> dict[str, Obj]:
    return {p["metadata"]["name"]: p for f in sorted((ARGOCD / "projects").glob("*.yaml"))
            for p in load_all(f)}


def project_problems(root: Path) -> list[str]:
    projects = _projects()
    envs = sorted(p.parent.name for p in (root / "environments").glob("*/environment.yaml")
                  if not p.parent.name.startswith("."))
    problems = [f"environment {env}: no AppProject modelops-{env} in platform/argocd/projects/"
                for env in envs if f"modelops-{env}" not in projects]
    servers = {d["server"] for d in projects["modelops-platform"]["spec"]["destinations"]}
    problems += [f"environment {env}: cluster {server} is not a destination of "
                 "modelops-platform" for env in envs
                 if (server := environment(root, env)["spec"]["cluster"]["server"]) not in servers]
    return problems


def test_every_environment_has_its_project() -> None:
    assert project_problems(REPO_ROOT) == []


def _rendered_usage(root: Path, env: str) -> tuple[set[tuple[str, str]], set[tuple[str, str]],
                                                   set[str]]:
    """(cluster-scoped kinds, namespaced kinds, namespaces) of an environment's rendered tree."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    cluster: set[tuple[str, str]] = set()
    namespaced: set[tuple[str, str]] = set()
    namespaces: set[str] = set()
    for path in (root / "environments" / env / "rendered").rglob("*.yaml"):
        obj = yaml.load(path.read_bytes(), Loader=loader)
        group = obj["apiVersion"].rpartition("/")[0]
        if "namespace" in obj["metadata"]:
            namespaced.add((group, obj["kind"]))
            namespaces.add(obj["metadata"]["namespace"])
        else:
            cluster.add((group, obj["kind"]))
    return cluster, namespaced, namespaces


def test_projects_allow_exactly_what_the_environments_render(feature_repo: Path) -> None:
    """Each project permits what its environment renders; no project permits more kinds than
    the generator emits (a stale whitelist entry is a hole, not a convenience). What the
    generator emits is what the committed environments and the built one with every feature
    render together, so a fork whose environments lack drift or canaries still passes."""
    all_cluster, all_namespaced, _ = _rendered_usage(feature_repo, FEATURES_ENV)
    whitelists = set()
    for env in ENVIRONMENTS:
        project = _projects()[f"modelops-{env}"]
        spec = project["spec"]
        assert project["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "-2"
        server = environment(REPO_ROOT, env)["spec"]["cluster"]["server"]
        assert {d["server"] for d in spec["destinations"]} == {server}
        cluster_kinds = frozenset((k["group"], k["kind"])
                                  for k in spec["clusterResourceWhitelist"])
        namespaced_kinds = frozenset((k["group"], k["kind"])
                                     for k in spec["namespaceResourceWhitelist"])
        whitelists.add((cluster_kinds, namespaced_kinds))
        cluster, namespaced, namespaces = _rendered_usage(REPO_ROOT, env)
        assert cluster <= cluster_kinds, f"{env}: not allowed: {cluster - cluster_kinds}"
        assert namespaced <= namespaced_kinds, f"{env}: {namespaced - namespaced_kinds}"
        assert namespaces == {d["namespace"] for d in spec["destinations"]}
        all_cluster |= cluster
        all_namespaced |= namespaced
    assert len(whitelists) == 1, "every environment's project allows the same kinds"
    assert whitelists == {(frozenset(all_cluster), frozenset(all_namespaced))}


# --------------------------------------------------------------------------- platform stack


def _stack_for(app: Obj, tmp_path: Path) -> list[Obj]:
    """Build platform/stack with the Application's kustomize options, as the repo server does."""
    work = tmp_path / app["metadata"]["name"]
    shutil.copytree(REPO_ROOT / app["spec"]["source"]["path"], work)
    options = app["spec"]["source"]["kustomize"]
    kustomization = yaml.safe_load((work / "kustomization.yaml").read_text())
    kustomization["namePrefix"] = options["namePrefix"]
    kustomization["patches"] = options["patches"]
    (work / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    return kustomize(work)


def test_platform_stack_per_environment(tmp_path: Path, catalog: SchemaCatalog) -> None:
    parents = applications(appset("platform"), REPO_ROOT)
    assert sorted(parents) == [f"{env}-platform" for env in ENVIRONMENTS]
    for env in ENVIRONMENTS:
        parent = parents[f"{env}-platform"]
        strict(catalog, parent)
        spec = environment(REPO_ROOT, env)["spec"]
        children = {c["metadata"]["name"]: c for c in _stack_for(parent, tmp_path)}
        assert sorted(children) == sorted(f"{env}-{name}" for name in (
            "cert-manager", "kube-prometheus-stack", "strimzi-kafka-operator",
            "seldon-core-v2-crds", "kafka", "seldon-core-v2-setup", "seldon-core-v2-runtime",
            "modelops-admission"))
        for child in children.values():
            strict(catalog, child)
            assert child["spec"]["destination"]["server"] == spec["cluster"]["server"]
            assert child["spec"]["project"] == "modelops-platform"
            assert "finalizers" not in child["metadata"], "deleting an app must not uninstall"
            assert "ServerSideApply=true" in child["spec"]["syncPolicy"]["syncOptions"]
        runtime = children[f"{env}-seldon-core-v2-runtime"]
        assert runtime["spec"]["destination"]["namespace"] == spec["namespace"]


def _stack() -> dict[str, Obj]:
    return {o["metadata"]["name"]: o for o in kustomize(PLATFORM / "stack")}


def test_install_order_and_pinned_charts() -> None:
    stack = _stack()
    wave = {name: int(app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])
            for name, app in stack.items()}
    assert wave["seldon-core-v2-crds"] < wave["seldon-core-v2-setup"] < \
        wave["seldon-core-v2-runtime"]
    assert wave["strimzi-kafka-operator"] < wave["kafka"] < wave["seldon-core-v2-runtime"]
    assert wave["cert-manager"] < wave["modelops-admission"]
    assert wave["kube-prometheus-stack"] < wave["seldon-core-v2-runtime"]
    charts = {name: app["spec"]["source"] for name, app in stack.items()
              if "chart" in app["spec"]["source"]}
    assert {s["chart"] for s in charts.values()} == {
        "seldon-core-v2-crds", "seldon-core-v2-setup", "seldon-core-v2-runtime",
        "strimzi-kafka-operator", "kube-prometheus-stack", "cert-manager"}
    for name, source in charts.items():
        assert SEMVER.match(source["targetRevision"]), f"{name}: unpinned chart"
        assert source["helm"]["releaseName"] == name
    seldon = {s["targetRevision"] for s in charts.values() if s["chart"].startswith("seldon")}
    assert seldon == {"2.10.2"}, "Seldon's charts move together"
    assert stack["seldon-core-v2-crds"]["spec"]["syncPolicy"]["automated"]["prune"] is False
    agent = charts["seldon-core-v2-setup"]["helm"]["valuesObject"]["serverConfig"]["agent"]
    assert agent["overcommitPercentage"] == "10"
    assert 0 < agent["maxLoadElapsedTimeMinutes"] <= 120


def test_kafka_has_three_brokers_and_seldon_points_at_it() -> None:
    objs = {o["kind"]: o for f in sorted((PLATFORM / "kafka").glob("*.yaml"))
            for o in load_all(f)}
    kafka, pool = objs["Kafka"], objs["KafkaNodePool"]
    assert kafka["apiVersion"] == pool["apiVersion"] == "kafka.strimzi.io/v1"
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
    assert pool["spec"]["replicas"] == 3 and "broker" in pool["spec"]["roles"]
    assert kafka["spec"]["kafka"]["config"]["min.insync.replicas"] == 2
    values = _stack()["seldon-core-v2-setup"]["spec"]["source"]["helm"]["valuesObject"]
    name, namespace = kafka["metadata"]["name"], kafka["metadata"]["namespace"]
    assert values["kafka"]["bootstrap"] == f"{name}-kafka-bootstrap.{namespace}:9092"
    for env in ENVIRONMENTS:
        wanted = environment(REPO_ROOT, env)["spec"]["kafka"]
        assert (wanted["cluster"], wanted["namespace"]) == (name, namespace)
        assert wanted["topicPrefix"] == values["kafka"]["topicPrefix"]
        assert wanted["replicationFactor"] <= pool["spec"]["replicas"]
