#!/usr/bin/env bash
# Installs Debian's Chromium for the browser smoke test (scripts/runtime_smoke.mjs), which runs
# @saslkit/sasl in a page and in a Web Worker, headless and from file:// URLs only.
# Idempotent and silent when chromium is present; exits non-zero with a reason when it cannot
# install (scripts/peers/setup.sh turns that into a loud banner, and a failure under CI=true).
set -euo pipefail

command -v chromium >/dev/null 2>&1 && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "browser.sh: chromium is missing and apt-get is not available; install Chromium by hand" >&2
  exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "browser.sh: chromium is missing; run as root (or: sudo apt-get install chromium)" >&2
  exit 1
fi

echo "browser.sh: installing chromium" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
install() {
  apt-get install -y -qq --no-install-recommends chromium >>"$log" 2>&1
}
# The package lists are refreshed only when they do not know chromium or are too old to fetch it.
candidate=$(apt-cache policy chromium 2>/dev/null | awk '/Candidate:/ { print $2 }')
if [[ -z "$candidate" || "$candidate" == "(none)" ]] || ! install; then
  if ! apt-get update -qq >>"$log" 2>&1 || ! install; then
    cat "$log" >&2
    echo "browser.sh: apt-get could not install chromium" >&2
    exit 1
  fi
fi
if ! chromium --version >>"$log" 2>&1; then
  cat "$log" >&2
  echo "browser.sh: chromium was installed but does not start" >&2
  exit 1
fi
