"""The organisation's settings, read from `organization.yaml` at the repository root.

A fork of this repository changes what makes it one organisation's (the git repository Argo CD
syncs, the registry and digest of the image the cluster runs) in that one file. The generators
render the Jobs' images from it, `modelops.argocd` the AppProjects' source repository, and
`modelops.platformvalues` writes its values into the hand-written manifests under `platform/`.

The file is optional for a repository that needs none of it (a test repository whose
environments name their own smoke image, with no `platform/`); whoever needs a value and finds
no file says which file and field needs it.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelops.errors import InputError
from modelops.spec import Organization
from modelops.yamlsource import SourceDocument

ORGANIZATION_FILE = "organization.yaml"
IMAGE_FIELD = "spec.images.modelops"


@dataclass(frozen=True)
class LoadedOrganization:
    doc: SourceDocument
    spec: Organization

    @property
    def repo_url(self) -> str:
        return self.spec.spec.git.repo_url

    @property
    def revision(self) -> str:
        return self.spec.spec.git.revision

    @property
    def modelops_image(self) -> str:
        """registry/repository:tag@digest: readable, and immutable once pushed."""
        images = self.spec.spec.images
        image = images.modelops
        return f"{images.registry}/{image.repository}:{image.tag}@{image.digest}"


def missing(needed_by: str, what: str) -> InputError:
    """The error for a repository without organization.yaml where a value of it is needed."""
    return InputError.at(ORGANIZATION_FILE, f"missing: {needed_by} takes {what} from it; "
                         "create it at the repository root (apiVersion: modelops.dev/v1alpha1, "
                         "kind: Organization; schema: generators/schemas/organization.schema.json)")
