#!/usr/bin/env bash
# Install jscpd 5 (the baseline of bench/clones_vs_jscpd.py) from npm into bench/out/jscpd/,
# which is git-ignored; prints the binary's path. Idempotent: an installed jscpd 5 is kept.
#
#     bash bench/install_jscpd.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
prefix="$here/out/jscpd"
binary="$prefix/node_modules/.bin/jscpd"

if [[ -x "$binary" ]] && "$binary" --version 2>/dev/null | grep -q '^jscpd 5\.'; then
    echo "$binary"
    exit 0
fi

command -v npm >/dev/null || { echo "install_jscpd.sh: npm is needed" >&2; exit 1; }
mkdir -p "$prefix"
[[ -f "$prefix/package.json" ]] || echo '{"name": "codekin-bench-jscpd", "private": true}' >"$prefix/package.json"
npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error jscpd@5 jscpd-linux-x64-gnu@5 >&2
"$binary" --version >&2
echo "$binary"
