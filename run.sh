#!/usr/bin/env bash
# Set up (first time only) and start the app: bash run.sh [streamlit options]
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh app
exec .venv/bin/python -m streamlit run app.py "$@"
