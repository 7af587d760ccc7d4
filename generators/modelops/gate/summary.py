"""The check report as text (terminal), JSON (tools) or markdown (the pull request comment)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from modelops.gate.check import CheckReport, EnvironmentResult, ModelChange
from modelops.plan import PoolReport, human_bytes, kserve_lines, resources_text
from modelops.plan_kserve import KServeReport
from modelops.policy import Finding


def _verdict(report: CheckReport) -> str:
    return "failed" if report.failed else "passed"


def _headline(report: CheckReport) -> str:
    """The verdict, with the removals a reviewer must confirm when there are any."""
    removed = len(report.removals)
    if not removed:
        return _verdict(report)
    verdict = "failed" if report.failed else "passed with a warning"
    return f"{verdict}: {removed} model(s) removed"


def _was_deployed(change: ModelChange) -> str:
    """What a removed model deployed at the base: its artifact and replicas."""
    old = change.before
    bounds = (f" ({_value(old.get('minReplicas'))}–{_value(old.get('maxReplicas'))})"
              if old.get("minReplicas") is not None or old.get("maxReplicas") is not None
              else "")
    return f"{_value(old.get('storageUri'))}, replicas {_value(old.get('replicas'))}{bounds}"


def _scope_text(env: EnvironmentResult) -> str:
    if env.scope.everything:
        return "everything"
    return f"{len(env.scope.models)} model(s): {', '.join(sorted(env.scope.models)) or '-'}"


def format_text(report: CheckReport) -> str:
    lines = []
    if report.base:
        lines.append(f"base {report.base} ({(report.base_commit or '')[:12]})")
    lines.append(f"render: {len(report.drifts)} stale file(s)"
                 + ("; run `make render` and commit the result" if report.drifts else ""))
    for drift in report.drifts:
        lines.append(f"  STALE {drift.path}")
    lines.append(f"schemas: {report.validated} object(s) validated, "
                 f"{len(report.schema_problems)} problem(s)")
    lines += [f"  {problem}" for problem in report.schema_problems]
    for env in report.environments:
        denies = sum(f.severity == "deny" for f in env.findings)
        lines.append(f"environment {env.name} ({_scope_text(env)}): {env.reviewed} object(s) "
                     f"reviewed by policy ({report.engine}): {denies} deny, "
                     f"{len(env.findings) - denies} warn")
        lines += [f"  {finding}" for finding in env.findings]
        for change in env.changes:
            if change.status == "removed":
                lines.append(f"  REMOVED {change.model} (was deploying {_was_deployed(change)})")
                continue
            lines.append(f"  {change.status} {change.model}: " + ", ".join(
                f"{key} {_value(change.before.get(key))} -> {_value(change.after.get(key))}"
                for key in _changed_keys(change)))
        for pool in env.plan["pools"]:
            lines.append(f"  pool {pool['server']}: planned {human_bytes(pool['planned_bytes'])}"
                         f" of {human_bytes(pool['capacity_bytes'])} (load "
                         f"{pool['planned_ratio']:.2f}, configured ratio "
                         f"{pool['configured_ratio']:.2f})")
        for placement in env.plan["placements"]:
            if placement["outcome"] != "scheduled":
                lines.append(f"  {placement['outcome'].upper()} {placement['model']}: "
                             f"{placement['reason']}")
        lines += kserve_lines(env.plan)
    for env_name in sorted({c.environment for c in report.vanished}):
        lines.append(f"environment {env_name}: REMOVED with all its models")
        lines += [f"  REMOVED {c.model} (was deploying {_was_deployed(c)})"
                  for c in report.vanished if c.environment == env_name]
    if report.placeholders:
        lines.append(f"placeholders: {len(report.placeholders)} shipped value(s) still in use "
                     "(warnings; organization.yaml and the environments say what to set)")
        lines += [f"  {problem}" for problem in report.placeholders]
    if report.stale_promotions:
        lines.append(f"promotion: {len(report.stale_promotions)} entry(ies) name a removed "
                     "environment (warnings; delete them)")
        lines += [f"  {problem}" for problem in report.stale_promotions]
    lines.append(f"check {_headline(report)}")
    return "\n".join(lines) + "\n"


def _value(value: Any) -> str:
    return "-" if value is None else str(value)


def _changed_keys(change: ModelChange) -> list[str]:
    keys = [k for k in change.after.keys() | change.before.keys()
            if change.before.get(k) != change.after.get(k)]
    order = ["storageUri", "memory", "replicas", "minReplicas", "maxReplicas", "server"]
    return sorted(keys, key=lambda k: order.index(k) if k in order else len(order))


def format_json(report: CheckReport) -> str:
    def finding(f: Finding) -> dict[str, str]:
        return f.as_json()

    doc = {
        "result": _verdict(report),
        "removedModels": [{"environment": c.environment, "model": c.model,
                           "before": c.before} for c in report.removals],
        "base": report.base,
        "baseCommit": report.base_commit,
        "engine": report.engine,
        "render": {"stale": [d.path for d in report.drifts]},
        "schemas": {"validated": report.validated,
                    "problems": [str(p) for p in report.schema_problems]},
        "placeholders": [str(p) for p in report.placeholders],
        "stalePromotions": [str(p) for p in report.stale_promotions],
        "environments": [{
            "name": env.name,
            "scope": "everything" if env.scope.everything else sorted(env.scope.models),
            "reviewed": env.reviewed,
            "findings": [finding(f) for f in env.findings],
            "newFindings": [finding(f) for f in env.new_findings]
            if env.base_findings is not None else None,
            "plan": env.plan,
            "basePlan": env.base_plan,
            "changes": [{"model": c.model, "status": c.status, "before": c.before,
                         "after": c.after} for c in env.changes],
        } for env in report.environments],
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _delta_bytes(before: int | None, after: int) -> str:
    if before is None or before == after:
        return human_bytes(after)
    sign = "+" if after > before else "-"
    change = human_bytes(abs(after - before))
    return f"{human_bytes(before)} → {human_bytes(after)} ({sign}{change})"


def _pool_rows(env: EnvironmentResult) -> list[str]:
    base: Mapping[str, PoolReport] = {p["server"]: p for p in (env.base_plan or {}).get(
        "pools", [])} if env.base_plan else {}
    rows = []
    for pool in env.plan["pools"]:
        old = base.get(pool["server"])
        ratio = (f"{old['planned_ratio']:.2f} → {pool['planned_ratio']:.2f}"
                 if old and old["planned_ratio"] != pool["planned_ratio"]
                 else f"{pool['planned_ratio']:.2f}")
        planned = _delta_bytes(old["planned_bytes"] if old else None, pool["planned_bytes"])
        headroom = _delta_bytes(old["headroom_bytes"] if old else None, pool["headroom_bytes"])
        rows.append(
            f"| {env.name} | {pool['server']} | {human_bytes(pool['physical_bytes'])} × "
            f"{pool['configured_ratio']:.2f} | {planned} | {ratio} | {headroom} "
            f"| {len(pool['unscheduled']) or ''} |")
    kserve = env.plan.get("kserve")
    if kserve is not None:
        rows.append(_kserve_row(env.name, kserve,
                                env.base_plan["kserve"] if env.base_plan else None))
    return rows


def _kserve_row(env: str, kserve: KServeReport, old: KServeReport | None) -> str:
    """KServe's capacity in the pools' columns: memory in the byte columns, every resource in
    the capacity and planned cells; no overcommit, so the ratio is 1."""
    capacity = kserve["capacity"]
    where = f"KServe ({kserve['capacity_source'] or 'no capacity declared'})"
    unscheduled = sum(m["outcome"] == "failed" for m in kserve["models"]) or ""
    planned = _delta_bytes(old["planned"]["memory_bytes"] if old else None,
                           kserve["planned"]["memory_bytes"])
    if capacity is None:
        return f"| {env} | {where} | — | {planned} | — | — | {unscheduled} |"
    used = kserve["planned"]["memory_bytes"]
    load = used / capacity["memory_bytes"] if capacity["memory_bytes"] else 0.0
    return (f"| {env} | {where} | {resources_text(capacity)} × 1.00 | {planned} "
            f"({resources_text(kserve['planned'])}) | {load:.2f} | "
            f"{human_bytes(capacity['memory_bytes'] - used)} | {unscheduled} |")


def _change_row(change: ModelChange, removed: bool = False) -> str:
    def both(key: str, code: bool = False) -> str:
        old, new = change.before.get(key), change.after.get(key)
        fmt = (lambda v: f"`{v}`") if code else str
        if change.status == "added":
            return fmt(new) if new is not None else ""
        if change.status == "removed":
            return fmt(old) if old is not None else ""
        return fmt(new) if old == new else f"{fmt(old)} → {fmt(new)}"

    replicas = both("replicas")
    bounds = f"{both('minReplicas')}–{both('maxReplicas')}"
    if removed:
        return (f"| {change.environment} | {change.model} | "
                f"{_cell(both('storageUri', code=True))} | {replicas} ({bounds}) |")
    return (f"| {change.environment} | {change.model} | {change.status} | "
            f"{_cell(both('storageUri', code=True))} | {both('memory')} | {replicas} "
            f"({bounds}) |")


def format_markdown(report: CheckReport) -> str:
    icon = "❌" if report.failed else "⚠️" if report.removals else "✅"
    out = [f"### {icon} modelops check {_headline(report)}", ""]
    if report.base:
        scoped = ", ".join(f"{env.name} ({_scope_text(env)})" for env in report.environments)
        out += [f"Against `{report.base}` ({(report.base_commit or '')[:12]}); "
                f"checked: {scoped or 'nothing to re-render'}.", ""]
    stale = (f"{len(report.drifts)} stale file(s): run `make render` and commit"
             if report.drifts else "current")
    out.append(f"- Rendered output: {stale}")
    out.append(f"- Schemas (strict): {report.validated} object(s), "
               f"{len(report.schema_problems)} problem(s)")
    denies = report.denies
    warns = [f for env in report.environments for f in env.findings if f.severity == "warn"]
    out.append(f"- Policies ({report.engine}): {len(denies)} deny, {len(warns)} warn")
    out.append(f"- Placement: {len(report.unschedulable)} model(s) cannot be scheduled")
    out.append("")
    if report.removals:
        out += ["#### ⚠️ Removed models", "",
                "These models stop being deployed when this merges. Confirm that is intended.",
                ""]
        gone = sorted({c.environment for c in report.vanished})
        if gone:
            out += [f"Environment(s) removed entirely: {', '.join(gone)}.", ""]
        out += ["| env | model | was deploying | replicas (min–max) |", "|---|---|---|---|"]
        out += [_change_row(c, removed=True) for c in report.removals]
        out.append("")
    changes = [c for env in report.environments for c in env.changes
               if c.status != "removed"]
    if changes:
        out += ["#### Model changes", "",
                "| env | model | change | artifact | memory | replicas (min–max) |",
                "|---|---|---|---|---|---|"]
        out += [_change_row(c) for c in changes]
        out.append("")
    if report.environments:
        out += ["#### Capacity", "",
                "| env | server | physical × ratio | planned | load | headroom | unscheduled |",
                "|---|---|---|---|---|---|---|"]
        for env in report.environments:
            out += _pool_rows(env)
        out.append("")
    if denies:
        out += ["#### Denied", ""]
        out += [f"- **{f.policy}** `{f.object}`: {_cell(f.message)}" for f in denies]
        out.append("")
    new_warns = [f for env in report.environments
                 for f in (env.new_findings if env.base_findings is not None else env.findings)
                 if f.severity == "warn"]
    if new_warns:
        out += ["#### New warnings" if report.base else "#### Warnings", ""]
        out += [f"- **{f.policy}** `{f.object}`: {_cell(f.message)}" for f in new_warns]
        out.append("")
    if report.placeholders:
        out += ["#### Placeholder values still in use", ""]
        out += [f"- {_cell(str(p))}" for p in report.placeholders]
        out.append("")
    if report.stale_promotions:
        out += ["#### Promotion from a removed environment", ""]
        out += [f"- {_cell(str(p))}" for p in report.stale_promotions]
        out.append("")
    if report.unschedulable:
        out += ["#### Cannot be scheduled", ""]
        out += [f"- {env} `{model}`: {_cell(reason)}" for env, model, reason in
                report.unschedulable]
        out.append("")
    if report.drifts or report.schema_problems:
        out += ["#### Render and schema problems", "", "```"]
        out += [f"stale: {d.path}" for d in report.drifts]
        out += [str(p) for p in report.schema_problems]
        out += ["```", ""]
    return "\n".join(out)
