#!/usr/bin/env bash
# Set-up from nothing: a virtual environment in .venv with codekin and its dev tools.
# torch goes first and pinned, so that nothing later pulls a multi-GB CUDA build;
# set CODEKIN_TORCH to another requirement (a CUDA build on a GPU machine) to change that.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet "${CODEKIN_TORCH:-torch==2.13.0}"
.venv/bin/python -m pip install --quiet -e '.[dev]'
echo "codekin: set up in $(pwd)/.venv ($(.venv/bin/python -c 'import torch; print("torch", torch.__version__)'))"
