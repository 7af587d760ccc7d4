"""`modelops env new NAME --from EXISTING --namespace NS --cluster NAME=URL`.

A new environment starts as a copy of an existing one's `environment.yaml` (pools, limits,
thresholds, Kafka settings and artifact policy are what people want to keep), with the four
values that make it a different environment replaced in place: its name, namespace, cluster
name and cluster server. Everything else Argo CD needs follows from that file at `make render`.
The Kafka topic prefix is kept: Seldon names topics `<prefix>.<namespace>.…`, so the new
namespace already separates them, and the prefix has to match the one Seldon is installed
with on the cluster.

Nothing is written unless the result loads cleanly, and a failure removes what was written.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from modelops.clashes import cluster_key
from modelops.errors import UsageError
from modelops.repository import ENVIRONMENT_FILE, MODELS_DIR, Repository
from modelops.spec import Cluster, DnsLabel, EnvironmentMetadata
from modelops.yamledit import EditError, replace_scalars


@dataclass(frozen=True)
class NewEnvironment:
    name: str
    source: str
    namespace: str
    cluster_name: str
    cluster_server: str
    with_models: bool


def _invalid(what: str, exc: ValidationError) -> UsageError:
    message = str(exc.errors(include_url=False)[0]["msg"]).removeprefix("Value error, ")
    return UsageError(f"{what}: {message}")


def parse_cluster(value: str) -> tuple[str, str]:
    """`NAME=URL` of `--cluster`, both validated as environment.yaml validates them."""
    name, sep, server = value.partition("=")
    if not sep:
        raise UsageError(f"--cluster {value!r}: expected NAME=URL, e.g. "
                         "qa-eu1=https://qa-eu1.k8s.example.com")
    try:
        Cluster.model_validate({"name": name, "server": server})
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = "NAME" if error["loc"][:1] == ("name",) else "URL (https://host[:port][/path])"
        raise UsageError(f"--cluster {value!r}: bad {field}: "
                         f"{str(error['msg']).removeprefix('Value error, ')}") from None
    return name, server


def _check_arguments(repo: Repository, request: NewEnvironment) -> None:
    try:
        EnvironmentMetadata.model_validate({"name": request.name})
    except ValidationError as exc:
        raise _invalid(f"environment name {request.name!r}", exc) from None
    try:
        TypeAdapter(DnsLabel).validate_python(request.namespace)
    except ValidationError as exc:
        raise _invalid(f"--namespace {request.namespace!r}", exc) from None
    if repo.environment_dir(request.name).exists():
        raise UsageError(f"environment {request.name!r} exists already "
                         f"({repo.relative(repo.environment_dir(request.name))})")
    if request.source not in repo.environment_names():
        raise UsageError(f"--from {request.source!r}: no such environment; known: "
                         f"{', '.join(repo.environment_names())}")
    for other in repo.readable_settings(repo.environment_names()):
        spec = other.spec.spec
        if cluster_key(spec.cluster.server) == cluster_key(request.cluster_server) and \
                spec.namespace == request.namespace:
            line, _col = other.doc.locate(("spec", "namespace"))
            raise UsageError(f"namespace {request.namespace!r} on cluster "
                             f"{request.cluster_server} is already used by environment "
                             f"{other.name!r} ({other.doc.display}:{line}); two Argo CD "
                             "Applications would own the same objects: choose another "
                             "--namespace or --cluster")


def create_environment(repo: Repository, request: NewEnvironment) -> list[str]:
    """Write the new environment; the files written, relative to the repository."""
    _check_arguments(repo, request)
    source = repo.load_settings(request.source)
    text = source.doc.path.read_text(encoding="utf-8")
    target = repo.environment_dir(request.name)
    try:
        edited = replace_scalars(text, source.doc.display, {
            ("metadata", "name"): request.name,
            ("spec", "namespace"): request.namespace,
            ("spec", "cluster", "name"): request.cluster_name,
            ("spec", "cluster", "server"): request.cluster_server,
        })
    except EditError as exc:
        raise UsageError(str(exc)) from None
    written: list[Path] = []
    target.mkdir(parents=True)
    try:
        (target / ENVIRONMENT_FILE).write_text(edited, encoding="utf-8")
        written.append(target / ENVIRONMENT_FILE)
        if request.with_models:
            models = repo.environment_dir(request.source) / MODELS_DIR
            for path in sorted(models.glob("*.yaml")):
                if path.is_file() and not path.is_symlink():
                    (target / MODELS_DIR).mkdir(exist_ok=True)
                    shutil.copyfile(path, target / MODELS_DIR / path.name)
                    written.append(target / MODELS_DIR / path.name)
        repo.load_environments([request.name])
    except BaseException:  # the copy does not load, Ctrl-C: leave no half-made environment
        shutil.rmtree(target, ignore_errors=True)
        raise
    return [repo.relative(path) for path in written]
