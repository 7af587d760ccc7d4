"""`modelops advise`: apply the rules to a model and say which target suits it, and why.

Votes decide: a target some rule `requires` wins (Seldon first: what only Seldon serves cannot
move, while scale-to-zero can be given up); else a target only one side `prefers`; else the
model stays where it is. `warn` and `grpc` rules are reported beside the verdict and never vote.
Advice never fails a build: the verb exits 0 whatever it recommends.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from modelops.advice.coldstart import format_seconds
from modelops.advice.facts import ModelFacts, environment_facts, model_facts
from modelops.advice.rules import RULES, Rule
from modelops.repository import LoadedEnvironment
from modelops.spec import Target


@dataclass(frozen=True)
class Fired:
    rule: Rule
    detail: str


@dataclass(frozen=True)
class Advice:
    environment: str
    facts: ModelFacts
    recommended: Target
    fired: tuple[Fired, ...]

    @property
    def differs(self) -> bool:
        return self.recommended != self.facts.target

    @property
    def warnings(self) -> list[Fired]:
        return [f for f in self.fired if f.rule.verdict in ("warn", "grpc")]


TARGETS: tuple[Target, ...] = ("seldon", "kserve")


def recommend(current: Target, fired: list[Fired]) -> Target:
    votes = {(f.rule.verdict, f.rule.strength) for f in fired}
    for strength in ("requires", "prefers"):
        sides = [t for t in TARGETS if (t, strength) in votes]
        if sides and (strength == "requires" or len(sides) == 1):
            return sides[0]
    return current


def advise_environment(env: LoadedEnvironment) -> list[Advice]:
    """Advice for every model of the environment, in name order."""
    shared = environment_facts(env)
    advice = []
    for model in sorted(env.models, key=lambda m: m.name):
        facts = model_facts(env, model, shared)
        fired = [Fired(rule, detail) for rule in RULES
                 if (detail := rule.applies(facts)) is not None]
        advice.append(Advice(env.name, facts, recommend(facts.target, fired), tuple(fired)))
    return advice


def _verdict_line(advice: Advice) -> str:
    facts = advice.facts
    if not advice.differs:
        return f"{advice.recommended} (as the spec says)"
    note = "" if advice.recommended != "kserve" or facts.kserve_available else \
        "; the environment has no spec.kserve yet"
    return f"{advice.recommended} (the spec says {facts.target}{note})"


def format_text(advice: Advice) -> str:
    facts = advice.facts
    lines = [f"{advice.environment}/{facts.name}: {_verdict_line(advice)}"]
    votes = [f for f in advice.fired if f not in advice.warnings]
    if not votes:
        lines.append("  no rule prefers a target: it stays where the spec puts it")
    for fired in votes:
        lines.append(f"  {fired.rule.verdict} ({fired.rule.strength}) [{fired.rule.id}] "
                     f"{fired.detail}: {fired.rule.reason} ({fired.rule.source})")
    for fired in advice.warnings:
        lines.append(f"  {fired.rule.verdict} [{fired.rule.id}] {fired.detail}: "
                     f"{fired.rule.reason} ({fired.rule.source})")
    lines.append(f"  cold start if scaled to zero: {facts.cold_start.describe()}")
    return "\n".join(lines) + "\n"


def format_summary(advice: list[Advice]) -> str:
    """One line per model: name, current target, recommendation, the rules that fired."""
    if not advice:
        return "no models\n"
    width = max(len(a.facts.name) for a in advice)
    lines = []
    for item in advice:
        rules = ", ".join(f.rule.id for f in item.fired) or "-"
        mark = "differs" if item.differs else "ok"
        lines.append(f"{item.environment}/{item.facts.name:<{width}}  {item.facts.target:<6} "
                     f"-> {item.recommended:<6}  {mark:<7}  {rules}")
    return "\n".join(lines) + "\n"


def as_json(advice: Advice) -> dict[str, Any]:
    cold = advice.facts.cold_start
    return {
        "environment": advice.environment,
        "model": advice.facts.name,
        "target": advice.facts.target,
        "recommended": advice.recommended,
        "differs": advice.differs,
        "rules": [{"id": f.rule.id, "verdict": f.rule.verdict, "strength": f.rule.strength,
                   "detail": f.detail, "reason": f.rule.reason, "source": f.rule.source}
                  for f in advice.fired],
        "coldStart": {"seconds": round(cold.seconds, 3), "text": format_seconds(cold.seconds),
                      "artifactSize": cold.size,
                      "mbPerSecond": cold.bandwidth.mb_per_second,
                      "from": cold.bandwidth.where, "bandwidthOrigin": cold.bandwidth.origin,
                      "budgetSeconds": float(cold.budget.seconds),
                      "budgetOrigin": cold.budget.origin, "fits": cold.fits},
    }


def format_json(advice: list[Advice]) -> str:
    return json.dumps([as_json(a) for a in advice], indent=2) + "\n"
