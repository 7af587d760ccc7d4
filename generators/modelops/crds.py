"""Where the CRD schemas for strict validation are: `--crds DIR`, else `$MODELOPS_CRD_DIR`.

Shared by every verb that validates strictly (`validate`, `check`), so they agree on the
variable, the option's help and the errors: no directory given, or one that does not exist, is
one usage error about the directory (exit 2). Only strict schema validation needs the CRDs;
`render`, `policy` and `plan` never ask for them, so a fork without the CRDs can still use them.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from modelops.errors import UsageError

CRD_DIR_VARIABLE = "MODELOPS_CRD_DIR"
NEEDED = (f"strict schema validation needs the CRDs: pass --crds DIR or set {CRD_DIR_VARIABLE} "
          "(export your cluster's with `kubectl get crd -o yaml > DIR/crds.yaml`)")


def add_crds_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--crds", type=Path, metavar="DIR",
                        help=f"CustomResourceDefinition YAMLs (default: ${CRD_DIR_VARIABLE})")


def crd_directory(given: Path | None) -> Path:
    """`--crds DIR`, else $MODELOPS_CRD_DIR, checked to be a directory; else a UsageError."""
    if given is not None:
        path, source = given, "--crds"
    elif os.environ.get(CRD_DIR_VARIABLE):
        path, source = Path(os.environ[CRD_DIR_VARIABLE]), f"${CRD_DIR_VARIABLE}"
    else:
        raise UsageError(f"no CRD directory; {NEEDED}")
    if not path.is_dir():
        raise UsageError(f"CRD directory {path} (from {source}) does not exist or is not a "
                         f"directory; {NEEDED}")
    return path
