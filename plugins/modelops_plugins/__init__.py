"""modelops plugins: the admission webhook, smoke test, drift detectors, shadow comparison and
batch runner.

Plugins build on `modelops` (the generators) and register their CLI verbs through the
`modelops.verbs` entry-point group; the generators never import this package.
"""
