"""The made-up values the repository ships with, and where a fork still uses one.

The samples need a git URL, a registry, an image digest and cluster URLs that exist nowhere.
They are listed here by value, so a fork that puts its own value in the file sees the warning
about it disappear, whatever the value looks like, and nothing needs a marker to remove.
`modelops render` and `check` list every one still in use; the exit status does not change
(a fork may render and test long before it has a registry).

The admission webhook fails closed: a Deployment that runs an image no node can pull leaves
no replica to answer, and every write of a Seldon object in a model namespace is refused. So
that warning comes first and says so.
"""

from __future__ import annotations

from modelops.errors import InputError, Problem
from modelops.organization import IMAGE_FIELD, LoadedOrganization
from modelops.repository import Repository
from modelops.settings import EnvironmentSettings

GIT_URLS = frozenset({"https://github.com/acme/modelops.git"})
REGISTRIES = frozenset({"ghcr.io/acme"})
DIGESTS = frozenset({"sha256:4f6c1d9b2a7e8c3f5d0b1a2e9c8d7f6b5a4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c"})
CLUSTER_SERVERS = frozenset({
    "https://dev-eu1.k8s.acme.internal",
    "https://staging-eu1.k8s.acme.internal",
    "https://prod-eu1.k8s.acme.internal",
    "https://qa-eu1.k8s.acme.internal",
})
ADMISSION_DEPLOYMENT = "platform/admission/deployment.yaml"


def is_placeholder_image(image: str) -> bool:
    repository, _, digest = image.partition("@")
    return digest in DIGESTS or any(repository.startswith(f"{r}/") for r in REGISTRIES)


def _at(doc_display: str, line_col: tuple[int, int], field: str, message: str) -> Problem:
    return Problem(doc_display, *line_col, field, message)


def organization_warnings(organization: LoadedOrganization, *,
                          runs_admission: bool) -> list[Problem]:
    """The organisation's settings that are still the shipped placeholders."""
    doc = organization.doc
    spec = organization.spec.spec
    found: list[Problem] = []
    image = spec.images.modelops
    image_placeholder = spec.images.registry in REGISTRIES or image.digest in DIGESTS
    if image_placeholder and runs_admission:
        found.append(_at(doc.display, doc.locate(("spec", "images")), "spec.images",
                         f"PLACEHOLDER IMAGE IN THE ADMISSION WEBHOOK: "
                         f"{ADMISSION_DEPLOYMENT} runs {organization.modelops_image}, "
                         "which no node can pull; the webhook fails closed, so every create or "
                         "update of a Seldon object in a model namespace would be refused. "
                         "Build and push the image (platform/admission/Dockerfile), set your "
                         "registry, tag and digest here, then `make render`"))
    if spec.images.registry in REGISTRIES:
        found.append(_at(doc.display, doc.locate(("spec", "images", "registry")),
                         "spec.images.registry", f"{spec.images.registry!r} is a placeholder: "
                         "set the registry your images are pushed to"))
    if image.digest in DIGESTS:
        found.append(_at(doc.display, doc.locate(("spec", "images", "modelops", "digest")),
                         f"{IMAGE_FIELD}.digest", "a made-up digest: set the digest `docker "
                         "push` printed for the image"))
    if spec.git.repo_url in GIT_URLS:
        found.append(_at(doc.display, doc.locate(("spec", "git", "repoURL")), "spec.git.repoURL",
                         f"{spec.git.repo_url!r} is a placeholder: set the URL of your fork "
                         "(Argo CD syncs it)"))
    return found


def environment_warnings(env: EnvironmentSettings) -> list[Problem]:
    """An environment's cluster or smoke image that is still a shipped placeholder."""
    doc = env.doc
    spec = env.spec.spec
    found: list[Problem] = []
    if spec.cluster.server in CLUSTER_SERVERS:
        found.append(_at(doc.display, doc.locate(("spec", "cluster", "server")),
                         "spec.cluster.server", f"{spec.cluster.server!r} is a sample cluster: "
                         "set the API server URL your Argo CD knows this cluster by"))
    if spec.smoke.image is not None and is_placeholder_image(spec.smoke.image):
        found.append(_at(doc.display, doc.locate(("spec", "smoke", "image")), "spec.smoke.image",
                         f"{spec.smoke.image!r} is a placeholder image; delete this line to "
                         "use organization.yaml's, or set a real one"))
    return found


def placeholder_warnings(repo: Repository) -> list[Problem]:
    """Every shipped placeholder still in use, the admission webhook's image first.

    Broken files are left to the commands that load them, which report them as errors.
    """
    found: list[Problem] = []
    try:
        organization = repo.load_organization()
    except InputError:
        organization = None
    if organization is not None:
        runs_admission = (repo.root / ADMISSION_DEPLOYMENT).is_file()
        found += organization_warnings(organization, runs_admission=runs_admission)
    for env in repo.readable_settings(repo.environment_names()):
        found += environment_warnings(env)
    return found
