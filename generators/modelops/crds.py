"""Where the CRD schemas for strict validation are: `--crds DIR`, else `$MODELOPS_CRD_DIR`.

Shared by every verb that validates strictly (`validate`, `check`), so they agree on the
variable, the option's help and the one error a user sees when neither is given. Only strict
schema validation needs the directory; `render`, `policy` and `plan` never ask for it.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from modelops.errors import UsageError

CRD_DIR_VARIABLE = "MODELOPS_CRD_DIR"


def add_crds_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--crds", type=Path, metavar="DIR",
                        help=f"CustomResourceDefinition YAMLs (default: ${CRD_DIR_VARIABLE})")


def crd_directory(given: Path | None) -> Path:
    """`--crds DIR`, else $MODELOPS_CRD_DIR; a UsageError when neither is set."""
    if given is not None:
        return given
    if os.environ.get(CRD_DIR_VARIABLE):
        return Path(os.environ[CRD_DIR_VARIABLE])
    raise UsageError(f"no CRD directory: pass --crds DIR or set {CRD_DIR_VARIABLE} "
                     "(export your cluster's with `kubectl get crd -o yaml > crds.yaml`)")
