"""The repository on disk: where environments live, and loading them with every check.

Loading an environment reads `environment.yaml` and every `models/*.yaml`, validates each
against its spec model, then runs the checks that need more than one file (file name equals
`metadata.name`, the server pool exists and can host the framework, artifact URIs are on the
environment's allowlist, processing steps name real models, a batch's format and tensor can be
decided and its output stays clear of its input). All problems of all files are
collected and raised together, so a PR author sees everything wrong in one run.

`organization.yaml` is read with every environment: a broken one is an error of each command
that renders, and an environment that names no smoke image of its own needs it.
"""

from __future__ import annotations

import difflib
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from modelops import promotion, runtimes
from modelops.batchspec import batch_problems
from modelops.clashes import clash_problems
from modelops.errors import InputError, Problem, UsageError
from modelops.kserve_settings import (
    deployment_mode,
    deprecated_mode_warnings,
    runtime_clash_problems,
)
from modelops.layout import (
    ENVIRONMENT_FILE,
    ENVIRONMENTS_DIR,
    MODELS_DIR,
    RENDERED_DIR,
    SPEC_SUFFIX,
    environment_problems,
    is_environment,
    layout_problems,
)
from modelops.organization import ORGANIZATION_FILE, LoadedOrganization
from modelops.quantity import parse_bytes
from modelops.settings import EnvironmentSettings
from modelops.spec import (
    Environment,
    ModelDeployment,
    Organization,
    serving_target,
)
from modelops.yamledit import dotted as _dotted
from modelops.yamlsource import SourceDocument, load_yaml

__all__ = [
    "ENVIRONMENTS_DIR",
    "ENVIRONMENT_FILE",
    "MODELS_DIR",
    "RENDERED_DIR",
    "LoadedEnvironment",
    "LoadedModel",
    "Repository",
]

MAX_NAME = 63
# Objects derived from a model's name, and the longest suffix or prefix each adds.
DERIVED_NAME_PARTS = ("-candidate", "-explainer", "-drift", "-pipeline", "-rollout",
                      "smoke-")

# Spec fields only Seldon Core 2 can serve, and what each one is.
SELDON_ONLY_FIELDS = (
    ("drift", "drift detection (an asynchronous Pipeline step)"),
    ("explainer", "an alibi-explain explainer Model"),
    ("processing", "pre/post-processing steps (a Seldon Pipeline)"),
    ("logger", "request logging to Kafka"),
)

# The longest name KServe derives from an InferenceService's: the Standard-mode canary
# predictor's Deployment and Service (Knative's revisions, <name>-predictor-00001, are shorter).
KSERVE_LONGEST_SUFFIX = "-candidate-predictor"

SpecT = TypeVar("SpecT", bound=BaseModel)


@dataclass(frozen=True)
class LoadedModel:
    doc: SourceDocument
    spec: ModelDeployment

    @property
    def name(self) -> str:
        return self.spec.metadata.name


@dataclass(frozen=True)
class LoadedEnvironment:
    name: str
    doc: SourceDocument
    spec: Environment
    models: tuple[LoadedModel, ...]
    organization: LoadedOrganization | None = None

    def model(self, name: str) -> LoadedModel | None:
        return next((m for m in self.models if m.name == name), None)


@dataclass(frozen=True)
class Repository:
    root: Path

    @classmethod
    def discover(cls, start: Path | None) -> Repository:
        """The repository named by `--repo`, or the git top level of the working directory."""
        if start is not None:
            root = start.resolve()
            if not (root / ENVIRONMENTS_DIR).is_dir():
                raise UsageError(f"{start}: not a modelops repository (no {ENVIRONMENTS_DIR}/)")
            return cls(root)
        try:
            top = subprocess.run(["git", "rev-parse", "--show-toplevel"], check=True,
                                 capture_output=True, text=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            raise UsageError("not inside a git repository; run from the repository or pass "
                             "--repo DIR") from None
        root = Path(top)
        if not (root / ENVIRONMENTS_DIR).is_dir():
            raise UsageError(f"{root}: not a modelops repository (no {ENVIRONMENTS_DIR}/)")
        return cls(root)

    def relative(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def environment_dir(self, name: str) -> Path:
        return self.root / ENVIRONMENTS_DIR / name

    def rendered_dir(self, name: str) -> Path:
        return self.environment_dir(name) / RENDERED_DIR

    def environment_names(self) -> list[str]:
        """Every environment folder, including one that lost its environment.yaml (an error
        when loaded, so its rendered tree is never silently left unchecked)."""
        base = self.root / ENVIRONMENTS_DIR
        return sorted(p.name for p in base.iterdir() if is_environment(p))

    def load_environments(self, names: Sequence[str]) -> list[LoadedEnvironment]:
        """Load several environments, reporting the problems of all of them together.

        The settings of every other environment are read too, so that one sharing a cluster
        and namespace with a loaded one is an error whichever of the two is selected.
        """
        loaded: list[LoadedEnvironment] = []
        problems: list[Problem] = []
        for name in names:
            try:
                loaded.append(self.load_environment(name))
            except InputError as exc:
                problems.extend(exc.problems)
        if loaded:
            settings = [EnvironmentSettings(env.name, env.doc, env.spec) for env in loaded]
            settings += self.readable_settings(n for n in self.environment_names()
                                               if n not in names)
            problems.extend(clash_problems(settings, selected=names))
            problems.extend(runtime_clash_problems(settings, selected=names))
        if problems:
            # A broken organization.yaml is reported by every environment loaded: once is enough.
            raise InputError(sorted(set(problems)))
        return loaded

    def load_all_settings(self) -> list[EnvironmentSettings]:
        """The settings of every environment, or every problem with them (clashes included)."""
        found: list[EnvironmentSettings] = []
        problems: list[Problem] = []
        for name in self.environment_names():
            try:
                found.append(self.load_settings(name))
            except InputError as exc:
                problems.extend(exc.problems)
        problems.extend(clash_problems(found))
        problems.extend(runtime_clash_problems(found))
        if problems:
            raise InputError(problems)
        return found

    def stale_promotion_sources(self) -> list[Problem]:
        """`spec.promotion` entries naming an environment that no longer exists (warnings)."""
        names = self.environment_names()
        return promotion.unknown_sources(self.readable_settings(names), names)

    def deprecated_modes(self) -> list[Problem]:
        """KServe deployment modes named by a deprecated alias (warnings)."""
        return deprecated_mode_warnings(self.readable_settings(self.environment_names()))

    def readable_settings(self, names: Iterable[str]) -> list[EnvironmentSettings]:
        """The settings of those environments whose environment.yaml is valid; a broken one
        is reported when it is loaded itself."""
        found: list[EnvironmentSettings] = []
        for name in names:
            try:
                found.append(self.load_settings(name))
            except InputError:
                continue
        return found

    def select(self, names: Sequence[str] | None) -> list[str]:
        """The environments a verb works on.

        Every file under environments/ that nothing would read is an error (see `layout`),
        whichever environments are chosen; the specs' own problems are reported with them,
        so one run shows everything wrong.
        """
        known = self.environment_names()
        chosen = known if not names else sorted(set(names))
        unknown = [n for n in chosen if n not in known]
        if unknown:
            raise UsageError(f"unknown environment {unknown[0]!r}; known: {', '.join(known)}")
        stray = layout_problems(self.root)
        if stray:
            problems = set(stray)
            try:
                self.load_environments(chosen)
            except InputError as exc:
                problems.update(exc.problems)
            raise InputError(list(problems))
        return chosen

    def load_settings(self, name: str) -> EnvironmentSettings:
        """Only `environment.yaml` of one environment, validated (no model specs read)."""
        problems: list[Problem] = []
        env_doc, env = self._load_settings(name, problems)
        if problems:
            raise InputError(problems)
        assert env_doc is not None and env is not None
        return EnvironmentSettings(name, env_doc, env)

    def _load_settings(self, name: str, problems: list[Problem]
                       ) -> tuple[SourceDocument | None, Environment | None]:
        env_path = self.environment_dir(name) / ENVIRONMENT_FILE
        if not env_path.is_file():
            raise InputError.at(self.relative(env_path), "missing: every environment folder "
                                "needs an environment.yaml (delete the folder to remove the "
                                "environment)")
        env_doc, env = _load_spec(env_path, self.relative(env_path), Environment, problems)
        if env_doc is not None and env is not None:
            if env.metadata.name != name:
                problems.append(_problem(env_doc, ("metadata", "name"),
                                         f"{env.metadata.name!r} must equal the environment "
                                         f"folder name {name!r}"))
            problems.extend(promotion.settings_problems(env_doc, env))
        return env_doc, env

    def load_environment(self, name: str) -> LoadedEnvironment:
        problems = environment_problems(self.root, name)
        env_doc, env = self._load_settings(name, problems)
        models: list[LoadedModel] = []
        for path in self._model_files(name):
            doc, model = _load_spec(path, self.relative(path), ModelDeployment, problems)
            if doc is not None and model is not None:
                models.append(LoadedModel(doc, model))
        if env_doc is not None and env is not None:
            problems.extend(_cross_check(env_doc, env, models))
        organization = self._organization_for(env_doc, env, problems)
        if problems:
            raise InputError(problems)
        assert env_doc is not None and env is not None
        return LoadedEnvironment(name, env_doc, env, tuple(sorted(models, key=lambda m: m.name)),
                                 organization)

    def load_organization(self) -> LoadedOrganization | None:
        """`organization.yaml`, validated like every spec; None when the repository has none."""
        path = self.root / ORGANIZATION_FILE
        if not path.exists():
            return None
        problems: list[Problem] = []
        doc, spec = _load_spec(path, self.relative(path), Organization, problems)
        if problems:
            raise InputError(problems)
        assert doc is not None and spec is not None
        return LoadedOrganization(doc, spec)

    def _organization_for(self, env_doc: SourceDocument | None, env: Environment | None,
                          problems: list[Problem]) -> LoadedOrganization | None:
        """The organisation's settings, with an environment that needs them and has none."""
        try:
            organization = self.load_organization()
        except InputError as exc:
            problems.extend(exc.problems)
            return None
        if organization is None and env_doc is not None and env is not None \
                and env.spec.smoke.image is None:
            problems.append(_problem(env_doc, ("spec", "smoke"), "no image for the smoke Jobs: "
                                     f"{ORGANIZATION_FILE} (spec.images.modelops) is missing; "
                                     "create it, or set spec.smoke.image here"))
        return organization

    def _model_files(self, env: str) -> Iterator[Path]:
        """The spec files of `env`; anything else in models/ is `layout`'s to report."""
        folder = self.environment_dir(env) / MODELS_DIR
        if not folder.is_dir() or folder.is_symlink():
            return
        for path in sorted(folder.iterdir()):
            if not path.name.startswith(".") and path.suffix == SPEC_SUFFIX \
                    and path.is_file() and not path.is_symlink():
                yield path


def _load_spec(path: Path, shown: str, kind: type[SpecT],
               problems: list[Problem]) -> tuple[SourceDocument | None, SpecT | None]:
    try:
        doc = load_yaml(path, shown)
    except InputError as exc:
        problems.extend(exc.problems)
        return None, None
    if not isinstance(doc.data, dict):
        problems.append(Problem(shown, *doc.locate(()), "", "expected a mapping with "
                                "apiVersion, kind, metadata and spec"))
        return doc, None
    try:
        return doc, kind.model_validate(doc.data)
    except ValidationError as exc:
        problems.extend(_translate(exc, doc, kind))
        return doc, None


def _problem(doc: SourceDocument, loc: tuple[str | int, ...], message: str) -> Problem:
    line, col = doc.locate(loc)
    return Problem(doc.display, line, col, _dotted(loc), message)


def _translate(exc: ValidationError, doc: SourceDocument,
               kind: type[BaseModel]) -> list[Problem]:
    """Pydantic errors as located problems: one per field, in words a spec author uses."""
    by_field: dict[tuple[str | int, ...], Problem] = {}
    for error in exc.errors(include_url=False):
        loc = _data_loc(doc.data, error["loc"])
        kind_of_error = error["type"]
        if kind_of_error == "extra_forbidden":
            line, col = doc.locate_key(loc)
            message = f"unknown field {loc[-1]!r}"
            suggestion = difflib.get_close_matches(str(loc[-1]),
                                                   _allowed_keys(kind, loc[:-1]), n=1)
            if suggestion:
                message += f"; did you mean {suggestion[0]!r}?"
            else:
                allowed = _allowed_keys(kind, loc[:-1])
                if allowed:
                    message += f"; allowed: {', '.join(allowed)}"
        elif kind_of_error == "missing":
            line, col = doc.locate(loc[:-1])
            message = f"missing required field {loc[-1]!r}"
        else:
            line, col = doc.locate(loc)
            message = _message(error)
        if loc in by_field and kind_of_error not in ("extra_forbidden", "missing"):
            continue  # one complaint per value: unions report every member
        by_field[loc] = Problem(doc.display, line, col, _dotted(loc), message)
    return list(by_field.values())


def _data_loc(data: Any, loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """Drop the union-member tags pydantic adds to `loc`, keeping only real keys and indexes."""
    kept: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict):
            kept.append(part)
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int):
            kept.append(part)
            node = node[part] if 0 <= part < len(node) else None
        elif node is None and not isinstance(part, int) and kept[-1:] != [part]:
            kept.append(part)  # a missing field inside a missing parent
            break
        else:
            break
    return tuple(kept)


def _message(error: Any) -> str:
    message = str(error["msg"])
    if message.startswith("Value error, "):
        return message[len("Value error, "):]
    value = error.get("input")
    if error["type"].endswith("_type") or error["type"] in ("literal_error", "enum"):
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return f"{message}, got {type(value).__name__} {shown}"
    return message


@cache
def _schema(kind: type[BaseModel]) -> dict[str, Any]:
    return kind.model_json_schema(by_alias=True)


def _allowed_keys(kind: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    root = _schema(kind)
    defs = root.get("$defs", {})
    node: dict[str, Any] | None = root
    for part in loc:
        node = _resolve(node, defs)
        if node is None:
            return []
        if isinstance(part, int):
            node = node.get("items")
        elif "properties" in node:
            node = node["properties"].get(part)
        else:
            extra = node.get("additionalProperties")
            node = extra if isinstance(extra, dict) else None
    node = _resolve(node, defs)
    return sorted(node.get("properties", {})) if node else []


def _resolve(node: dict[str, Any] | None, defs: dict[str, Any]) -> dict[str, Any] | None:
    while node is not None:
        if "$ref" in node:
            node = defs.get(node["$ref"].rsplit("/", 1)[-1])
        elif "anyOf" in node:
            node = next((n for n in node["anyOf"] if n.get("type") != "null"), None)
        else:
            return node
    return None


def _derived_names(model: ModelDeployment) -> list[str]:
    """Seldon Model names a spec creates besides its own."""
    spec, name = model.spec, model.metadata.name
    derived = []
    if spec.rollout is not None and spec.rollout.candidate is not None:
        derived.append(f"{name}-candidate")
    if spec.explainer is not None:
        derived.append(f"{name}-explainer")
    if spec.drift is not None:
        derived.append(f"{name}-drift")
    return derived


def _auxiliary_pool(env: Environment, doc: SourceDocument, loc: tuple[str | int, ...],
                    pool_name: str, requirement: str, what: str) -> list[Problem]:
    pool = env.spec.servers.get(pool_name)
    if pool is None:
        return [_problem(doc, loc, f"no server pool {pool_name!r}; pools: "
                         f"{', '.join(sorted(env.spec.servers))}")]
    if requirement not in runtimes.capabilities(pool.runtime, pool.extra_capabilities):
        return [_problem(doc, loc, f"the {what} runs on MLServer ({requirement!r}); pool "
                         f"{pool_name!r} runs {pool.runtime}: set {_dotted(loc)} to an "
                         "MLServer pool")]
    return []


def _cross_check(env_doc: SourceDocument, env: Environment,
                 models: list[LoadedModel]) -> list[Problem]:
    problems: list[Problem] = []
    names = {m.name for m in models}
    kserve_models = {m.name for m in models if serving_target(m.spec.spec, env.spec) == "kserve"}
    owners: dict[str, str] = {m.name: m.name for m in models}
    for loaded in models:
        for derived in _derived_names(loaded.spec):
            other = owners.setdefault(derived, loaded.name)
            if other != loaded.name:
                problems.append(_problem(loaded.doc, ("metadata", "name"),
                                         f"the derived Model {derived!r} collides with "
                                         f"model {other!r}; rename one of them"))
    prefixes = env.spec.artifacts.allowed_prefixes
    for loaded in models:
        doc, model = loaded.doc, loaded.spec
        spec = model.spec
        stem = Path(doc.display).stem
        if model.metadata.name != stem:
            problems.append(_problem(doc, ("metadata", "name"),
                                     f"{model.metadata.name!r} must equal the file name "
                                     f"{stem!r}"))
        for part in DERIVED_NAME_PARTS:
            if len(model.metadata.name) + len(part) > MAX_NAME:
                problems.append(_problem(doc, ("metadata", "name"),
                                         f"too long: derived names such as "
                                         f"{model.metadata.name}{part!r} would exceed "
                                         f"{MAX_NAME} characters; use at most "
                                         f"{MAX_NAME - max(map(len, DERIVED_NAME_PARTS))}"))
                break
        problems += _target_problems(env_doc, env, loaded)
        problems += [_problem(doc, loc, message) for loc, message in batch_problems(model)]
        pool = env.spec.servers.get(spec.server or "")
        if spec.server is not None and pool is None:
            problems.append(_problem(doc, ("spec", "server"),
                                     f"no server pool {spec.server!r} in {env_doc.display}; "
                                     f"pools: {', '.join(sorted(env.spec.servers))}"))
        elif pool is not None:
            placement = runtimes.FRAMEWORKS[spec.framework]
            caps = runtimes.capabilities(pool.runtime, pool.extra_capabilities)
            missing = [r for r in placement.requirements if r not in caps]
            if pool.runtime != placement.runtime or missing:
                problems.append(_problem(doc, ("spec", "framework"),
                                         f"{spec.framework} models need a {placement.runtime} "
                                         f"pool with capability {placement.requirements[0]!r}; "
                                         f"pool {spec.server!r} runs {pool.runtime}"))
            if pool.max_artifact_size is not None and parse_bytes(spec.artifact.size) > \
                    parse_bytes(pool.max_artifact_size):
                problems.append(_problem(doc, ("spec", "artifact", "size"),
                                         f"{spec.artifact.size} exceeds pool {spec.server!r} "
                                         f"maxArtifactSize {pool.max_artifact_size}"))
        for loc, uri in _uris(model):
            if not any(uri.startswith(p) for p in prefixes):
                problems.append(_problem(doc, loc, f"{uri!r} is not under an allowed prefix "
                                         f"of environment {env.metadata.name!r}: "
                                         f"{', '.join(prefixes)}"))
        if spec.replicas is not None and spec.replicas.max < spec.replicas.min:
            problems.append(_problem(doc, ("spec", "replicas", "max"),
                                     f"max ({spec.replicas.max}) is below min "
                                     f"({spec.replicas.min})"))
        if spec.processing is not None:
            steps = spec.processing.pre + spec.processing.post
            if len(set(steps)) != len(steps):
                problems.append(_problem(doc, ("spec", "processing"),
                                         "a model may appear only once across pre and post"))
            for stage in ("pre", "post"):
                for i, step in enumerate(getattr(spec.processing, stage)):
                    if step == model.metadata.name:
                        problems.append(_problem(doc, ("spec", "processing", stage, i),
                                                 "a model cannot be its own processing step"))
                    elif step not in names:
                        problems.append(_problem(doc, ("spec", "processing", stage, i),
                                                 f"no model {step!r} in environment "
                                                 f"{env.metadata.name!r}"))
                    elif step in kserve_models:
                        problems.append(_problem(doc, ("spec", "processing", stage, i),
                                                 f"model {step!r} is served by KServe; a "
                                                 "Seldon Pipeline chains only Seldon models: "
                                                 f"serve {step!r} with target: seldon"))
        if spec.drift is not None and (spec.drift.server or spec.server):
            problems += _auxiliary_pool(env, doc, ("spec", "drift", "server"),
                                        spec.drift.server or spec.server or "",
                                        "alibi-detect", "drift detector")
        if spec.explainer is not None and (spec.explainer.server or spec.server):
            problems += _auxiliary_pool(env, doc, ("spec", "explainer", "server"),
                                        spec.explainer.server or spec.server or "",
                                        "alibi-explain", "explainer")
        rollout = spec.rollout
        if rollout is not None and (rollout.strategy == "none") != (rollout.candidate is None):
            problems.append(_problem(doc, ("spec", "rollout"),
                                     "canary and mirror need a candidate; strategy none "
                                     "takes no candidate"))
        elif rollout is not None and rollout.strategy == "canary" and rollout.candidate \
                and rollout.candidate.weight == 100:
            problems.append(_problem(doc, ("spec", "rollout", "candidate", "weight"),
                                     "a canary takes 1-99 % of traffic; to switch fully, "
                                     "change artifact.uri"))
    problems += _kserve_settings_problems(env_doc, env)
    defaults = env.spec.defaults.replicas
    if defaults.max < defaults.min:
        problems.append(_problem(env_doc, ("spec", "defaults", "replicas", "max"),
                                 f"max ({defaults.max}) is below min ({defaults.min})"))
    return problems


def _target_problems(env_doc: SourceDocument, env: Environment,
                     loaded: LoadedModel) -> list[Problem]:
    """What a model's serving target requires of its spec and of environment.yaml."""
    doc, spec = loaded.doc, loaded.spec.spec
    target = serving_target(spec, env.spec)
    where = ("spec", "target") if spec.target is not None else ("spec",)
    problems: list[Problem] = []
    if target == "seldon":
        if spec.server is None:
            problems.append(_problem(doc, where, "a Seldon model needs spec.server, a server "
                                     f"pool of {env_doc.display}: "
                                     f"{', '.join(sorted(env.spec.servers))}"))
        if spec.replicas is not None and spec.replicas.min == 0:
            problems.append(_problem(doc, ("spec", "replicas", "min"),
                                     "0 is scale-to-zero, which Seldon Core 2 does not do: "
                                     "set at least 1, or serve the model with target: kserve"))
        if spec.kserve is not None:
            problems.append(_problem(doc, ("spec", "kserve"),
                                     "spec.kserve applies to KServe models; this one is "
                                     "served by Seldon (spec.target)"))
        return problems
    settings = env.spec.kserve
    if settings is None:
        return [_problem(doc, where, f"served by KServe, but {env_doc.display} has no "
                         "spec.kserve (deployment mode, autoscaler, runtimes)")]
    if spec.server is not None:
        problems.append(_problem(doc, ("spec", "server"),
                                 "a KServe model runs in its own pods, not on a Seldon server "
                                 "pool: remove spec.server (or set target: seldon)"))
    longest = MAX_NAME - len(KSERVE_LONGEST_SUFFIX)
    if len(loaded.name) > longest:
        problems.append(_problem(doc, ("metadata", "name"),
                                 f"too long for KServe: it names Services such as "
                                 f"{loaded.name}{KSERVE_LONGEST_SUFFIX!r}, which must fit in "
                                 f"{MAX_NAME} characters; use at most {longest}"))
    for field, what in SELDON_ONLY_FIELDS:
        if getattr(spec, field) is not None:
            problems.append(_problem(doc, ("spec", field),
                                     f"{what} is a Seldon Core 2 feature KServe does not "
                                     "offer: serve it with target: seldon, or remove "
                                     f"spec.{field}"))
    runtime = spec.kserve.runtime if spec.kserve is not None else None
    if runtime is not None:
        offered = settings.runtimes.get(runtime)
        if offered is None:
            problems.append(_problem(doc, ("spec", "kserve", "runtime"),
                                     f"{env_doc.display} offers no KServe runtime "
                                     f"{runtime!r}; runtimes: "
                                     f"{', '.join(sorted(settings.runtimes))}"))
        elif spec.framework not in offered.formats:
            problems.append(_problem(doc, ("spec", "kserve", "runtime"),
                                     f"runtime {runtime!r} serves {', '.join(offered.formats)}, "
                                     f"not {spec.framework}"))
    elif not any(spec.framework in r.formats for r in settings.runtimes.values()):
        problems.append(_problem(doc, ("spec", "framework"),
                                 f"no KServe runtime of {env_doc.display} serves "
                                 f"{spec.framework}; runtimes: "
                                 f"{', '.join(sorted(settings.runtimes))}"))
    return problems


def _kserve_settings_problems(env_doc: SourceDocument, env: Environment) -> list[Problem]:
    settings = env.spec.kserve
    if settings is None:
        return []
    where = ("spec", "kserve")
    mode = deployment_mode(settings)
    problems: list[Problem] = []
    if mode == "Knative" and settings.autoscaler in ("hpa", "keda"):
        problems.append(_problem(env_doc, where + ("autoscaler",),
                                 f"{settings.autoscaler} scales Standard-mode deployments; "
                                 "Knative mode uses kpa"))
    if mode == "Standard" and settings.autoscaler == "kpa":
        problems.append(_problem(env_doc, where + ("autoscaler",),
                                 "kpa is Knative's autoscaler; Standard mode uses hpa, keda or "
                                 "external"))
    if mode == "Knative" and settings.knative_version is None:
        problems.append(_problem(env_doc, where,
                                 "Knative mode needs knativeVersion (e.g. '1.19'): the alert "
                                 "rules use the metric names that version exports"))
    return problems


def _uris(model: ModelDeployment) -> Iterator[tuple[tuple[str | int, ...], str]]:
    spec = model.spec
    yield ("spec", "artifact", "uri"), spec.artifact.uri
    if spec.drift is not None:
        yield ("spec", "drift", "reference"), spec.drift.reference
    if spec.rollout is not None and spec.rollout.candidate is not None:
        yield ("spec", "rollout", "candidate", "uri"), spec.rollout.candidate.uri
    if spec.explainer is not None:
        yield ("spec", "explainer", "uri"), spec.explainer.uri
    if spec.batch is not None:
        yield ("spec", "batch", "input"), spec.batch.input
        yield ("spec", "batch", "output"), spec.batch.output
