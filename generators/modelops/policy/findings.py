"""What a policy evaluation returns: one Finding per (policy, severity, object, message)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any, Literal, NamedTuple

Severity = Literal["deny", "warn"]
SEVERITIES: tuple[Severity, ...] = ("deny", "warn")


class Finding(NamedTuple):
    policy: str
    severity: Severity
    kind: str
    namespace: str
    name: str
    message: str

    @property
    def object(self) -> str:
        """kind/namespace/name, as people and `kubectl` spell an object."""
        return "/".join(part for part in (self.kind, self.namespace, self.name) if part)

    def __str__(self) -> str:
        return f"{self.severity.upper()} [{self.policy}] {self.object}: {self.message}"

    def as_json(self) -> dict[str, str]:
        return {"policy": self.policy, "severity": self.severity, "kind": self.kind,
                "namespace": self.namespace, "name": self.name, "message": self.message}


def findings_from_results(results: Mapping[str, Any], policies: Mapping[str, str],
                          judges: Mapping[str, Collection[str]]) -> list[Finding]:
    """Turn a verdict (policy segment -> rules) into sorted findings.

    `policies` maps a policy's segment (Policy.segment) to its folder name, `judges` to the
    kinds it declares it judges. Each deny/warn element is the `{"msg", "kind", "namespace",
    "name"}` object that `lib.violation` builds, on an object of a kind its policy judges;
    anything else is a broken policy and raises, so a malformed rule can never pass silently
    (and a policy can never report on a kind for which the admission plugin leaves it out).
    """
    found: set[Finding] = set()
    for package, rules in results.items():
        if package not in policies or not isinstance(rules, Mapping):
            continue
        for severity in SEVERITIES:
            for element in rules.get(severity) or ():
                if not (isinstance(element, Mapping) and isinstance(element.get("msg"), str)):
                    raise ValueError(f"policy {policies[package]}: {severity} element must be "
                                     f"lib.violation(obj, msg), got {element!r}")
                kind = str(element.get("kind", ""))
                if kind not in judges[package]:
                    judged = ", ".join(sorted(judges[package]))
                    raise ValueError(f"policy {policies[package]} reports on a "
                                     f"{kind or 'kindless'} object, but judges only {judged}: "
                                     f"add the kind to `judges` in its policy.rego")
                found.add(Finding(policies[package], severity, kind,
                                  str(element.get("namespace", "")),
                                  str(element.get("name", "")), element["msg"]))
    return ordered(found)


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Denies first, then by policy, object and message: the order every report uses."""
    return sorted(findings, key=lambda f: (f.severity != "deny", f.policy, f.object, f.message))
