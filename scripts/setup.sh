#!/usr/bin/env bash
# Create .venv in the repo root and install the pinned requirements.
# Usage: scripts/setup.sh [app|test]   ("test" also installs the test tools and, when
# running as root with apt, Debian's chromium and Fashion-MNIST for the full test suite).
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-app}"
py="${PYTHON:-python3}"
"$py" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' || {
  echo "cnndemo needs Python 3.11 (found: $("$py" --version 2>&1)). Set PYTHON=python3.11." >&2
  exit 1
}
[ -x .venv/bin/python ] || "$py" -m venv .venv
req=requirements.txt
[ "$mode" = test ] && req=requirements-test.txt
stamp=".venv/.installed-$(cat requirements.txt "$req" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r "$req"
  touch "$stamp"
fi

if [ "$mode" = test ]; then
  need=()
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  [ -d /usr/share/datasets/fashion-mnist ] || need+=(dataset-fashion-mnist)
  fc-list 2>/dev/null | grep -qi "noto sans cjk" || need+=(fonts-noto-cjk)
  if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "Installing Debian packages for the full test suite: ${need[*]}"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null \
        || echo "NOTE: could not install ${need[*]}; the tests that need them will be skipped."
    else
      echo "NOTE: not root or no apt: cannot install ${need[*]}; the tests that need them will be skipped."
    fi
  fi
fi
