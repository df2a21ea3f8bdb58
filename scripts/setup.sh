#!/usr/bin/env bash
# Set up everything ko-embed-lab needs, idempotently: a virtual environment in .venv with
# torch==2.13.0 (a CPU build; an unpinned torch would pull a multi-GB CUDA build) and the package
# with its extras. Re-running is cheap: it reinstalls only when pyproject.toml changed.
#   scripts/setup.sh            # package + book + dev + mteb + lab + cpu-backends + scale extras
#   scripts/setup.sh --browser  # also Debian's chromium, for the browser test (needs root/apt)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${KO_EMBED_LAB_VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV with $($PY --version)"
  "$PY" -m venv "$VENV"
fi
stamp="$VENV/.ko-embed-lab-stamp"
want="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q "torch==2.13.0"
  "$VENV/bin/python" -m pip install -q -e ".[book,dev,mteb,lab,cpu-backends,scale]"
  echo "$want" > "$stamp"
  echo "setup: installed ko-embed-lab and its extras into $VENV"
fi
if [ "${1:-}" = "--browser" ] && ! command -v chromium >/dev/null 2>&1; then
  echo "setup: installing Debian chromium for the browser test"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-cjk fonts-noto-color-emoji >/dev/null
fi
