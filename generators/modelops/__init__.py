"""modelops: short model specs in, Seldon Core 2 and Argo CD manifests out.

The package is the generator side of the repo. It never imports `modelops_plugins`;
plugins build on it, not the other way round.
"""

__version__ = "0.1.0"
