"""What a model's `spec.batch` means once its defaults are filled in, and what makes it unusable.

The runner needs an input format, and for CSV and .npy rows a tensor name and datatype; the spec
lets them default (the format from the input's extension, the tensor from the smoke request).
The loader reports a batch whose defaults cannot be decided, and the CronJob renders the values
decided here, so the two never disagree about what a spec means.
"""

from __future__ import annotations

from collections.abc import Iterator

from modelops.provenance import Sourced, derived, from_spec
from modelops.spec import Batch, BatchFormat, ModelDeployment

# Kubernetes names a CronJob's Jobs `<cronjob>-<minutes since the epoch>` and caps the CronJob's
# name at 52 characters so that they fit a 63-character label.
MAX_CRONJOB_NAME = 52
CRONJOB_PREFIX = "batch-"
MAX_BATCH_MODEL_NAME = MAX_CRONJOB_NAME - len(CRONJOB_PREFIX)

EXTENSIONS: dict[str, BatchFormat] = {".jsonl": "jsonl", ".csv": "csv", ".npy": "npy"}
# JSON Lines records are V2 requests: they name their own tensors and datatypes.
TENSOR_FORMATS: tuple[BatchFormat, ...] = ("csv", "npy")

Loc = tuple[str | int, ...]
FORMAT_LOC: Loc = ("spec", "batch", "format")


def cronjob_name(model: str) -> str:
    return f"{CRONJOB_PREFIX}{model}"


def extension_format(uri: str) -> BatchFormat | None:
    """The format an input's file name says, or None (a prefix, or an unknown extension)."""
    leaf = uri.rsplit("/", 1)[-1].lower()
    return next((fmt for ext, fmt in EXTENSIONS.items() if leaf.endswith(ext)), None)


def input_format(batch: Batch) -> Sourced | None:
    if batch.format is not None:
        return from_spec(batch.format, "spec.batch.format")
    inferred = extension_format(batch.input)
    if inferred is None:
        return None
    return derived(inferred, f"the extension of spec.batch.input ({batch.input})")


def _tensor_setting(model: ModelDeployment, batch_field: str, attribute: str,
                    field: str) -> Sourced | None:
    """A CSV/.npy tensor setting: the batch's own, else the only smoke input's, else None."""
    batch = model.spec.batch
    assert batch is not None
    own = getattr(batch, attribute)
    if own is not None:
        return from_spec(own, f"spec.batch.{batch_field}")
    smoke = model.spec.smoke
    if smoke is None or len(smoke.inputs) != 1:
        return None
    return derived(getattr(smoke.inputs[0], field), f"spec.smoke.inputs[0].{field} (the "
                   "smoke request's tensor)")


def input_name(model: ModelDeployment) -> Sourced | None:
    return _tensor_setting(model, "inputName", "input_name", "name")


def datatype(model: ModelDeployment) -> Sourced | None:
    return _tensor_setting(model, "datatype", "datatype", "datatype")


def batch_problems(model: ModelDeployment) -> Iterator[tuple[Loc, str]]:
    """Each unusable part of a model's `spec.batch`, located; nothing when it has none."""
    batch = model.spec.batch
    if batch is None:
        return
    name = model.metadata.name
    if len(name) > MAX_BATCH_MODEL_NAME:
        yield (("metadata", "name"), f"too long for a batch schedule: the CronJob "
               f"{cronjob_name(name)!r} would exceed Kubernetes' {MAX_CRONJOB_NAME} characters; "
               f"use at most {MAX_BATCH_MODEL_NAME}")
    yield from _format_problems(batch)
    fmt = input_format(batch)
    if fmt is not None:
        yield from _tensor_problems(model, fmt.value)
    yield from _overlap_problems(batch)


def _format_problems(batch: Batch) -> Iterator[tuple[Loc, str]]:
    inferred = extension_format(batch.input)
    known = ", ".join(EXTENSIONS)
    if batch.format is None and inferred is None:
        yield (("spec", "batch", "input"), f"cannot tell the format of {batch.input!r}: a "
               f"prefix or a file without {known} needs spec.batch.format (jsonl, csv or npy)")
    elif batch.format is not None and inferred is not None and batch.format != inferred:
        yield (FORMAT_LOC, f"{batch.format!r} contradicts the input's extension "
               f"({batch.input!r} is {inferred}): fix one of them")


def _tensor_problems(model: ModelDeployment, fmt: str) -> Iterator[tuple[Loc, str]]:
    batch = model.spec.batch
    assert batch is not None
    if fmt not in TENSOR_FORMATS:
        for field, value in (("inputName", batch.input_name), ("datatype", batch.datatype)):
            if value is not None:
                yield (("spec", "batch", field), f"applies to csv and npy rows only; {fmt} "
                       "records are V2 requests that name their own tensors: remove it")
        return
    for field, default in (("inputName", input_name(model)), ("datatype", datatype(model))):
        if default is None:
            yield (("spec", "batch"), f"{fmt} rows need a tensor {field}: set "
                   f"spec.batch.{field}, or give spec.smoke exactly one input to take it from")


def _overlap_problems(batch: Batch) -> Iterator[tuple[Loc, str]]:
    """Output must never be read as input, nor written where the input lives."""
    source = batch.input.rstrip("/") + "/"
    if batch.input.startswith(batch.output) or batch.output.startswith(source):
        yield (("spec", "batch", "output"), f"{batch.output!r} overlaps the input "
               f"{batch.input!r}: predictions would be written over the input or read back "
               "as input by the next run; use a prefix outside the input's")
