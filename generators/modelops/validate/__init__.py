"""Strict schema checks for rendered Kubernetes objects, fast enough to run on every render.

Why this package exists: `kubeconform -strict` is the reference for "would the API server take
this object, and is any field misspelt", but it is a separate binary with its own schema
downloads. The generators render thousands of objects per run and must check all of them
in-process with messages a person can act on. So:

* built-in kinds are checked against the strict JSON schemas bundled with `kubernetes-validate`
  (`core`);
* custom kinds are checked against the CRDs in a directory (`crd_index`), tightened the way
  `-strict` does (an unknown field is an error) and with the OpenAPI v3 / Go specifics
  translated (`prepare`, `patterns`: `nullable`, `x-kubernetes-int-or-string`, RE2 patterns
  such as `^(?i)(abort|warn)?$`);
* each kind's schema is compiled once by fastjsonschema into plain Python (`kinds`; the
  generated code is cached on disk, keyed by the prepared schema: `code_cache`), and only an
  object it rejects is checked again with jsonschema, which reports every error with its exact
  path (`messages`). A kind is first checked with jsonschema alone and compiled once the time
  spent on it reaches a share of the estimated compile cost, so a kind seen a handful of times
  never pays for compiling a large CRD.

`SchemaCatalog` (`catalog`) ties them together and is what callers use.

Checks that need a server are out of scope, as in kubeconform: CEL rules
(`x-kubernetes-validations`), list-type uniqueness, `format`s and defaulting.
"""

from modelops.validate.catalog import SchemaCatalog
from modelops.validate.core import KUBERNETES_VERSION
from modelops.validate.patterns import SKIPPED_PATTERNS, SkippedPattern, _translate_pattern
from modelops.validate.problems import CatalogError, CrdDirectoryError, SchemaProblem

# `_translate_pattern` is exported for the tests that exercise the RE2 translation directly.
__all__ = [
    "KUBERNETES_VERSION",
    "SKIPPED_PATTERNS",
    "CatalogError",
    "CrdDirectoryError",
    "SchemaCatalog",
    "SchemaProblem",
    "SkippedPattern",
    "_translate_pattern",
]
