"""The image the platform's own Jobs run: the PostSync smoke test and the batch CronJob.

Both run the `modelops` command, so both take the same image: the environment's own if it names
one, else the organisation's.
"""

from __future__ import annotations

from modelops.organization import IMAGE_FIELD
from modelops.provenance import Sourced, from_env, from_organization
from modelops.repository import LoadedEnvironment


def smoke_image(env: LoadedEnvironment) -> Sourced:
    """The environment's own smoke image if it names one, else the organisation's."""
    image = env.spec.spec.smoke.image
    if image is not None:
        return from_env(image, "spec.smoke.image")
    assert env.organization is not None, "the loader requires one of the two"
    return from_organization(env.organization.modelops_image, IMAGE_FIELD)
