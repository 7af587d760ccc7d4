"""`make bench`: run every benchmark suite (tests/bench/bench_*.py) and print its table.

    python tests/bench/run.py [SUITE ...] [-- ARG ...]   # e.g. `policy -- --baseline HEAD~3`

Suites default to all; arguments after `--` go to every suite run (`make bench SUITE=policy
ARGS="--rounds 5"`).

Each suite is its own script, run in its own process, so one suite's imports (MLServer clients,
kopf, numpy) never skew another's numbers. Suites exit non-zero only when they cannot run; a
missed target is printed in the table, not raised.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def split_arguments(argv: list[str]) -> tuple[list[str], list[str]]:
    """(suite names, arguments for every suite): the arguments are what follows `--`."""
    cut = argv.index("--") if "--" in argv else len(argv)
    return argv[:cut], argv[cut + 1:]


def main(argv: list[str]) -> int:
    suites = {p.stem.removeprefix("bench_"): p for p in sorted(HERE.glob("bench_*.py"))}
    names, passed = split_arguments(argv)
    chosen = names or list(suites)
    unknown = [name for name in chosen if name not in suites]
    if unknown:
        print(f"bench: unknown suite(s) {', '.join(unknown)}; suites: {', '.join(suites)}",
              file=sys.stderr)
        return 2
    failed = []
    for name in chosen:
        print(f"== bench {name} ==", flush=True)
        if subprocess.run([sys.executable, str(suites[name]), *passed],
                          check=False).returncode != 0:
            failed.append(name)
        print(flush=True)
    if failed:
        print(f"bench: suite(s) failed to run: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
