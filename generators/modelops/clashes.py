"""Environments that would own the same objects in a cluster.

Argo CD deploys each environment as one Application into the namespace its `environment.yaml`
names on the cluster it names. Two environments with the same (cluster server, namespace) would
be two Applications owning the same Models, Servers and topics, each sync overwriting or
pruning what the other applied; the copy of an environment that still names its original's
cluster and namespace is the usual way to get there. Seldon names Kafka topics
`<topicPrefix>.<namespace>.<kind>.<name>.<direction>` on the cluster's Kafka, so two
environments' topics meet exactly when they share the namespace on one cluster with the same
Kafka cluster and prefix; the message says so when that is the case too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from modelops.errors import Problem
from modelops.spec import EnvironmentSpec

if TYPE_CHECKING:  # repository calls this module while loading
    from modelops.settings import EnvironmentSettings


def cluster_key(server: str) -> str:
    """A cluster server URL in one spelling: case of scheme and host, default port and a
    trailing slash do not make it another cluster."""
    parts = urlsplit(server)
    host = (parts.hostname or "").lower()
    port = f":{parts.port}" if parts.port not in (None, 443) else ""
    return f"{parts.scheme.lower()}://{host}{port}{parts.path.rstrip('/')}"


def topic_space(spec: EnvironmentSpec) -> tuple[str, str, str, str]:
    """Where an environment's Kafka topics live and the prefix every one of them starts with."""
    kafka = spec.kafka
    return (cluster_key(spec.cluster.server), kafka.namespace, kafka.cluster,
            f"{kafka.topic_prefix}.{spec.namespace}.")


def _where(env: EnvironmentSettings, loc: tuple[str, ...]) -> str:
    line, _col = env.doc.locate(loc)
    return f"{env.doc.display}:{line}"


def clash_problems(environments: Iterable[EnvironmentSettings],
                   selected: Sequence[str] | None = None) -> list[Problem]:
    """One problem per environment whose (cluster, namespace) an earlier one already uses.

    With `selected`, only clashes that involve one of those environments are reported.
    """
    owners: dict[tuple[str, str], EnvironmentSettings] = {}
    problems: list[Problem] = []
    for env in sorted(environments, key=lambda e: e.name):
        spec = env.spec.spec
        key = (cluster_key(spec.cluster.server), spec.namespace)
        first = owners.setdefault(key, env)
        if first is env or (selected is not None and first.name not in selected
                            and env.name not in selected):
            continue
        topics = ""
        if topic_space(first.spec.spec) == topic_space(spec):
            prefix = topic_space(spec)[3]
            topics = (f", and the same Kafka topics ({prefix}* in "
                      f"{spec.kafka.namespace}/{spec.kafka.cluster})")
        line, col = env.doc.locate(("spec", "namespace"))
        problems.append(Problem(
            env.doc.display, line, col, "spec.namespace",
            f"namespace {spec.namespace!r} on cluster {spec.cluster.server} is also the "
            f"namespace of environment {first.name!r} "
            f"({_where(first, ('spec', 'namespace'))}, cluster at "
            f"{_where(first, ('spec', 'cluster', 'server'))}): two Argo CD Applications would "
            f"own the same objects{topics}; give this environment its own spec.namespace or "
            "spec.cluster"))
    return problems
