#!/usr/bin/env bash
# Set up (first time only) and run the whole test suite: bash test.sh [pytest options]
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh test
export CNNDEMO_OFFLINE="${CNNDEMO_OFFLINE:-1}"
echo "ruff check (pyproject.toml's rule set)"
.venv/bin/ruff check .
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ $rc -eq 5 ]; then
  echo "ERROR: pytest collected no tests" >&2
  exit 1
fi
exit $rc
