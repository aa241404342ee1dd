#!/usr/bin/env bash
# The whole test suite, as the README and CI run it: install, lint, format check, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -e ".[test]"
python -m ruff check .
python -m ruff format --check .
# compile the risk core's numba kernels once (~25 s on a fresh clone), so that the test workers
# and the app servers the tests start load them from the cache instead of each compiling them
python -c "import minemap.risk; minemap.risk.load_kernels()"
python -m pytest -n 2 --dist loadgroup "$@"
