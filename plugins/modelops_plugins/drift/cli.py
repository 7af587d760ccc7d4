"""`modelops drift build`: the verb; the rules and the artifact live in `build`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelops.errors import EXIT_OK

if TYPE_CHECKING:
    pass


def register(verbs: Any) -> None:
    drift = verbs.add_parser("drift", help="drift detectors (alibi-detect) for Seldon")
    actions = drift.add_subparsers(dest="drift_action", metavar="ACTION",
                                   parser_class=type(drift))
    actions.required = True
    build = actions.add_parser(
        "build", help="build a KSDrift detector folder that MLServer serves",
        description="Fit an alibi-detect KSDrift detector on a reference window (5,000-10,000 "
        "rows) and write it with model-settings.json for mlserver_alibi_detect. Upload the "
        "folder to the model's spec.drift.reference.")
    build.add_argument("--reference", required=True, type=Path, metavar="FILE",
                       help="reference window: .npy or .csv, rows × features")
    build.add_argument("--out", required=True, type=Path, metavar="DIR",
                       help="new folder to write (must not exist, or be empty)")
    build.add_argument("--p-value", type=float, default=0.01, metavar="P",
                       help="KS test p-value, at most 0.01 (default 0.01)")
    build.add_argument("--name", metavar="NAME",
                       help="model name in model-settings.json (default: the folder name; "
                       "Seldon replaces it with the Model's name)")
    build.set_defaults(handler=handle_build, needs_repo=False)


def handle_build(args: argparse.Namespace) -> int:
    from modelops_plugins import tabular
    from modelops_plugins.drift import build

    build.check_p_value(args.p_value)
    rows = tabular.load_rows(args.reference)
    out: Path = args.out
    built = build.build(rows, out, p_value=args.p_value, name=args.name or out.resolve().name,
                        source=str(args.reference))
    print(f"drift: KSDrift on {built.rows}×{built.features} reference rows, p-value "
          f"{built.p_value:g} (Bonferroni over {built.features} feature(s))")
    print(f"wrote {built.out}/: {', '.join(built.files)}")
    print("upload the folder to the model's spec.drift.reference; Seldon serves it with "
          "mlserver_alibi_detect")
    return EXIT_OK
