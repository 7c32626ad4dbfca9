#!/usr/bin/env bash
# Create .venv in the repo root and install the pinned requirements.
# Usage: scripts/setup.sh [app|test] [--proxy]
#   test     also installs the test tools and, when running as root with apt, Debian's
#            chromium, haproxy and Fashion-MNIST for the full test suite.
#   --proxy  (what `run.sh --workers N` passes) installs Debian's haproxy as root with apt.
# The interpreter: $PYTHON if set, else the first of python3.11, python3.12, python3.13,
# python3 that is Python 3.11 or newer and for which every pinned package has a wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-app}"
proxy=0
[ "${2:-}" = --proxy ] && proxy=1

# Why a candidate interpreter cannot make the venv, or nothing when it can.
refusal() {
  local py="$1" line name ver out v
  command -v "$py" >/dev/null 2>&1 || { echo "not found"; return; }
  v=$("$py" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null) \
    || { echo "does not run"; return; }
  "$py" -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else 1)' \
    || { echo "Python $v, older than 3.11"; return; }
  "$py" -c 'import venv, ensurepip' 2>/dev/null \
    || { echo "no venv/ensurepip module (Debian: apt-get install python3-venv)"; return; }
  "$py" -m pip --version >/dev/null 2>&1 || return 0  # no pip to ask: let the install tell
  while read -r line; do
    line="${line%%#*}"
    case "$line" in *==*) ;; *) continue ;; esac
    name="${line%%==*}"; ver="${line#*==}"; ver="${ver//[[:space:]]/}"
    out=$("$py" -m pip index versions "$name" --only-binary=:all: 2>/dev/null) || continue
    case "$out" in
      *"versions: $ver,"*|*"versions: $ver"|*", $ver,"*|*", $ver") ;;
      *) echo "Python $v: no wheel of $name==$ver for it"; return ;;
    esac
  done < requirements.txt
}

if [ -x .venv/bin/python ]; then
  echo "Using .venv ($(.venv/bin/python --version 2>&1))"
else
  if [ -n "${PYTHON:-}" ]; then candidates=("$PYTHON"); else
    candidates=(python3.11 python3.12 python3.13 python3); fi
  py=""
  for c in "${candidates[@]}"; do
    why=$(refusal "$c")
    if [ -z "$why" ]; then py="$c"; break; fi
    echo "Not using $c: $why"
  done
  if [ -z "$py" ]; then
    echo "cnndemo needs Python 3.11 or newer with wheels for every pin in requirements.txt." >&2
    echo "Install one (Debian: apt-get install python3.11 python3.11-venv) or set PYTHON=..." >&2
    exit 1
  fi
  echo "Using $py ($(command -v "$py"), $("$py" --version 2>&1)) for .venv"
  "$py" -m venv .venv
fi
req=requirements.txt
[ "$mode" = test ] && req=requirements-test.txt
stamp=".venv/.installed-$(cat requirements.txt "$req" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r "$req"
  touch "$stamp"
fi

need=()
if [ "$mode" = test ]; then
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  [ -d /usr/share/datasets/fashion-mnist ] || need+=(dataset-fashion-mnist)
  fc-list 2>/dev/null | grep -qi "noto sans cjk" || need+=(fonts-noto-cjk)
fi
if [ "$mode" = test ] || [ $proxy = 1 ]; then
  command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian packages: ${need[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null \
      || echo "NOTE: could not install ${need[*]} with apt-get."
  else
    echo "NOTE: not root or no apt-get: cannot install ${need[*]} (as root: apt-get install ${need[*]})."
  fi
  if [ "$mode" = test ]; then
    echo "NOTE: tests that need a package that is still missing are skipped with the reason."
  fi
fi
