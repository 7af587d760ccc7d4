"""The ClusterServingRuntimes the environments offer, rendered under `platform/kserve/runtimes/`.

An InferenceService naming a runtime that does not exist is accepted by KServe's API
(kserve#2196) and fails only when it reconciles. Here every InferenceService names its runtime
(`modelops.kserve.runtime_for`), the loader checks that the environment offers it, and this
module renders each offered runtime as a cluster-wide object, one file per runtime name: the
union over every environment (the loader rejects one name defined differently in two). The
folder is applied to each cluster with KServe before the environments' models (it is
cluster-wide, so no environment's Application owns it). `render --check` and `check` fail
while a file is missing or stale, like the Argo CD projects. A repository without `platform/`
(a test repository, a fork that deploys otherwise) has nothing here to render.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelops.kserve_monitoring import KSERVE_SERVER_PORT, TRITON_METRICS_PORT
from modelops.kserve_settings import server_of
from modelops.objects import object_labels
from modelops.render import HEADER, Drift, compare_files, environment, read_tree, sync_files
from modelops.repository import Repository
from modelops.settings import EnvironmentSettings
from modelops.spec import KServeRuntime

RUNTIMES_DIR = Path("platform") / "kserve" / "runtimes"
CONTAINER = "kserve-container"
PROTOCOL_VERSIONS = ("v2",)
TEMPLATE = "clusterservingruntime.yaml.j2"
MODEL_DIR = "/mnt/models"  # where KServe's storage initializer or ModelCar puts the artifact
HTTP_PORT = 8080  # the predictor port KServe's Services target
# The command line of each model server, as KServe's own runtimes (config/runtimes/) run it;
# `{{.Name}}` is KServe's template for the InferenceService name.
ARGS = {
    "kserve-python": ("--model_name={{.Name}}", f"--model_dir={MODEL_DIR}",
                      f"--http_port={HTTP_PORT}"),
    "triton": ("tritonserver", f"--model-store={MODEL_DIR}", "--grpc-port=9000",
               f"--http-port={HTTP_PORT}", "--allow-grpc=true", "--allow-http=true"),
}
METRICS_PORT = {"kserve-python": KSERVE_SERVER_PORT, "triton": TRITON_METRICS_PORT}
# Triton's image runs as root unless told otherwise; KServe's Python servers run as non-root.
RUN_AS_USER = {"triton": 1000}


def runtimes(envs: list[EnvironmentSettings]) -> dict[str, tuple[KServeRuntime, list[str]]]:
    """Every runtime name -> its definition and the environment files that offer it."""
    found: dict[str, tuple[KServeRuntime, list[str]]] = {}
    for env in sorted(envs, key=lambda e: e.name):
        settings = env.spec.spec.kserve
        if settings is None:
            continue
        for name, runtime in settings.runtimes.items():
            found.setdefault(name, (runtime, []))[1].append(env.doc.display)
    return found


def _values(name: str, runtime: KServeRuntime) -> dict[str, Any]:
    labels = object_labels("platform", name, "serving-runtime")
    del labels["modelops.dev/environment"]
    limits: dict[str, Any] = {}
    if runtime.gpu:
        limits["nvidia.com/gpu"] = runtime.gpu
    server = server_of(runtime)
    return {
        "args": list(ARGS[server]),
        "metrics_port": str(METRICS_PORT[server]),
        "run_as_user": RUN_AS_USER.get(server),
        "name": name,
        "labels": {key: getattr(value, "value", value) for key, value in labels.items()},
        "formats": sorted(runtime.formats),
        "protocols": list(PROTOCOL_VERSIONS),
        "container": CONTAINER,
        "image": runtime.image,
        "requests": {"cpu": runtime.cpu},
        "limits": limits,
    }


def manages(repo: Repository) -> bool:
    return (repo.root / RUNTIMES_DIR.parts[0]).is_dir()


def planned_files(repo: Repository) -> dict[str, bytes]:
    """File name under platform/kserve/runtimes/ -> content, for every offered runtime."""
    files: dict[str, bytes] = {}
    if not manages(repo):
        return files
    for name, (runtime, sources) in sorted(runtimes(repo.load_all_settings()).items()):
        source = ", ".join(sources) + f" (spec.kserve.runtimes.{name})"
        body = environment().get_template(TEMPLATE).render(_values(name, runtime))
        files[f"{name}.yaml"] = (HEADER.format(source=source) + body).encode()
    return files


def check_files(repo: Repository) -> list[Drift]:
    """How the committed runtimes differ from what the environments offer."""
    folder = repo.root / RUNTIMES_DIR
    if not manages(repo):
        return []
    return compare_files(repo.relative(folder), planned_files(repo), read_tree(folder))


def write_files(repo: Repository, expected: dict[str, bytes]) -> list[str]:
    """Write the runtimes, remove those no environment offers; the paths changed."""
    folder = repo.root / RUNTIMES_DIR
    if expected:
        folder.mkdir(parents=True, exist_ok=True)
    changed = sync_files(folder, expected, read_tree(folder))
    return [repo.relative(folder / rel) for rel in changed]
