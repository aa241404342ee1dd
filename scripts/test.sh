#!/usr/bin/env bash
# The whole test suite, as the README and CI run it: install, lint, format check, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -e ".[test]"
python -m ruff check .
python -m ruff format --check .
python -m pytest -n 2 --dist loadgroup "$@"
