"""The spec kinds people write: `ModelDeployment`, `Environment` and `Organization`.

These pydantic models are the single source of truth for the spec format: the loader validates
with them, and `modelops render` writes the JSON Schemas in `generators/schemas/` from them, so
editors and CI can never disagree. Validation is strict on purpose: no type coercion (`"3"` is
not a replica count), unknown fields are errors, and every string a value could be interpolated
into later is checked here. Cross-file checks (does the server pool exist, is the URI on the
environment's allowlist) live in `modelops.repository`, which sees both files.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from modelops.quantity import QuantityError, parse_bytes, parse_quantity

API_VERSION = "modelops.dev/v1alpha1"

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_URI = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<rest>[A-Za-z0-9._~/%+=:@,-]+)")
_IMAGE = re.compile(
    r"[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+(:[A-Za-z0-9._-]+)?(@sha256:[a-f0-9]{64})?")
_CAPABILITY = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
_TENSOR_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")
_PRINTABLE = re.compile(r"[^\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]*")


def _dns_label(value: str) -> str:
    if len(value) > 63 or not _DNS_LABEL.fullmatch(value):
        raise ValueError(f"{value!r} is not a DNS-1123 label: use lowercase letters, digits and "
                         "'-', start and end with a letter or digit, at most 63 characters")
    return value


def _dns_subdomain(value: str) -> str:
    if len(value) > 253 or not _DNS_SUBDOMAIN.fullmatch(value):
        raise ValueError(f"{value!r} is not a DNS-1123 subdomain")
    return value


def _memory(value: str) -> str:
    try:
        parse_bytes(value)
    except QuantityError as exc:
        raise ValueError(str(exc)) from None
    return value


def _cpu(value: str) -> str:
    try:
        amount = parse_quantity(value)
    except QuantityError as exc:
        raise ValueError(str(exc)) from None
    if amount <= 0:
        raise ValueError(f"{value!r}: must be greater than zero")
    return value


def _uri(value: str) -> str:
    match = _URI.fullmatch(value)
    if match is None:
        raise ValueError(f"{value!r} is not an artifact URI like gs://bucket/model/version "
                         "(scheme://path, no spaces, quotes or control characters)")
    if "@" in match["rest"].split("/", 1)[0]:
        raise ValueError("credentials are not allowed in artifact URIs; use the environment's "
                         "storageSecret")
    return value


_OCI_DIGEST = re.compile(r"oci://[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+@sha256:[a-f0-9]{64}")


def _artifact_uri(value: str) -> str:
    _uri(value)
    if value.startswith("oci://") and not _OCI_DIGEST.fullmatch(value):
        raise ValueError(f"{value!r}: an oci:// artifact (a KServe ModelCar image) must be "
                         "pinned by digest, oci://registry/repository@sha256:<64 hex digits>; "
                         "a tag can move under the same reference")
    return value


def _image(value: str) -> str:
    if not _IMAGE.fullmatch(value):
        raise ValueError(f"{value!r} is not an image reference like registry/name:tag")
    if "@sha256:" not in value and (":" not in value.rsplit("/", 1)[-1]
                                    or value.endswith(":latest")):
        raise ValueError(f"{value!r} must be pinned to a version tag or digest, not latest")
    return value


def _capability(value: str) -> str:
    if not _CAPABILITY.fullmatch(value):
        raise ValueError(f"{value!r} is not a capability name (lowercase, digits, '._-')")
    return value


def _tensor_name(value: str) -> str:
    if not _TENSOR_NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a tensor name (letters, digits, '_.-')")
    return value


_CRON_PART = r"(\*|[0-9]{1,2}(-[0-9]{1,2})?)(/[0-9]{1,2})?"
_CRON_FIELD = re.compile(f"{_CRON_PART}(,{_CRON_PART})*")
_CRON_NAMED = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
# minute, hour, day of month, month, day of week: the ranges Kubernetes' CronJob parser accepts.
_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


def _cron(value: str) -> str:
    if value in _CRON_NAMED:
        return value
    fields = value.split(" ")
    if len(fields) != 5:
        raise ValueError(f"{value!r} is not a cron schedule: five fields (minute hour "
                         f"day-of-month month day-of-week) separated by single spaces, or one "
                         f"of {', '.join(_CRON_NAMED)}")
    for text, (low, high), what in zip(fields, _CRON_RANGES, (
            "minute", "hour", "day of month", "month", "day of week"), strict=True):
        if not _CRON_FIELD.fullmatch(text):
            raise ValueError(f"{value!r}: the {what} field {text!r} is not cron syntax "
                             "(*, N, N-M, */K, lists with ',')")
        for part in text.split(","):
            bounds = part.split("/")[0]
            for number in ([] if bounds == "*" else bounds.split("-")):
                if not low <= int(number) <= high:
                    raise ValueError(f"{value!r}: {what} {number} is outside {low}-{high}")
    return value


def _text(value: str) -> str:
    if not _PRINTABLE.fullmatch(value):
        raise ValueError("control characters are not allowed")
    return value


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
DnsSubdomain = Annotated[str, AfterValidator(_dns_subdomain)]
Memory = Annotated[str, AfterValidator(_memory),
                   Field(description="Kubernetes memory quantity, e.g. 512Mi or 2Gi",
                         json_schema_extra={
                             "pattern": r"^[0-9.]+(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$"})]
Cpu = Annotated[str, AfterValidator(_cpu), Field(description="Kubernetes CPU quantity, e.g. 500m")]
ArtifactUri = Annotated[str, AfterValidator(_artifact_uri),
                        Field(description="Immutable, versioned artifact location, e.g. "
                              "gs://bucket/model/2026-11-02-a1b2c3, or a ModelCar image "
                              "pinned by digest, oci://registry/repository@sha256:<digest>")]
Image = Annotated[str, AfterValidator(_image)]
Capability = Annotated[str, AfterValidator(_capability)]
TensorName = Annotated[str, AfterValidator(_tensor_name)]
Text = Annotated[str, AfterValidator(_text), Field(max_length=512)]
CronSchedule = Annotated[str, AfterValidator(_cron),
                         Field(description="Cron schedule in the cluster's time zone, e.g. "
                               "'30 2 * * *' (02:30 daily)")]

Framework = Literal["sklearn", "xgboost", "lightgbm", "onnx", "tensorflow", "pytorch",
                    "huggingface", "mlflow", "python"]
Runtime = Literal["mlserver", "triton"]
Target = Literal["seldon", "kserve"]
BatchFormat = Literal["jsonl", "csv", "npy"]
ExplainerType = Literal["anchor_tabular", "anchor_text", "anchor_image", "kernel_shap",
                        "integrated_gradients"]
Datatype = Literal["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32",
                   "INT64", "FP16", "FP32", "FP64", "BYTES"]


class Strict(BaseModel):
    """Base for every spec object: camelCase keys, no coercion, unknown fields rejected."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True,
                              alias_generator=to_camel, populate_by_name=False,
                              allow_inf_nan=False)


def _prefix(value: str) -> str:
    _uri(value)
    if not value.endswith("/"):
        raise ValueError(f"{value!r} must end with '/': a rewrite replaces a whole folder, "
                         "so gs://bucket-a/ never matches gs://bucket-ab/")
    return value


UriPrefix = Annotated[str, AfterValidator(_prefix),
                      Field(description="scheme://bucket/folder/, ending in '/'")]


# ---------------------------------------------------------------- ModelDeployment


class ModelMetadata(Strict):
    name: DnsLabel = Field(description="Seldon Model name; must equal the file name")
    owner: DnsLabel = Field(description="Owning team, e.g. risk-ml")
    description: Text | None = None


class Artifact(Strict):
    uri: ArtifactUri
    size: Memory = Field(description="Artifact size on disk; drives the memory default and "
                         "the server's probe windows")


class Replicas(Strict):
    min: int = Field(ge=0, le=100, description="0 is scale-to-zero: KServe only, where the "
                     "environment's deployment mode and autoscaler allow it")
    max: int = Field(ge=1, le=100)


class Drift(Strict):
    """An alibi-detect KS detector as an asynchronous pipeline step."""

    reference: ArtifactUri = Field(description="Detector artifact built by `modelops drift "
                                   "build` from the reference window")
    reference_rows: int = Field(ge=1, le=10_000_000,
                                description="Rows in the reference window (5,000-10,000)")
    p_value: float = Field(gt=0, lt=1, description="KS test p-value (0.01 or lower)")
    batch_size: int = Field(ge=1, le=100_000, description="Requests batched per drift test")
    memory: Memory | None = None
    server: DnsLabel | None = Field(default=None, description="MLServer pool for the detector "
                                    "(default: the model's pool)")


class Candidate(Strict):
    uri: ArtifactUri
    weight: int = Field(default=10, ge=1, le=100,
                        description="Canary: percent of traffic; mirror: percent mirrored")


class Rollout(Strict):
    strategy: Literal["none", "canary", "mirror"]
    candidate: Candidate | None = None


class SmokeInput(Strict):
    name: TensorName
    datatype: Datatype
    shape: list[Annotated[int, Field(ge=1, le=1_000_000)]] = Field(min_length=1, max_length=8)
    data: list[float | int | bool | Text] = Field(min_length=1, max_length=10_000)


class Smoke(Strict):
    inputs: list[SmokeInput] = Field(min_length=1, max_length=16)


class AlertThresholds(Strict):
    p99_latency_ms: int | None = Field(default=None, ge=1, le=600_000)
    error_rate_percent: float | None = Field(default=None, gt=0, le=100)


class Processing(Strict):
    """Other models of the same environment chained before and after this one."""

    pre: list[DnsLabel] = Field(default_factory=list, max_length=8)
    post: list[DnsLabel] = Field(default_factory=list, max_length=8)


class Explainer(Strict):
    type: ExplainerType
    uri: ArtifactUri
    memory: Memory | None = None
    server: DnsLabel | None = Field(default=None, description="MLServer pool for the "
                                    "explainer (default: the model's pool)")


class Logger(Strict):
    percent: int = Field(ge=0, le=100, description="Percent of requests logged to Kafka")


class KServeModel(Strict):
    """Settings that apply only when the model is served by KServe."""

    runtime: DnsLabel | None = Field(
        default=None, description="A runtime from environment.yaml spec.kserve.runtimes "
        "(default: the one serving the framework); always written on the InferenceService")


class Traffic(Strict):
    """What the model's traffic looks like: `modelops advise` weighs it to pick a target."""

    pattern: Literal["steady", "bursty", "idle"] = Field(
        description="steady: traffic all day; bursty: peaks with idle gaps; idle: rare calls")
    peak_rps: int | None = Field(default=None, ge=1, le=10_000_000,
                                 description="Requests per second at peak")
    cold_start_budget_seconds: int | None = Field(
        default=None, ge=1, le=3600, description="How long a first request after idle may "
        "wait for the model to load")


class Batch(Strict):
    """Offline inference on a schedule: a CronJob scores `input` into `output`."""

    schedule: CronSchedule
    input: ArtifactUri = Field(description="A file or a prefix of files: JSON Lines of V2 "
                               "inputs, CSV or .npy; under the environment's allowedPrefixes")
    output: UriPrefix = Field(description="Prefix the predictions go under, one folder per "
                              "run; under the environment's allowedPrefixes")
    format: BatchFormat | None = Field(default=None, description="Input format (default: from "
                                       "the file extension)")
    input_name: TensorName | None = Field(default=None, description="Tensor name for CSV and "
                                          ".npy rows (default: the smoke input's name)")
    datatype: Datatype | None = Field(default=None, description="Tensor datatype for CSV and "
                                      ".npy rows (default: the smoke input's datatype)")
    batch_size: int = Field(default=64, ge=1, le=100_000, description="Records per request")
    concurrency: int = Field(default=4, ge=1, le=256, description="Requests in flight")
    timeout_seconds: int = Field(default=60, ge=1, le=3600,
                                 description="Client timeout of one request")
    deadline_seconds: int = Field(default=3600, ge=60, le=7 * 86_400,
                                  description="The Job's activeDeadlineSeconds")
    max_failures: int = Field(default=0, ge=0, le=1_000_000_000,
                              description="Records that may fail before the run stops")


class ModelSpec(Strict):
    artifact: Artifact
    framework: Framework
    target: Target | None = Field(default=None, description="Serving platform (default: "
                                  "environment.yaml spec.defaultTarget)")
    server: DnsLabel | None = Field(default=None, description="A server pool from "
                                    "environment.yaml; required for Seldon models")
    kserve: KServeModel | None = None
    traffic: Traffic | None = None
    critical: bool = Field(default=False, description="Business-critical: an outage costs "
                           "money; `advise` warns when it shares a process with other models")
    batch: Batch | None = None
    memory: Memory | None = Field(default=None, description="Defaults to artifact.size × "
                                  "the environment's memoryFactor; always rendered")
    replicas: Replicas | None = None
    drift: Drift | None = None
    rollout: Rollout | None = None
    processing: Processing | None = None
    explainer: Explainer | None = None
    logger: Logger | None = None
    smoke: Smoke | None = None
    alerts: AlertThresholds | None = None


class ModelDeployment(Strict):
    api_version: Literal["modelops.dev/v1alpha1"]
    kind: Literal["ModelDeployment"]
    metadata: ModelMetadata
    spec: ModelSpec


# ---------------------------------------------------------------- Environment


RESERVED_ENVIRONMENT_NAMES = ("platform",)


def _environment_name(value: str) -> str:
    if value in RESERVED_ENVIRONMENT_NAMES:
        raise ValueError(f"{value!r} is reserved: the Argo CD project modelops-{value} holds "
                         "the cluster-wide components")
    return value


class EnvironmentMetadata(Strict):
    name: Annotated[DnsLabel, AfterValidator(_environment_name)] = Field(
        description="Must equal the environment's folder name")


class Cluster(Strict):
    name: DnsLabel
    server: Annotated[str, Field(pattern=r"^https://[A-Za-z0-9.:-]+(/[A-Za-z0-9._/-]*)?$")]


class ArtifactPolicy(Strict):
    allowed_prefixes: list[Annotated[str, AfterValidator(_uri)]] = Field(
        min_length=1, description="scheme://bucket/prefix/ every artifact URI must start with")
    storage_secret: DnsSubdomain | None = Field(default=None,
                                                description="rclone secret (Model.spec.secretName)")


class RewriteRule(Strict):
    """A URI of the source environment that starts with `from` is promoted as `to` + rest."""

    source_prefix: UriPrefix = Field(alias="from", description="Prefix of the source "
                                     "environment's URIs")
    target_prefix: UriPrefix = Field(alias="to", description="What the prefix becomes here; "
                                     "under one of artifacts.allowedPrefixes")


class PromotionSource(Strict):
    """An environment whose artifacts `modelops promote` may bring into this one."""

    environment: DnsLabel = Field(alias="from", description="The environment promoted from")
    rewrite: list[RewriteRule] = Field(
        default_factory=list, max_length=32,
        description="Where its artifacts live here (a release process copies them); a URI "
        "no rule matches is promoted unchanged and must be on artifacts.allowedPrefixes")


class ServerPool(Strict):
    runtime: Runtime
    replicas: int = Field(ge=1, le=1000)
    memory: Memory = Field(description="Inference container memory request: the capacity "
                           "Seldon's agent advertises")
    cpu: Cpu
    gpu: int = Field(default=0, ge=0, le=16)
    overcommit_percent: int = Field(ge=0, le=1000,
                                    description="SELDON_OVERCOMMIT_PERCENTAGE of the agent")
    max_artifact_size: Memory | None = Field(default=None, description="Largest artifact the "
                                             "pool may host; sizes its probes")
    extra_capabilities: list[Capability] = Field(default_factory=list, max_length=32)


class ReplicaDefaults(Strict):
    min: int = Field(ge=1, le=100)
    max: int = Field(ge=1, le=100)


class Defaults(Strict):
    replicas: ReplicaDefaults
    memory_factor: float = Field(ge=1, le=8, description="memory = artifact.size × factor")


class Limits(Strict):
    max_overcommit_percent: int = Field(ge=0, le=200)
    min_replicas: int = Field(ge=1, le=100)


class EnvironmentAlerts(Strict):
    p99_latency_ms: int = Field(ge=1, le=600_000)
    error_rate_percent: float = Field(gt=0, le=100)
    load_backlog: int = Field(ge=1)
    kafka_lag_messages: int = Field(ge=1)
    kafka_lag_seconds: int = Field(ge=1)


class Kafka(Strict):
    cluster: DnsLabel = Field(description="Strimzi Kafka cluster (strimzi.io/cluster label)")
    namespace: DnsLabel = Field(description="Namespace the Strimzi topic operator watches")
    topic_prefix: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=32)]
    partitions: int = Field(ge=1, le=1000)
    replication_factor: int = Field(ge=1, le=7)
    min_in_sync_replicas: int = Field(ge=1, le=7)
    retention_hours: int = Field(ge=1, le=24 * 365)


class SmokeSettings(Strict):
    image: Image | None = Field(default=None, description="Overrides organization.yaml's "
                                "spec.images.modelops for this environment's smoke Jobs")
    timeout_seconds: int = Field(ge=10, le=3600)


class Monitoring(Strict):
    labels: dict[DnsLabel, DnsLabel] = Field(default_factory=dict, description="Labels the "
                                             "Prometheus Operator selects monitors and rules by")


class ArgoCdSettings(Strict):
    keep_resources_on_delete: bool = Field(
        default=False,
        description="Deleting this environment's Argo CD Application leaves what it deployed "
        "running (no resources finalizer); set it for production")


DeploymentMode = Literal["Knative", "Standard", "Serverless", "RawDeployment"]
DEPLOYMENT_MODE_ALIASES = {"Serverless": "Knative", "RawDeployment": "Standard"}


class KServeRuntime(Strict):
    """A ClusterServingRuntime the environment offers (rendered under platform/)."""

    image: Image
    formats: list[Framework] = Field(min_length=1, max_length=16,
                                     description="Model formats (spec.framework) it serves")
    cpu: Cpu = Field(description="Predictor container CPU request")
    gpu: int = Field(default=0, ge=0, le=16)


class KServeCapacity(Strict):
    """What KServe pods in this environment may use: a namespace quota or a node pool."""

    node_pool: DnsLabel | None = Field(default=None, description="Node pool the predictors "
                                       "are pinned to (default: the namespace quota)")
    memory: Memory
    cpu: Cpu
    gpu: int = Field(default=0, ge=0, le=4096)


class LocalModelCacheSettings(Strict):
    node_groups: list[DnsLabel] = Field(min_length=1, max_length=16,
                                        description="LocalModelNodeGroups that hold the cache")


class StorageBandwidth(Strict):
    remote_mb_per_second: int = Field(default=500, ge=1, le=100_000,
                                      description="Artifact download rate from remote storage")
    local_mb_per_second: int = Field(default=3000, ge=1, le=100_000,
                                     description="Read rate from a node's local model cache")


class KServeSettings(Strict):
    deployment_mode: DeploymentMode = Field(
        description="serving.kserve.io/deploymentMode written on every InferenceService; "
        "Serverless and RawDeployment are deprecated names of Knative and Standard")
    autoscaler: Literal["kpa", "hpa", "keda", "external"] = Field(
        description="kpa (Knative only), hpa or keda (Standard only), external")
    knative_version: Annotated[str, Field(pattern=r"^1\.[0-9]{1,3}$")] | None = Field(
        default=None, description="Knative Serving minor version, e.g. '1.19' (its metric "
        "names changed at 1.19); required in Knative mode")
    progress_deadline_seconds: int = Field(default=600, ge=30, le=7200, description="Knative's "
                                           "progress deadline: a model must load within it")
    runtimes: dict[DnsLabel, KServeRuntime] = Field(min_length=1)
    local_model_cache: LocalModelCacheSettings | None = Field(
        default=None, description="Cache the current and two previous artifacts on nodes")
    capacity: KServeCapacity | None = None
    storage: StorageBandwidth = Field(default_factory=StorageBandwidth)


class EnvironmentSpec(Strict):
    namespace: DnsLabel
    default_target: Target = Field(default="seldon", description="Serving platform of models "
                                   "that set no spec.target")
    kserve: KServeSettings | None = Field(default=None, description="Required when any model "
                                          "is served by KServe")
    cluster: Cluster
    artifacts: ArtifactPolicy
    servers: dict[DnsLabel, ServerPool] = Field(min_length=1)
    defaults: Defaults
    limits: Limits
    alerts: EnvironmentAlerts
    kafka: Kafka
    smoke: SmokeSettings
    monitoring: Monitoring = Field(default_factory=Monitoring)
    argocd: ArgoCdSettings = Field(default_factory=ArgoCdSettings)
    promotion: list[PromotionSource] = Field(
        default_factory=list, max_length=16,
        description="Environments `modelops promote` may bring models from, and how their "
        "artifact URIs map to this environment's")


def serving_target(model: ModelSpec, env: EnvironmentSpec) -> Target:
    """The platform that serves a model: its own `target`, else the environment's default."""
    return model.target if model.target is not None else env.default_target


class Environment(Strict):
    api_version: Literal["modelops.dev/v1alpha1"]
    kind: Literal["Environment"]
    metadata: EnvironmentMetadata
    spec: EnvironmentSpec


# ---------------------------------------------------------------- Organization

_GIT_URL = (r"^(https://[A-Za-z0-9.:-]+|ssh://[A-Za-z0-9._@:-]+|git@[A-Za-z0-9.-]+:)"
            r"[A-Za-z0-9._~/-]+$")
_REGISTRY = r"^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)*$"
_REPOSITORY = r"^[a-z0-9._-]+(/[a-z0-9._-]+)*$"


def _tag(value: str) -> str:
    if value == "latest":
        raise ValueError("'latest' is not a version: pin a release tag")
    return value


class GitSource(Strict):
    repo_url: Annotated[str, Field(alias="repoURL", pattern=_GIT_URL, max_length=512,
                                   description="The git repository Argo CD syncs (this one)")]
    revision: Annotated[str, Field(pattern=r"^[A-Za-z0-9._/-]+$", max_length=255,
                                   description="The branch, tag or commit Argo CD syncs")]


class ImageName(Strict):
    repository: Annotated[str, Field(pattern=_REPOSITORY, max_length=255,
                                     description="Path under images.registry")]
    tag: Annotated[str, AfterValidator(_tag),
                   Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")]
    digest: Annotated[str, Field(pattern=r"^sha256:[a-f0-9]{64}$", description="The pushed "
                                 "image's digest: an image a node runs never changes under "
                                 "the same reference")]


class Images(Strict):
    registry: Annotated[str, Field(pattern=_REGISTRY, max_length=255,
                                   description="host[:port][/path] every image is pushed to")]
    modelops: ImageName = Field(description="platform/admission/Dockerfile: the admission "
                                "webhook and every PostSync smoke Job run it")


class OrganizationSpec(Strict):
    git: GitSource
    images: Images


class Organization(Strict):
    api_version: Literal["modelops.dev/v1alpha1"]
    kind: Literal["Organization"]
    spec: OrganizationSpec
