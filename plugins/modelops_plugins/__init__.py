"""modelops plugins: the admission webhook, smoke test, drift detectors and shadow comparison.

Plugins build on `modelops` (the generators) and register their CLI verbs through the
`modelops.verbs` entry-point group; the generators never import this package.
"""
