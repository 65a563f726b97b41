#!/usr/bin/env bash
# Set up the project in .venv (if needed) and run every check: lint, types, tests (pytest-xdist:
# one worker per core, since the suite is CPU-bound and its tests share nothing but read-only files).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"
.venv/bin/ruff check
.venv/bin/ruff format --check
.venv/bin/mypy
.venv/bin/python -m pytest -W error -n auto "$@"
