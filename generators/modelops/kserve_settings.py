"""What environment.yaml's `spec.kserve` means once read, and the checks across environments.

KServe accepts the deployment-mode names `Serverless` and `RawDeployment` as deprecated
aliases of `Knative` and `Standard`; the rendered annotation always carries the current name,
so an upgrade that drops the aliases changes nothing in the cluster, and a spec still using one
loads with a warning. The ClusterServingRuntimes under `platform/kserve/runtimes/` are the
union over every environment: one name defined differently in two environments would make one
cluster-wide object mean two things, so that is an error naming both files.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Literal

from modelops.errors import Problem
from modelops.spec import DEPLOYMENT_MODE_ALIASES, KServeRuntime, KServeSettings

if TYPE_CHECKING:  # repository calls this module while loading
    from modelops.settings import EnvironmentSettings

Mode = Literal["Knative", "Standard"]
Server = Literal["triton", "kserve-python"]


def server_of(runtime: KServeRuntime) -> Server:
    """Which model server a runtime's image runs: a `tritonserver` image is Triton, anything
    else is taken for one of KServe's Python model servers (sklearnserver, xgbserver, ...).
    The command line, the metrics port and the metric names follow from it."""
    return "triton" if "tritonserver" in runtime.image.rsplit("/", 1)[-1] else "kserve-python"


def deployment_mode(settings: KServeSettings) -> Mode:
    """The mode's current name (`Serverless` is `Knative`, `RawDeployment` is `Standard`)."""
    mode = DEPLOYMENT_MODE_ALIASES.get(settings.deployment_mode, settings.deployment_mode)
    return "Knative" if mode == "Knative" else "Standard"


def deprecated_mode_warnings(environments: Iterable[EnvironmentSettings]) -> list[Problem]:
    """One warning per environment that names its deployment mode by a deprecated alias."""
    warnings = []
    for env in environments:
        settings = env.spec.spec.kserve
        if settings is None or settings.deployment_mode not in DEPLOYMENT_MODE_ALIASES:
            continue
        loc = ("spec", "kserve", "deploymentMode")
        line, col = env.doc.locate(loc)
        current = DEPLOYMENT_MODE_ALIASES[settings.deployment_mode]
        warnings.append(Problem(
            env.doc.display, line, col, "spec.kserve.deploymentMode",
            f"{settings.deployment_mode!r} is KServe's deprecated name of {current!r}; "
            f"rendered as {current!r}: write {current!r} here"))
    return warnings


def runtime_clash_problems(environments: Iterable[EnvironmentSettings],
                           selected: Sequence[str] | None = None) -> list[Problem]:
    """One problem per runtime an earlier environment defines differently.

    With `selected`, only clashes that involve one of those environments are reported.
    """
    first: dict[str, EnvironmentSettings] = {}
    problems: list[Problem] = []
    for env in sorted(environments, key=lambda e: e.name):
        settings = env.spec.spec.kserve
        if settings is None:
            continue
        for name, runtime in sorted(settings.runtimes.items()):
            owner = first.setdefault(name, env)
            if owner is env:
                continue
            other = owner.spec.spec.kserve
            assert other is not None
            if other.runtimes[name] == runtime or (
                    selected is not None and owner.name not in selected
                    and env.name not in selected):
                continue
            loc = ("spec", "kserve", "runtimes", name)
            line, col = env.doc.locate(loc)
            other_line, _ = owner.doc.locate(loc)
            problems.append(Problem(
                env.doc.display, line, col, f"spec.kserve.runtimes.{name}",
                f"runtime {name!r} is defined differently in {owner.doc.display}:{other_line}; "
                "it renders one cluster-wide ClusterServingRuntime, so every environment "
                "defining it must define it the same (or give this one another name)"))
    return problems
