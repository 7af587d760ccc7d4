"""Rego policies: load the library under `policies/`, evaluate it, read back findings.

CI (`modelops policy`, `modelops check`) and the admission plugin both go through this package,
so the cluster and CI can never disagree: same `.rego` files, same input document, same engine.
Nothing here knows about argparse or HTTP.

    library = PolicyLibrary.load(repo_root / "policies")
    engine = create_engine(library, "regorus")      # compiled once; evaluate many times
    findings = engine.evaluate(build_input(objects, cluster=others))
"""

from modelops.policy.engine import ENGINES, PolicyEngine, PolicyEngineError, create_engine
from modelops.policy.findings import Finding, Severity
from modelops.policy.inputs import PolicyInput, build_input, environment_document
from modelops.policy.library import Policy, PolicyLibrary

__all__ = [
    "ENGINES",
    "Finding",
    "Policy",
    "PolicyEngine",
    "PolicyEngineError",
    "PolicyInput",
    "PolicyLibrary",
    "Severity",
    "build_input",
    "create_engine",
    "environment_document",
]
