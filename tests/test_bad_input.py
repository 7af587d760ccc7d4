"""The bad-input suite: every way a spec author can get a spec wrong, and what modelops says.

Each case builds its repository (bad_input_repo.py: fixed spec texts, independent of the
shipped samples), breaks one file, and runs `modelops render`. It must
exit 2, print `path:line:col: field: message` pointing at the offending token, print no
traceback (and no "internal error"), and leave every file in the copy untouched. Most cases run
in-process (fast); a handful also run the real console script to prove nothing leaks into a
terminal. Line and column numbers are hard-coded from the edited files (see the comments).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from bad_input_repo import build
from conftest import find_rendered, replace_once, run_cli, snapshot
from modelops.runtimes import DEFAULT_CAPABILITIES

F = "environments/prod/models/fraud-detector.yaml"  # the richest spec; line map below
C = "environments/prod/models/churn-predictor.yaml"
E = "environments/prod/environment.yaml"
# fraud-detector.yaml, as committed:
#  5 `  name: fraud-detector`        value at col 9
#  6 `  owner: risk-ml`              value at col 10
#  7 `  description: Card-...`       value at col 16
# 10 `    uri: gs://...`             key at col 5, value at col 10
# 11 `    size: 1200Mi`              value at col 11
# 12 `  framework: xgboost`          key at col 3, value at col 14
# 13 `  memory: 2Gi`                 key at col 3, value at col 11
# 14 `  replicas: {min: 3, max: 8}`  min's value at col 19, max's at col 27
# 15 `  server: mlserver-cpu`        value at col 11
# 17 `    pre: [feature-encoder]`    first item at col 11
# 21 `    pValue: 0.01`              value at col 13
# 22 `    batchSize: 100`            value at col 16
# 28 `        data: [0.1, ...]`      first item at col 16
# 30 lines in all.
LONG_NAME = "fraud-detector-" + "x" * 40  # 55 characters: valid label, derived names too long
Mutation = Callable[[Path], None]


def sub(rel: str, old: str, new: str) -> Mutation:
    return lambda repo: replace_once(repo / rel, old, new)


def write(rel: str, data: str | bytes) -> Mutation:
    raw = data.encode() if isinstance(data, str) else data
    return lambda repo: (repo / rel).write_bytes(raw)


def append(rel: str, data: str) -> Mutation:
    def mutate(repo: Path) -> None:
        with (repo / rel).open("a", encoding="utf-8") as handle:
            handle.write(data)

    return mutate


def alias_bomb(repo: Path) -> None:
    # Billion laughs: 9 levels of 9 aliases would expand to 9**9 (387 million) strings.
    letters = "abcdefghi"
    lines = ["a: &a [" + ", ".join(['"lol"'] * 9) + "]"]
    for prev, cur in itertools.pairwise(letters):
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    (repo / F).write_text("\n".join(lines) + "\n")


def huge_file(repo: Path) -> None:
    original = (repo / F).read_text()
    filler = 10 * 1024 * 1024 - len(original) - len("# \n")  # exactly 10 MiB in all
    (repo / F).write_text(original + "# " + "x" * filler + "\n")


def non_utf8(repo: Path) -> None:
    raw = (repo / F).read_bytes()
    # line 7 `  description: Card-\xffnot-present...`: the byte is at col 16 + len("Card-") = 21
    (repo / F).write_bytes(raw.replace(b"Card-not-present", b"Card-\xffnot-present"))


def symlinked_spec(repo: Path) -> None:
    outside = repo.parent / "outside-fraud-detector.yaml"
    outside.write_bytes((repo / F).read_bytes())  # valid content: only the link is wrong
    (repo / F).unlink()
    (repo / F).symlink_to(outside)


def long_name(repo: Path) -> None:
    text = (repo / F).read_text().replace("name: fraud-detector", f"name: {LONG_NAME}")
    (repo / F).unlink()
    (repo / f"environments/prod/models/{LONG_NAME}.yaml").write_text(text)


def models_subdir(repo: Path) -> None:
    (repo / "environments/prod/models/nested.yaml").mkdir()


@pytest.fixture
def spec_repo(tmp_path: Path) -> Path:
    """The repository every case breaks (bad_input_repo.py), rendered, not a git repository."""
    return build(tmp_path / "repo")


@dataclass(frozen=True)
class Case:
    id: str
    mutate: Mutation
    expected: str  # the start of one stderr line: path:line:col: field: message...
    also: tuple[str, ...] = ()  # further line starts that must be there too


CASES = [
    # --- YAML syntax
    Case(
        "syntax-mapping-in-scalar",
        sub(F, "  framework: xgboost\n", "  framework: xgboost: extra\n"),
        f"{F}:12:21: (document): YAML syntax error: mapping values are not allowed in this context",
    ),
    Case(
        "syntax-bad-indent",
        sub(F, "    size: 1200Mi\n", "   size: 1200Mi\n"),
        f"{F}:11:4: (document): YAML syntax error: did not find expected key",
    ),
    Case(
        "syntax-tab-indent",
        sub(F, "  framework: xgboost\n", "\tframework: xgboost\n"),
        f"{F}:12:1: (document): YAML syntax error: found a tab character that violates indentation",
    ),
    Case(
        "syntax-bad-escape",
        sub(F, "  framework: xgboost\n", '  framework: "xg\\qboost"\n'),
        f"{F}:12:17: (document): YAML syntax error: found unknown escape character",
    ),
    Case(
        "duplicate-key",
        sub(F, "  server: mlserver-cpu\n", "  server: mlserver-cpu\n  server: triton-gpu\n"),
        f"{F}:16:3: spec.server: duplicate key 'server'",
    ),
    Case(
        "duplicate-key-in-flow",
        sub(F, "{min: 3, max: 8}", "{min: 3, min: 8}"),
        f"{F}:14:22: spec.replicas.min: duplicate key 'min'",
    ),
    # --- wrong types (no coercion)
    Case(
        "replicas-min-string",
        sub(F, "{min: 3, max: 8}", '{min: "2", max: 8}'),
        f"{F}:14:19: spec.replicas.min: Input should be a valid integer, got str '2'",
    ),
    Case(
        "replicas-min-float",
        sub(F, "{min: 3, max: 8}", "{min: 3.0, max: 8}"),
        f"{F}:14:19: spec.replicas.min: Input should be a valid integer, got float 3.0",
    ),
    Case(
        "replicas-min-bool",
        sub(F, "{min: 3, max: 8}", "{min: true, max: 8}"),
        f"{F}:14:19: spec.replicas.min: Input should be a valid integer, got bool True",
    ),
    Case(
        "memory-int",
        sub(F, "memory: 2Gi", "memory: 2048"),
        f"{F}:13:11: spec.memory: Input should be a valid string, got int 2048",
    ),
    Case(
        "framework-list",
        sub(F, "framework: xgboost", "framework: [xgboost]"),
        f"{F}:12:14: spec.framework: Input should be 'sklearn', 'xgboost', ",
    ),
    Case(
        "root-is-list",
        write(F, "- apiVersion\n- kind\n"),
        f"{F}:1:1: (document): expected a mapping with apiVersion, kind, metadata and spec",
    ),
    Case(
        "p-value-nan",
        sub(F, "pValue: 0.01", "pValue: .nan"),
        f"{F}:21:13: spec.drift.pValue: Input should be a finite number",
    ),
    Case(
        "int-over-4300-digits",
        sub(F, "batchSize: 100", "batchSize: 1" + "0" * 5000),
        f"{F}:22:16: spec.drift.batchSize: invalid int value ",
    ),
    # --- unknown fields and typos
    Case(
        "typo-memroy",
        sub(F, "memory: 2Gi", "memroy: 2Gi"),
        f"{F}:13:3: spec.memroy: unknown field 'memroy'; did you mean 'memory'?",
    ),
    Case(
        "top-level-specs",
        sub(F, "\nspec:\n", "\nspecs:\n"),
        f"{F}:8:1: specs: unknown field 'specs'; did you mean 'spec'?",
        (f"{F}:2:1: spec: missing required field 'spec'",),
    ),
    Case(
        "nested-artifact-url",
        sub(
            F,
            "    uri: gs://acme-models-prod/fraud-detector/2026",
            "    url: gs://acme-models-prod/fraud-detector/2026",
        ),
        f"{F}:10:5: spec.artifact.url: unknown field 'url'; did you mean 'uri'?",
        (f"{F}:10:5: spec.artifact.uri: missing required field 'uri'",),
    ),
    Case(
        "unknown-field-no-suggestion",
        sub(F, "  framework: xgboost\n", "  framework: xgboost\n  yes: 1\n"),
        f"{F}:13:3: spec.yes: unknown field 'yes'; allowed: alerts, artifact, batch, ",
    ),
    Case(
        "non-string-key",
        sub(F, "  framework: xgboost\n", "  framework: xgboost\n  ? [a]\n  : 1\n"),
        f"{F}:13:5: spec: mapping keys must be plain strings",
    ),
    # --- quantities
    Case(
        "memory-2GB",
        sub(F, "memory: 2Gi", "memory: 2GB"),
        f"{F}:13:11: spec.memory: '2GB' is not a Kubernetes quantity (use the suffix G or Gi",
    ),
    Case(
        "memory-negative",
        sub(F, "memory: 2Gi", "memory: -1Gi"),
        f"{F}:13:11: spec.memory: '-1Gi': must be greater than zero",
    ),
    Case(
        "memory-fraction-of-byte",
        sub(F, "memory: 2Gi", 'memory: "0.5"'),
        f"{F}:13:11: spec.memory: '0.5': is not a whole number of bytes",
    ),
    Case(
        "memory-with-space",
        sub(F, "memory: 2Gi", "memory: 2 Gi"),
        f"{F}:13:11: spec.memory: '2 Gi' is not a Kubernetes quantity",
    ),
    # --- names
    Case(
        "name-dot-dot",
        sub(F, "name: fraud-detector", "name: ../fraud-detector"),
        f"{F}:5:9: metadata.name: '../fraud-detector' is not a DNS-1123 label",
    ),
    Case(
        "name-uppercase",
        sub(F, "name: fraud-detector", "name: Fraud-Detector"),
        f"{F}:5:9: metadata.name: 'Fraud-Detector' is not a DNS-1123 label",
    ),
    Case(
        "name-64-chars",
        sub(F, "name: fraud-detector", "name: " + "a" * 64),
        f"{F}:5:9: metadata.name: '{'a' * 64}' is not a DNS-1123 label",
    ),
    Case(
        "name-too-long-for-derived-names",
        long_name,
        f"environments/prod/models/{LONG_NAME}.yaml:5:9: metadata.name: too long: derived "
        f"names such as {LONG_NAME}'-candidate' would exceed 63 characters; use at most 53",
    ),
    Case(
        "name-not-file-name",
        sub(F, "name: fraud-detector", "name: fraud-scorer"),
        f"{F}:5:9: metadata.name: 'fraud-scorer' must equal the file name 'fraud-detector'",
    ),
    # --- cross-file checks
    Case(
        "server-pool-missing",
        sub(F, "server: mlserver-cpu", "server: mlserver-gpu"),
        f"{F}:15:11: spec.server: no server pool 'mlserver-gpu' in {E}; pools: "
        "mlserver-cpu, triton-gpu",
    ),
    Case(
        "onnx-on-mlserver",
        sub(F, "framework: xgboost", "framework: onnx"),
        f"{F}:12:14: spec.framework: onnx models need a triton pool with capability 'onnx'; "
        "pool 'mlserver-cpu' runs mlserver",
    ),
    Case(
        "artifact-over-pool-max",
        sub(F, "size: 1200Mi", "size: 3Gi"),
        f"{F}:11:11: spec.artifact.size: 3Gi exceeds pool 'mlserver-cpu' maxArtifactSize 2Gi",
    ),
    Case(
        "uri-off-allowlist",
        sub(
            F,
            "gs://acme-models-prod/fraud-detector/2026-11-02-a1b2c3",
            "gs://acme-models-dev/fraud-detector/2026-11-02-a1b2c3",
        ),
        f"{F}:10:10: spec.artifact.uri: 'gs://acme-models-dev/fraud-detector/2026-11-02-a1b2c3'"
        " is not under an allowed prefix of environment 'prod': gs://acme-models-prod/",
    ),
    # Credentials in a URI are refused outright, whatever the allowlist says.
    Case(
        "uri-with-credentials",
        sub(
            F,
            "gs://acme-models-prod/fraud-detector/2026-11-02-a1b2c3",
            "gs://user:pass@acme-models-prod/fraud-detector/x",
        ),
        f"{F}:10:10: spec.artifact.uri: credentials are not allowed in artifact URIs",
    ),
    Case(
        "replicas-max-below-min",
        sub(F, "{min: 3, max: 8}", "{min: 3, max: 2}"),
        f"{F}:14:27: spec.replicas.max: max (2) is below min (3)",
    ),
    Case(
        "canary-weight-100",
        sub(C, "      weight: 10\n", "      weight: 100\n"),
        f"{C}:17:15: spec.rollout.candidate.weight: a canary takes 1-99 % of traffic",
    ),
    Case(
        "processing-unknown-model",
        sub(F, "pre: [feature-encoder]", "pre: [feature-encodr]"),
        f"{F}:17:11: spec.processing.pre[0]: no model 'feature-encodr' in environment 'prod'",
    ),
    # --- hostile YAML
    Case(
        "alias-bomb",
        alias_bomb,
        # Reported at the anchor `&a` (line 1, col 4) that b[0] aliases.
        f"{F}:1:4: b[0]: YAML anchors and aliases are not allowed in specs",
    ),
    Case(
        "merge-key",
        sub(F, "  replicas: {min: 3, max: 8}\n", "  replicas:\n    <<: {min: 3}\n    max: 8\n"),
        f"{F}:15:5: spec.replicas: YAML merge keys (<<) are not allowed in specs",
    ),
    Case(
        "python-object-tag",
        sub(F, "framework: xgboost", "framework: !!python/object:os.system xgboost"),
        f"{F}:12:14: spec.framework: unsupported YAML type "
        "'tag:yaml.org,2002:python/object:os.system'; quote the value to make it a string",
    ),
    Case(
        "timestamp-value",
        sub(
            F,
            "description: Card-not-present fraud score, called on every checkout.",
            "description: 2024-01-01",
        ),
        f"{F}:7:16: metadata.description: unsupported YAML type 'tag:yaml.org,2002:timestamp'",
    ),
    Case(
        "ten-megabytes",
        huge_file,
        f"{F}:1:1: (document): file is 10485760 bytes; a spec may be at most 262144 bytes",
    ),
    Case("non-utf8-byte", non_utf8, f"{F}:7:21: (document): not valid UTF-8 (byte 0xff)"),
    Case(
        "empty-file",
        write(F, b""),
        f"{F}:1:1: (document): file is empty; expected one YAML document",
    ),
    Case(
        "comment-only-file",
        write(F, "# yaml-language-server: $schema=x.json\n"),
        f"{F}:1:1: (document): file is empty; expected one YAML document",
    ),
    Case(
        "two-documents",
        append(F, "---\nkind: Secret\n"),
        # line 31 is `---`; the second document's first node is on line 32
        f"{F}:32:1: (document): expected exactly one YAML document, found 2",
    ),
    # --- injection attempts through strings
    Case(
        "owner-injection",
        sub(F, "owner: risk-ml", 'owner: "x\\nkind: Secret"'),
        f"{F}:6:10: metadata.owner: 'x\\nkind: Secret' is not a DNS-1123 label",
    ),
    Case(
        "description-with-newline-document",
        sub(
            F,
            "description: Card-not-present fraud score, called on every checkout.",
            'description: "evil\\n---\\nkind: Secret"',
        ),
        f"{F}:7:16: metadata.description: control characters are not allowed",
    ),
    Case(
        "smoke-data-with-newline",
        sub(F, "data: [0.1, 0.2, 0.3, 0.4]", 'data: ["a\\n---\\nkind: Secret", 0.2]'),
        f"{F}:28:16: spec.smoke.inputs[0].data[0]: ",
    ),
    # --- files that are not specs
    Case(
        "non-yaml-in-models",
        write("environments/prod/models/notes.txt", "remember\n"),
        "environments/prod/models/notes.txt:1:1: (document): unexpected file in models/; a "
        "model spec is named <name>.yaml",
    ),
    Case(
        "symlinked-spec",
        symlinked_spec,
        f"{F}:1:1: (document): not a regular file; model specs are plain <name>.yaml files "
        "(no symlinks)",
    ),
    Case(
        "directory-in-models",
        models_subdir,
        "environments/prod/models/nested.yaml:1:1: (document): not a regular file",
    ),
    # --- the environment file
    Case(
        "env-wrong-type",
        sub(E, "overcommitPercent: 10", "overcommitPercent: ten"),
        f"{E}:21:26: spec.servers.mlserver-cpu.overcommitPercent: Input should be a valid "
        "integer, got str 'ten'",
    ),
    Case(
        "env-typo",
        sub(E, "  kafka:\n", "  kafak:\n"),
        f"{E}:43:3: spec.kafak: unknown field 'kafak'; did you mean 'kafka'?",
        (f"{E}:7:3: spec.kafka: missing required field 'kafka'",),
    ),
    Case(
        "env-name-not-folder",
        sub(E, "name: prod\n", "name: production\n"),
        f"{E}:5:9: metadata.name: 'production' must equal the environment folder name 'prod'",
    ),
    Case(
        "env-memory-factor-too-big",
        sub(E, "memoryFactor: 1.5", "memoryFactor: 10"),
        f"{E}:33:19: spec.defaults.memoryFactor: Input should be less than or equal to 8",
    ),
]
SUBPROCESS = (
    "syntax-mapping-in-scalar",
    "alias-bomb",
    "ten-megabytes",
    "non-utf8-byte",
    "symlinked-spec",
    "two-documents",
)
BY_ID = {case.id: case for case in CASES}


def _problem_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if not line.startswith("modelops: ")]


def _assert_reported(case: Case, rc: int, stderr: str) -> None:
    assert rc == 2, stderr
    assert "Traceback" not in stderr
    assert "internal error" not in stderr
    lines = _problem_lines(stderr)
    for wanted in (case.expected, *case.also):
        assert any(line.startswith(wanted) for line in lines), f"{wanted!r} not in\n{stderr}"
    assert stderr.rstrip().endswith(f"modelops: {len(lines)} problem(s); nothing was written")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_located_and_writes_nothing(
    case: Case, spec_repo: Path, run_main: Any
) -> None:
    """A broken spec exits 2 with a located `path:line:col: field:` line and touches nothing."""
    case.mutate(spec_repo)
    before = snapshot(spec_repo)
    result = run_main("render", repo=spec_repo)
    _assert_reported(case, result.rc, result.stderr)
    assert result.stdout == ""
    assert snapshot(spec_repo) == before


@pytest.mark.parametrize("case_id", SUBPROCESS)
def test_bad_input_through_console_script(case_id: str, spec_repo: Path) -> None:
    """The real `modelops` script reports the same located line, with no traceback."""
    case = BY_ID[case_id]
    case.mutate(spec_repo)
    before = snapshot(spec_repo)
    result = run_cli("render", repo=spec_repo)
    _assert_reported(case, result.rc, result.stderr)
    assert snapshot(spec_repo) == before


def test_check_mode_reports_bad_input_too(spec_repo: Path, run_main: Any) -> None:
    """`render --check` on a broken spec exits 2 with the located error, not 1 with a diff."""
    case = BY_ID["typo-memroy"]
    case.mutate(spec_repo)
    result = run_main("render", "--check", repo=spec_repo)
    _assert_reported(case, result.rc, result.stderr)


def test_many_broken_files_reported_together_sorted(spec_repo: Path, run_main: Any) -> None:
    """Problems in several files of one environment all come out in one run, sorted by place."""
    for mutate in (
        BY_ID["typo-memroy"].mutate,
        BY_ID["env-memory-factor-too-big"].mutate,
        BY_ID["non-yaml-in-models"].mutate,
        sub(C, "framework: sklearn", "framework: [sklearn]"),
        sub(F, "owner: risk-ml", "owner: Risk"),
    ):
        mutate(spec_repo)
    before = snapshot(spec_repo)
    result = run_main("render", repo=spec_repo)
    assert result.rc == 2
    lines = _problem_lines(result.stderr)
    assert [line.split(": ", 2)[0] + ": " + line.split(": ", 2)[1] for line in lines] == [
        f"{E}:33:19: spec.defaults.memoryFactor",
        f"{C}:11:14: spec.framework",
        f"{F}:6:10: metadata.owner",
        f"{F}:13:3: spec.memroy",
        "environments/prod/models/notes.txt:1:1: (document)",
    ]
    assert "modelops: 5 problem(s); nothing was written" in result.stderr
    assert snapshot(spec_repo) == before


def test_broken_files_in_two_environments_reported_together(spec_repo: Path, run_main: Any) -> None:
    """Problems in dev and in prod are both reported by one `render` run."""
    sub("environments/dev/models/fraud-detector.yaml", "memory: 1800Mi", "memroy: 1800Mi")(
        spec_repo
    )
    BY_ID["typo-memroy"].mutate(spec_repo)
    result = run_main("render", repo=spec_repo)
    assert result.rc == 2
    assert "environments/dev/models/fraud-detector.yaml:13:3: spec.memroy: " in result.stderr
    assert f"{F}:13:3: spec.memroy: " in result.stderr


# ---------------------------------------------------------------- bugs: crashes on input


def _nested(depth: int) -> Mutation:
    return sub(
        F,
        "description: Card-not-present fraud score, called on every checkout.",
        "description: " + "[" * depth + "]" * depth,
    )


def test_deeply_nested_yaml_is_bad_input(spec_repo: Path, run_main: Any) -> None:
    """A 4 KB spec with 2000 nested flow sequences is refused as bad input (exit 2, located)."""
    _nested(2000)(spec_repo)
    result = run_main("render", repo=spec_repo)
    assert result.rc == 2, result.stderr
    assert f"{F}:7:" in result.stderr


def test_very_deeply_nested_yaml_does_not_crash(spec_repo: Path) -> None:
    """A 120 KB spec of 60000 nested flow sequences is refused (exit 2), not a segfault."""
    _nested(60000)(spec_repo)
    before = snapshot(spec_repo)
    result = run_cli("render", repo=spec_repo, cwd=spec_repo.parent)  # any core file lands there
    assert snapshot(spec_repo) == before
    assert result.rc == 2, (result.rc, result.stderr[-500:])


@pytest.mark.parametrize("value", ["!!bool maybe", "!!int ''", "!!int +", "!!float ''"])
def test_invalid_tagged_scalar_is_bad_input(value: str, spec_repo: Path, run_main: Any) -> None:
    """`memory: <tagged scalar>` with an invalid value is a located error at 13:11, exit 2."""
    sub(F, "memory: 2Gi", f"memory: {value}")(spec_repo)
    result = run_main("render", repo=spec_repo)
    assert result.rc == 2, result.stderr
    assert f"{F}:13:11: spec.memory: " in result.stderr


def test_control_character_is_located_on_one_line(spec_repo: Path, run_main: Any) -> None:
    """A raw \\x01 inside the description is reported at its own line and column, on one line."""
    raw = (spec_repo / F).read_bytes()
    (spec_repo / F).write_bytes(raw.replace(b"Card-not-present", b"Card-\x01not-present"))
    result = run_main("render", repo=spec_repo)
    assert result.rc == 2
    assert f"{F}:7:21: " in result.stderr
    assert len(_problem_lines(result.stderr)) == 1, result.stderr


def test_problem_output_cannot_be_forged_by_a_key(spec_repo: Path, run_main: Any) -> None:
    """An unknown key containing a newline still prints as one problem line for this file."""
    forged = "environments/prod/models/ltv-regressor.yaml:1:1: spec: forged"
    sub(F, "  framework: xgboost\n", f'  framework: xgboost\n  "x\\n{forged}": 1\n')(spec_repo)
    result = run_main("render", repo=spec_repo)
    assert result.rc == 2
    lines = _problem_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{F}:13:3: ")


# ---------------------------------------------------------------- bugs: objects Seldon refuses


def _rendered_objects(repo: Path, env: str) -> list[dict[str, Any]]:
    base = repo / "environments" / env / "rendered"
    return [yaml.safe_load(p.read_text()) for p in sorted(base.rglob("*.yaml"))]


def test_model_name_colliding_with_derived_name_is_refused(spec_repo: Path, run_main: Any) -> None:
    """A second model named `churn-predictor-candidate` is refused, or at least not duplicated."""
    source = (spec_repo / "environments/prod/models/ltv-regressor.yaml").read_text()
    (spec_repo / "environments/prod/models/churn-predictor-candidate.yaml").write_text(
        source.replace("name: ltv-regressor", "name: churn-predictor-candidate")
    )
    result = run_main("render", "--env", "prod", repo=spec_repo)
    if result.rc == 2:
        assert "churn-predictor-candidate" in result.stderr
        return
    assert result.rc == 0, result.stderr
    names = [
        (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])
        for o in _rendered_objects(spec_repo, "prod")
    ]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    assert duplicates == []


def test_drift_and_explainer_of_triton_model_are_placeable(spec_repo: Path, run_main: Any) -> None:
    """Drift/explainer of an ONNX model are refused or placed on a server that can host them."""
    append(
        "environments/prod/models/demand-forecaster.yaml",
        "  drift:\n    reference: gs://acme-models-prod/demand-forecaster/drift/1\n"
        "    referenceRows: 5000\n    pValue: 0.01\n    batchSize: 10\n"
        "  explainer:\n    type: kernel_shap\n"
        "    uri: gs://acme-models-prod/demand-forecaster/explainer/1\n",
    )(spec_repo)
    result = run_main("render", "--env", "prod", repo=spec_repo)
    if result.rc == 2:
        return
    assert result.rc == 0, result.stderr
    objects = _rendered_objects(spec_repo, "prod")
    runtime = {
        o["metadata"]["name"]: o["spec"]["serverConfig"] for o in objects if o["kind"] == "Server"
    }
    for model in (o for o in objects if o["kind"] == "Model"):
        caps = DEFAULT_CAPABILITIES[runtime[model["spec"]["server"]]]
        missing = set(model["spec"]["requirements"]) - set(caps)
        assert not missing, f"{model['metadata']['name']} on {model['spec']['server']}"


# ---------------------------------------------------------------- hostile strings that are allowed


TRICKY = [
    '"}}',
    "{{ 7*7 }}",
    "{% raw %}",
    "a\\b\\\\c",
    'it\'s "quoted"',
    "--- x",
    "...",
    "#not: a comment",
    "key: value",
    "&a *a !!python/object",
    "%TAG ! x",
    "é ☃ 😀 \u00a0",
    "- [x]",
    "'",
    "\\n---\\n",
]


def test_template_syntax_in_description_is_inert(spec_repo: Path, run_main: Any) -> None:
    """A description of `{{ 7*7 }} {% raw %}` renders fine (exit 0): specs are never templates."""
    sub(
        F,
        "description: Card-not-present fraud score, called on every checkout.",
        'description: "{{ 7*7 }} {% raw %}"',
    )(spec_repo)
    result = run_main("render", repo=spec_repo)
    assert result.rc == 0, result.stderr
    for obj_path in (spec_repo / "environments").glob("*/rendered/**/*.yaml"):
        assert len(list(yaml.safe_load_all(obj_path.read_text()))) == 1, obj_path


def test_hostile_smoke_strings_reach_request_json_exactly(spec_repo: Path, run_main: Any) -> None:
    """Quotes, backslashes, `}}`, `{{ 7*7 }}`, `---`, YAML syntax in smoke data arrive verbatim."""
    flow = "[" + ", ".join(json.dumps(s, ensure_ascii=False) for s in TRICKY) + ", 0.25, 3]"
    sub(
        F,
        "        shape: [1, 4]\n        data: [0.1, 0.2, 0.3, 0.4]\n",
        f"        shape: [1, {len(TRICKY) + 2}]\n        data: {flow}\n",
    )(spec_repo)
    result = run_main("render", "--env", "prod", repo=spec_repo)
    assert result.rc == 0, result.stderr
    base = spec_repo / "environments/prod/rendered"
    for path in base.rglob("*.yaml"):
        docs = list(yaml.safe_load_all(path.read_text()))
        assert len(docs) == 1, path
        assert set(docs[0]) <= {"apiVersion", "kind", "metadata", "spec", "data"}, path
    configmap = yaml.safe_load(
        find_rendered(spec_repo, "prod", "ConfigMap", "smoke-fraud-detector").read_text()
    )
    assert set(configmap["data"]) == {"request.json"}
    request = json.loads(configmap["data"]["request.json"])
    assert request == {
        "inputs": [
            {
                "name": "predict",
                "datatype": "FP32",
                "shape": [1, len(TRICKY) + 2],
                "data": [*TRICKY, 0.25, 3],
            }
        ]
    }
    assert "49" not in request["inputs"][0]["data"]
    assert configmap["kind"] == "ConfigMap"
    assert configmap["metadata"]["name"] == "smoke-fraud-detector"


def test_console_script_never_prints_traceback_even_on_internal_error(spec_repo: Path) -> None:
    """An unexpected failure prints one 'internal error' line, not a traceback, and exits 1."""
    schemas = spec_repo / "generators" / "schemas"
    for path in schemas.iterdir():
        path.unlink()
    schemas.rmdir()
    schemas.write_text("a file where the schema folder should be\n")
    before = rendered_trees(spec_repo)
    result = run_cli("render", repo=spec_repo)
    assert result.rc == 1
    assert "Traceback" not in result.stderr
    assert re.search(
        r"^modelops: internal error: FileExistsError: .*MODELOPS_DEBUG=1",
        result.stderr,
        re.MULTILINE,
    )
    assert rendered_trees(spec_repo) == before


def rendered_trees(repo: Path) -> dict[str, dict[str, bytes]]:
    return {
        env.name: snapshot(env / "rendered")
        for env in sorted((repo / "environments").iterdir())
    }
