#!/usr/bin/env bash
# The checks CI runs: lint, types, import layers, module sizes, the test suite (offline; no GPU, no model
# hub), then the editor clients' end-to-end tests in a real VS Code (code-server, driven by Chromium) and
# a real Neovim. Their tools install from apt and npm while the rest runs (skipped when present); set
# CODEKIN_SKIP_EDITORS=1 to leave the editors out. With arguments, only pytest with those arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
editors=0
if [ "${CODEKIN_SKIP_EDITORS:-0}" != 1 ] && [ "$#" -eq 0 ]; then
  editors=1
  mkdir -p bench/out
  (bash editor-clients/vscode/scripts/install-test-tools.sh && bash editor-clients/nvim/scripts/install-test-tools.sh) \
    >bench/out/editor-tools.log 2>&1 &
  tools=$!
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports
.venv/bin/python scripts/check_structure.py lsp_server
status=0
if [ "$#" -gt 0 ]; then
  .venv/bin/python -m pytest -q "$@" || status=$?
else
  .venv/bin/python -m pytest -q --ignore=tests/editors || status=$?
fi
if [ "$status" -eq 5 ]; then
  echo "codekin: pytest collected no tests; that is a failure here" >&2
fi
if [ "$editors" -eq 1 ]; then
  if ! wait "$tools"; then
    cat bench/out/editor-tools.log >&2
    echo "codekin: installing the editors' test tools failed (log above)" >&2
    exit 1
  fi
  CODEKIN_REQUIRE_EDITORS=1 .venv/bin/python -m pytest -q tests/editors || status=$?
fi
exit "$status"
