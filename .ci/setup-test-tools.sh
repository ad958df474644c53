#!/usr/bin/env bash
# Tools for the edge service's real-client tests (edge-service/src/test/java/io/tandem/edge/clients):
# Debian's Chromium at /usr/bin/chromium (driven by playwright-core) and the npm packages in
# edge-service/src/test/node (the official openai client, playwright-core).
# Idempotent and quick when everything is already there. bin/tandem test runs it before Maven.
# Skip the tests that need these tools with: ./mvnw verify -Dtandem.skipNodeTests=true
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_DIR="$ROOT/edge-service/src/test/node"
CHROMIUM=/usr/bin/chromium
status=0

say() { echo "setup-test-tools: $*" >&2; }

# 1. Chromium
if [ -x "$CHROMIUM" ]; then
  :
elif [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  say "installing Debian's chromium (apt-get)..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
  [ -x "$CHROMIUM" ] || { say "apt-get installed chromium but $CHROMIUM is still missing"; exit 1; }
else
  say "$CHROMIUM is missing and this is not root: install it with 'sudo apt-get install -y chromium'"
  say "(the kiosk page test fails until then; skip it with -Dtandem.skipNodeTests=true)"
  status=1
fi

# 2. npm packages
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  say "node and npm are missing: install Node.js 20 or newer (e.g. 'apt-get install -y nodejs npm')"
  exit 1
fi
if [ ! -d "$NODE_DIR/node_modules" ] || [ "$NODE_DIR/package-lock.json" -nt "$NODE_DIR/node_modules" ] \
   || [ "$NODE_DIR/package.json" -nt "$NODE_DIR/node_modules" ]; then
  say "installing npm packages in ${NODE_DIR#"$ROOT"/} (npm ci)..."
  (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error)
  touch "$NODE_DIR/node_modules"   # npm ci may keep the folder's old mtime; mark it current
fi
exit "$status"
