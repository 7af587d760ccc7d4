"""The Argo CD wiring that follows from the environments: AppProjects and the kustomization.

Argo CD's ApplicationSets find a new environment by themselves (they read every
`environments/*/environment.yaml`), but an Application may only deploy what its AppProject
allows, and ApplicationSets cannot create AppProjects. So `modelops render` writes them: one
`platform/argocd/projects/<env>.yaml` per environment (its cluster, its model and Kafka
namespaces, the kinds the generator emits), `projects/platform.yaml` (every environment's
cluster, this repository as `organization.yaml` names it, and the chart repositories
`platform/stack/` installs from), and `platform/argocd/kustomization.yaml`, which lists the
projects, the ApplicationSets and the health checks that exist. `render --check` and `check`
fail while any of them is missing or stale, so an environment added by hand cannot reach Argo
CD half-wired.

A repository without `platform/argocd/` (a test repository, a fork that deploys otherwise)
has nothing here to render.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelops.clashes import cluster_key
from modelops.organization import ORGANIZATION_FILE, missing
from modelops.render import HEADER, Drift, compare_files, environment, read_tree, sync_files
from modelops.repository import ENVIRONMENT_FILE, ENVIRONMENTS_DIR, Repository
from modelops.settings import EnvironmentSettings
from modelops.yamlsource import load_yaml

ARGOCD_DIR = Path("platform") / "argocd"
PROJECTS = "projects"
KUSTOMIZATION = "kustomization.yaml"
STACK_DIR = Path("platform") / "stack"
PLATFORM_PROJECT = "platform"

# What `modelops render` emits, by scope: an environment's project allows exactly these.
CLUSTER_KINDS = (("", "Namespace"), ("serving.kserve.io", "LocalModelCache"))
NAMESPACED_KINDS = (
    ("", "ConfigMap"),
    ("batch", "Job"),
    ("batch", "CronJob"),
    ("mlops.seldon.io", "Server"),
    ("mlops.seldon.io", "Model"),
    ("mlops.seldon.io", "Pipeline"),
    ("mlops.seldon.io", "Experiment"),
    ("serving.kserve.io", "InferenceService"),
    ("kafka.strimzi.io", "KafkaTopic"),
    ("monitoring.coreos.com", "PodMonitor"),
    ("monitoring.coreos.com", "ServiceMonitor"),
    ("monitoring.coreos.com", "PrometheusRule"),
)


def manages(repo: Repository) -> bool:
    return (repo.root / ARGOCD_DIR).is_dir()


def project_name(env: str) -> str:
    return f"modelops-{env}"


def _template(name: str, source: str, values: dict[str, Any]) -> bytes:
    body = environment().get_template(f"argocd/{name}").render(values)
    return (HEADER.format(source=source) + body).encode()


def _repo_url(repo: Repository) -> str:
    organization = repo.load_organization()
    if organization is None:
        raise missing(f"{ARGOCD_DIR}/{PROJECTS}/", "the git repository every AppProject allows")
    return organization.repo_url


def _chart_repos(repo: Repository) -> list[str]:
    """Every Helm chart repository the platform stack's Applications install from (their git
    sources are this repository, as organization.yaml names it: `modelops.platformvalues`)."""
    urls: set[str] = set()
    for path in sorted((repo.root / STACK_DIR).glob("*.yaml")):
        if path.name == KUSTOMIZATION:
            continue
        data = load_yaml(path, repo.relative(path)).data
        spec = data.get("spec", {}) if isinstance(data, dict) else {}
        sources = [spec.get("source")] + list(spec.get("sources") or [])
        urls.update(s["repoURL"] for s in sources
                    if isinstance(s, dict) and isinstance(s.get("repoURL"), str) and "chart" in s)
    return sorted(urls)


def project_files(repo: Repository,
                  envs: list[EnvironmentSettings]) -> dict[str, bytes]:
    """Path under platform/argocd/ -> content, for every file this module owns."""
    repo_url = _repo_url(repo)
    files: dict[str, bytes] = {}
    for env in envs:
        spec = env.spec.spec
        destinations = [{"server": spec.cluster.server, "namespace": namespace}
                        for namespace in sorted({spec.namespace, spec.kafka.namespace})]
        files[f"{PROJECTS}/{env.name}.yaml"] = _template(
            "project-environment.yaml.j2", env.doc.display, {
                "environment": env.name, "name": project_name(env.name),
                "description": f"Models of the {env.name} environment "
                               f"({ENVIRONMENTS_DIR}/{env.name}/rendered/)",
                "repo_url": repo_url, "destinations": destinations,
                "cluster_kinds": [{"group": g, "kind": k} for g, k in CLUSTER_KINDS],
                "namespaced_kinds": [{"group": g, "kind": k} for g, k in NAMESPACED_KINDS]})
    servers: dict[str, str] = {}
    for env in envs:
        server = env.spec.spec.cluster.server
        servers.setdefault(cluster_key(server), server)
    files[f"{PROJECTS}/{PLATFORM_PROJECT}.yaml"] = _template(
        "project-platform.yaml.j2",
        f"{ENVIRONMENTS_DIR}/*/{ENVIRONMENT_FILE}, {STACK_DIR}/ and {ORGANIZATION_FILE}", {
            "source_repos": [repo_url] + [u for u in _chart_repos(repo) if u != repo_url],
            "servers": [servers[key] for key in sorted(servers)]})
    argocd = repo.root / ARGOCD_DIR
    health = sorted(p.relative_to(argocd).as_posix() for p in argocd.glob("health/*/*/health.lua"))
    files[KUSTOMIZATION] = _template(
        "kustomization.yaml.j2", f"{ENVIRONMENTS_DIR}/*/{ENVIRONMENT_FILE} and the files in "
        f"{ARGOCD_DIR}/", {
            "resources": sorted(f for f in files if f.startswith(f"{PROJECTS}/"))
            + sorted(p.relative_to(argocd).as_posix()
                     for p in argocd.glob("applicationsets/*.yaml"))
            + sorted(p.relative_to(argocd).as_posix()
                     for p in argocd.glob("repositories/*.yaml")),
            "health_checks": [(f"resource.customizations.health.{path.split('/')[1]}_"
                               f"{path.split('/')[2]}", path) for path in health]})
    return files


def _committed(repo: Repository) -> dict[str, bytes]:
    argocd = repo.root / ARGOCD_DIR
    committed = {f"{PROJECTS}/{rel}": content
                 for rel, content in read_tree(argocd / PROJECTS).items()}
    if (argocd / KUSTOMIZATION).is_file():
        committed[KUSTOMIZATION] = (argocd / KUSTOMIZATION).read_bytes()
    return committed


def planned_files(repo: Repository) -> dict[str, bytes] | None:
    """What this module would write now, or None when the repository has no platform/argocd/."""
    if not manages(repo):
        return None
    return project_files(repo, repo.load_all_settings())


def check_projects(repo: Repository) -> list[Drift]:
    """How the committed Argo CD wiring differs from what the environments say it must be."""
    expected = planned_files(repo)
    if expected is None:
        return []
    return compare_files(repo.relative(repo.root / ARGOCD_DIR), expected, _committed(repo))


def write_projects(repo: Repository, expected: dict[str, bytes]) -> list[str]:
    """Write `planned_files`, remove projects of environments that are gone; the paths
    written or removed."""
    argocd = repo.root / ARGOCD_DIR
    (argocd / PROJECTS).mkdir(exist_ok=True)
    changed = sync_files(argocd, expected, _committed(repo))
    return [repo.relative(argocd / rel) for rel in changed]
