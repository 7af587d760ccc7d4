"""The policy stage of `modelops check`, alone, timed in process, for whichever code is on sys.path.

bench_policy.py runs this once per round and arm, with PYTHONPATH pointing at that arm's tree,
so the same script measures the code before a change and after it. It compiles the engine and
builds each environment's input document first, then times only the evaluation, and prints one
JSON line: the file the `modelops` package was imported from (proof of which code ran), objects
evaluated, seconds (wall and CPU), findings, and /proc/stat's steal, total and busy jiffies over
the timed part.

    PYTHONPATH=TREE/generators:TREE/plugins python tests/bench/policy_stage.py REPO ENV ...
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from cpustat import sample


def compiled_engine(policies: Path) -> Any:
    """The regorus engine, through whichever factory this version of modelops offers."""
    from modelops import policy

    library = policy.PolicyLibrary.load(policies)
    create = getattr(policy, "create_engine", None)
    return create(library, "regorus") if create else library.engine("regorus")


def main(argv: list[str]) -> int:
    import modelops
    from modelops.gate.manifests import read_rendered
    from modelops.policy import build_input
    from modelops.repository import Repository

    repo, envs = Path(argv[0]), argv[1:]
    repository = Repository(repo)
    engine = compiled_engine(repo / "policies")
    documents = [json.dumps(build_input(list(read_rendered(repository, env).values())))
                 for env in envs]
    objects = sum(len(json.loads(d)["objects"]) for d in documents)
    before = sample()
    started, cpu_started = time.perf_counter(), time.process_time()
    findings = sum(len(engine.evaluate_json(document)) for document in documents)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    after = sample()
    print(json.dumps({"modelops": modelops.__file__, "objects": objects, "seconds": seconds,
                      "cpu": cpu,
                      "findings": findings, "steal": after.steal - before.steal,
                      "total": after.total - before.total,
                      "busy": after.busy - before.busy}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
