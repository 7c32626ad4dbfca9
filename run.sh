#!/usr/bin/env bash
# Set up (first time only) and start the app.
#   bash run.sh [streamlit options]                 one process: `streamlit run app.py`
#   bash run.sh --workers N [--port P] [--address A] [streamlit options]
#                                                   N processes behind HAProxy on port P (8501)
set -euo pipefail
cd "$(dirname "$0")"
workers=1
port=""
address=""
rest=()
while [ $# -gt 0 ]; do
  case "$1" in
    --workers) workers="${2:?--workers needs a number}"; shift 2 ;;
    --workers=*) workers="${1#*=}"; shift ;;
    --port) port="${2:?--port needs a number}"; shift 2 ;;
    --port=*) port="${1#*=}"; shift ;;
    --address) address="${2:?--address needs a value}"; shift 2 ;;
    --address=*) address="${1#*=}"; shift ;;
    *) rest+=("$1"); shift ;;
  esac
done
case "$workers" in
  ''|*[!0-9]*|0) echo "run.sh: --workers must be a whole number of at least 1 (got '$workers')" >&2; exit 2 ;;
esac
if [ "$workers" = 1 ]; then
  bash scripts/setup.sh app
  opts=()
  [ -n "$port" ] && opts+=(--server.port "$port")
  [ -n "$address" ] && opts+=(--server.address "$address")
  exec .venv/bin/python -m streamlit run app.py "${opts[@]}" "${rest[@]}"
fi
bash scripts/setup.sh app --proxy
opts=(--workers "$workers")
[ -n "$port" ] && opts+=(--port "$port")
[ -n "$address" ] && opts+=(--address "$address")
exec .venv/bin/python scripts/serve.py "${opts[@]}" -- "${rest[@]}"
