"""The Kubernetes resources the plugin touches, named once.

The ValidatingWebhookConfiguration under platform/admission/ and the kopf handlers must agree on
every URL path, group, version and plural; the RBAC rules must name exactly the indexed kinds.
Keeping the table here (and a test that reads the YAML against it) means a renamed handler or a
new Seldon kind cannot silently leave the cluster calling a path nobody serves.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from modelops.policy.inputs import ENVIRONMENT_CONFIGMAP

SELDON_GROUP: Final = "mlops.seldon.io"
SELDON_VERSION: Final = "v1alpha1"


class Resource(NamedTuple):
    group: str
    version: str
    plural: str
    kind: str


class Webhook(NamedTuple):
    """One validating webhook: kopf handler id == URL path segment == webhook name prefix."""

    id: str
    resource: Resource

    @property
    def path(self) -> str:
        return f"/{self.id}"


MODELS: Final = Resource(SELDON_GROUP, SELDON_VERSION, "models", "Model")
SERVERS: Final = Resource(SELDON_GROUP, SELDON_VERSION, "servers", "Server")
PIPELINES: Final = Resource(SELDON_GROUP, SELDON_VERSION, "pipelines", "Pipeline")
EXPERIMENTS: Final = Resource(SELDON_GROUP, SELDON_VERSION, "experiments", "Experiment")
CONFIGMAPS: Final = Resource("", "v1", "configmaps", "ConfigMap")
INFERENCE_SERVICES: Final = Resource("serving.kserve.io", "v1beta1", "inferenceservices",
                                     "InferenceService")

# Every mlops.seldon.io kind a policy may judge, and KServe's InferenceService. Pipelines (drift
# steps) and Experiments (rollouts) are included although today's policies mostly judge Models
# and Servers: the plugin evaluates whatever is in policies/, and a kind without a webhook could
# never be denied. KServe's runtimes and LocalModelCaches are cluster-scoped and judged by no
# policy.
WEBHOOKS: Final = (
    Webhook("validate-models", MODELS),
    Webhook("validate-servers", SERVERS),
    Webhook("validate-pipelines", PIPELINES),
    Webhook("validate-experiments", EXPERIMENTS),
    Webhook("validate-inferenceservices", INFERENCE_SERVICES),
)
OPERATIONS: Final = ("CREATE", "UPDATE")

PROMETHEUS_RULES: Final = Resource("monitoring.coreos.com", "v1", "prometheusrules",
                                   "PrometheusRule")


class Indexed(NamedTuple):
    """A kind the operator lists and watches into an index keyed by namespace.

    `id` doubles as the keyword kopf injects the index under. A field selector
    (`metadata.name=...`) is sent to the apiserver with the list and watch, and applied again
    client-side.
    """

    resource: Resource
    id: str
    field_selector: str = ""

    @property
    def selected_field(self) -> tuple[str, str] | None:
        """The field selector as (field, value), for applying it client-side; None if unset."""
        if not self.field_selector:
            return None
        field, _, value = self.field_selector.partition("=")
        return field, value


# The policy context: every kind a policy looks up besides the reviewed object (the overcommit
# and probe-windows policies read Models and Servers, drift reads Pipelines, alerts reads the
# namespace's PrometheusRules, serving-target counts the GPU models of both targets). All objects of these kinds count, rendered or hand-made, as they
# would in CI: filtering PrometheusRules by the generators' label made the webhook deny Models
# that CI accepts (test_admission_agreement caught it).
CONTEXT: Final = (
    Indexed(MODELS, "modelops_models"),
    Indexed(SERVERS, "modelops_servers"),
    Indexed(PIPELINES, "modelops_pipelines"),
    Indexed(EXPERIMENTS, "modelops_experiments"),
    Indexed(PROMETHEUS_RULES, "modelops_prometheusrules"),
    Indexed(INFERENCE_SERVICES, "modelops_inferenceservices"),
)
# One ConfigMap per environment namespace, by name, so RBAC can name it (resourceNames).
ENVIRONMENTS: Final = Indexed(CONFIGMAPS, "modelops_environments",
                              field_selector=f"metadata.name={ENVIRONMENT_CONFIGMAP}")
INDEXED: Final = (*CONTEXT, ENVIRONMENTS)
