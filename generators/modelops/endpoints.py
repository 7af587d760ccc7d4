"""Where a model answers V2 requests inside the cluster, for the Jobs that call it.

The PostSync smoke Job and the batch CronJob both run `modelops` against a model from a pod in
the environment's namespace. Seldon serves every model through one mesh Service and routes by
the `seldon-model` header (to the Pipeline when one carries the traffic); KServe gives each
InferenceService its own predictor Service, so the address names the model and no header is
needed. One function decides both, so the two Jobs can never disagree.

KServe v0.20 names the predictor's Service `<name>-predictor` and serves it on port 80 in both
deployment modes (`constants.PredictorServiceName`, `CommonDefaultHttpPort`): in Standard mode
a ClusterIP Service in front of the Deployment's 8080, in Knative mode the Knative Service's
own, routed by the cluster-local gateway on that host name. The V2 model name there is the
InferenceService's name.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelops.provenance import Sourced, derived, from_spec
from modelops.repository import LoadedEnvironment, LoadedModel
from modelops.spec import serving_target

MESH_SERVICE = "seldon-mesh"
MESH_HTTP_PORT = 80
PREDICTOR_HTTP_PORT = 80
SELDON_MODEL_HEADER = "seldon-model"

PIPELINE_NAME_REASON = ("metadata.name + '-pipeline': Seldon's scheduler rejects a Pipeline "
                        "with a step named like the Pipeline, and the model is a step")


def pipeline_name(model: str) -> str:
    return f"{model}-pipeline"


@dataclass(frozen=True)
class Endpoint:
    """HOST:PORT as tritonclient takes it, and the headers every call carries."""

    url: Sourced
    headers: dict[str, Sourced]


def model_endpoint(env: LoadedEnvironment, model: LoadedModel) -> Endpoint:
    namespace = env.spec.spec.namespace
    spec = model.spec.spec
    if serving_target(spec, env.spec.spec) == "kserve":
        return Endpoint(derived(f"{model.name}-predictor.{namespace}:{PREDICTOR_HTTP_PORT}",
                                "KServe's predictor Service <name>-predictor, port 80 in both "
                                "deployment modes, in the environment namespace"), {})
    has_pipeline = spec.drift is not None or spec.processing is not None
    route = (derived(f"{pipeline_name(model.name)}.pipeline", "the Pipeline carries the "
                     "traffic (drift or processing steps)") if has_pipeline
             else from_spec(model.name, "metadata.name"))
    return Endpoint(derived(f"{MESH_SERVICE}.{namespace}:{MESH_HTTP_PORT}",
                            "Seldon's mesh Service in the environment namespace"),
                    {SELDON_MODEL_HEADER: route})
