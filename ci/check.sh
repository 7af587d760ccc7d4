#!/usr/bin/env bash
# The gate CI runs on every change, and people run as `make check`:
#   ci/check.sh          the whole repository: render current, strict schemas, policies, plan
#   ci/check.sh REF      only what changed since REF, plus a markdown summary for the pull
#                        request in $SUMMARY (default: check-summary.md)
# Exit 0 passed, 1 the gate failed (the report says why), 2 bad input (a broken spec).
set -euo pipefail
cd "$(dirname "$0")/.."
MODELOPS=${MODELOPS:-.venv/bin/modelops}
export MODELOPS_CRD_DIR=${MODELOPS_CRD_DIR:-../shared/crds}

if [ $# -eq 0 ]; then
  exec "$MODELOPS" check
fi
exec "$MODELOPS" check --base "$1" --format markdown --output "${SUMMARY:-check-summary.md}"
