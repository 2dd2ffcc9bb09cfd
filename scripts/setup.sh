#!/usr/bin/env bash
# Creates .venv with Kith installed in editable mode plus the dev tools.
# Idempotent: `make setup` only reruns it when pyproject.toml or this file changes.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
