"""`modelops promote MODEL --from staging --to prod`: ship the artifact that was tested.

Promotion copies `spec.artifact.uri` and nothing else: replicas, memory, pools and alert
thresholds are per-environment decisions that a promotion must not overwrite. The target
environment's own checks still apply (its artifact allowlist in particular), so a URI from a
bucket prod does not trust is refused with the loader's located message and nothing changes.
The result is one commit with the spec and its re-rendered files, which rollback can revert.
"""

from __future__ import annotations

from modelops.errors import UsageError
from modelops.gitops.change import Outcome, commit_uri
from modelops.gitops.history import artifact_uri
from modelops.gitops.rollback import model_file
from modelops.gitops.workspace import Snapshot, Workspace


def promote(ws: Workspace, before: Snapshot, model: str, source: str,
            target: str) -> Outcome | None:
    """Commit the source environment's URI into the target; None if they already agree."""
    if source == target:
        raise UsageError("--from and --to name the same environment")
    source_file = model_file(ws, source, model)
    target_file = model_file(ws, target, model)
    uri = artifact_uri(source_file.read_bytes())
    if uri is None:
        raise UsageError(f"{ws.repo.relative(source_file)}: no readable spec.artifact.uri")
    if artifact_uri(target_file.read_bytes()) == uri:
        return None
    head = ws.git.head()
    previous = artifact_uri(target_file.read_bytes())
    message = (f"Promote {model} to {target}: {uri}\n\n"
               f"Copies spec.artifact.uri from {ws.repo.relative(source_file)} at "
               f"{head[:12]}; nothing else in the spec changes.\n"
               f"{target}/{model}: {previous} -> {uri}\n"
               f"(modelops promote {model} --from {source} --to {target})\n")
    return commit_uri(ws, before, target, target_file, uri, message)
