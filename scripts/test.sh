#!/usr/bin/env bash
# The checks CI runs: lint, types, import layers, module sizes, then the test suite (offline; no GPU, no model hub).
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports
.venv/bin/python scripts/check_structure.py lsp_server
status=0
.venv/bin/python -m pytest -q "$@" || status=$?
if [ "$status" -eq 5 ]; then
  echo "codekin: pytest collected no tests; that is a failure here" >&2
fi
exit "$status"
