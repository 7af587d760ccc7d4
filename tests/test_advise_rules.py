"""The rule table is written once: the README shows exactly `rules.py`'s table, and the facts the
policy needs reach the rendered Model as annotations (only when the spec states them)."""

from __future__ import annotations

from pathlib import Path

from conftest import REPO_ROOT
from modelops.advice.rules import RULES, rules_markdown
from repo_builder import environment, model, rendered_objects

README = REPO_ROOT / "generators" / "modelops" / "advice" / "README.md"
BEGIN, END = "<!-- rules:begin -->\n", "<!-- rules:end -->"


def test_readme_table_is_the_rule_table() -> None:
    text = README.read_text(encoding="utf-8")
    table = text[text.index(BEGIN) + len(BEGIN):text.index(END)]
    assert table == rules_markdown(), "paste modelops.advice.rules.rules_markdown() into " \
                                      f"{README.relative_to(REPO_ROOT)}"


def test_rule_table_has_one_row_per_rule() -> None:
    rows = [line for line in rules_markdown().splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == [rule.id for rule in RULES]
    assert len({rule.id for rule in RULES}) == len(RULES)


def _annotations(objects: list[dict], name: str) -> dict[str, str]:
    (found,) = [o for o in objects if o["kind"] == "Model" and o["metadata"]["name"] == name]
    return dict(found["metadata"]["annotations"])


def test_rendered_model_carries_the_advice_facts(tmp_path: Path) -> None:
    objects = rendered_objects(environment(
        "e", model("told", critical=True, alerts={"p99LatencyMs": 250},
                   traffic={"pattern": "bursty", "peakRps": 1500}),
        model("budget", traffic={"pattern": "idle", "coldStartBudgetSeconds": 90}),
        model("silent")))
    told = _annotations(objects, "told")
    assert {k: v for k, v in told.items() if k in {
        "modelops.dev/traffic-pattern", "modelops.dev/peak-rps",
        "modelops.dev/cold-start-budget-seconds", "modelops.dev/critical"}} == {
        "modelops.dev/traffic-pattern": "bursty", "modelops.dev/peak-rps": "1500",
        "modelops.dev/cold-start-budget-seconds": "0.25", "modelops.dev/critical": "true"}
    assert _annotations(objects, "budget")["modelops.dev/cold-start-budget-seconds"] == "90"
    silent = _annotations(objects, "silent")
    assert not any(k in silent for k in ("modelops.dev/traffic-pattern",
                                         "modelops.dev/cold-start-budget-seconds",
                                         "modelops.dev/critical"))
