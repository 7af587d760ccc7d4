"""`make bench SUITE=policy`: the CI gate at scale (1000 models x 3 environments).

- `modelops check`: render check + strict validation + policies + plan over everything;
- `modelops check --base HEAD~1` after one model's artifact bump (the usual pull request);
- the policy stage alone, in process: every rendered object of each environment evaluated by
  the compiled library, per engine (regorus default; regopy measured on one environment).

    python tests/bench/bench_policy.py [--models 1000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_render import MODELOPS, ROOT, measure
from synthetic import make_repo

TARGETS = {"check": 10.0, "check --base (one model)": 1.5, "policy stage": 3.0}


def git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@example.com",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@example.com"}
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def prepare(count: int) -> Path:
    repo = make_repo(ROOT / "bench-out" / f"gate-n{count}", ROOT, count)
    shutil.copytree(ROOT / "policies", repo / "policies")
    subprocess.run([MODELOPS, "--repo", str(repo), "render"], check=True,
                   stdout=subprocess.DEVNULL)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    spec = repo / "environments" / "prod" / "models" / "model-00042.yaml"
    text = spec.read_text()
    spec.write_text(text.replace("/2026-11-15-00002a", "/2026-11-21-feedbe"))
    assert spec.read_text() != text
    subprocess.run([MODELOPS, "--repo", str(repo), "render"], check=True,
                   stdout=subprocess.DEVNULL)
    git(repo, "commit", "-qam", "bump model-00042 in prod")
    return repo


def policy_stage(repo: Path, engine_name: str, envs: list[str]) -> tuple[int, float]:
    """Objects evaluated and seconds, parsing excluded (the engine is compiled beforehand)."""
    from modelops.gate.manifests import read_rendered
    from modelops.policy import PolicyLibrary, build_input, create_engine
    from modelops.repository import Repository

    repository = Repository(repo)
    engine = create_engine(PolicyLibrary.load(repo / "policies"), engine_name)
    documents = [build_input(list(read_rendered(repository, env).values())) for env in envs]
    started = time.perf_counter()
    for document in documents:
        engine.evaluate(document)
    return sum(len(d["objects"]) for d in documents), time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    crds = os.environ.get("MODELOPS_CRD_DIR", str(ROOT.parent / "shared" / "crds"))
    started = time.time()
    repo = prepare(args.models)
    base = [MODELOPS, "--repo", str(repo), "check", "--crds", crds]
    rows: list[tuple[str, str, float, float]] = []
    for label, extra in (("check", []), ("check --base (one model)", ["--base", "HEAD~1"])):
        runs = [measure(base + extra) for _ in range(args.runs)]
        rows.append((label, "", statistics.median(r[0] for r in runs), max(r[1] for r in runs)))
    envs = ["dev", "prod", "staging"]
    stage = [policy_stage(repo, "regorus", envs) for _ in range(args.runs)]
    rows.append(("policy stage", f"regorus, {stage[0][0]} objects",
                 statistics.median(s[1] for s in stage), 0.0))
    from modelops.policy import PolicyEngineError

    try:
        count, seconds = policy_stage(repo, "regopy", ["prod"])
        rows.append(("policy stage (1 env)", f"regopy, {count} objects", seconds, 0.0))
    except PolicyEngineError as exc:   # measured, not hidden: regopy fails at this size
        rows.append(("policy stage (1 env)", f"regopy: {str(exc)[:40]}", float("nan"), 0.0))
    print(f"modelops bench policy: {args.models} models x 3 environments, median of "
          f"{args.runs} (load average {os.getloadavg()[0]:.2f}, "
          f"{time.time() - started:.0f} s total)\n")
    print(f"{'command':<26} {'detail':<24} {'wall s':>7} {'peak MiB':>9}  target")
    for label, detail, seconds, peak in rows:
        target = TARGETS.get(label)
        verdict = "" if target is None else (f"<= {target:g} s " +
                                             ("ok" if seconds <= target else "MISSED"))
        print(f"{label:<26} {detail:<24} {seconds:>7.2f} {peak or float('nan'):>9.0f}  "
              f"{verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
