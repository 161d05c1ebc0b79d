#!/usr/bin/env bash
# Installs the SCRAM interop peers that packages/sasl/interop/scram_*_test.ts start themselves:
#   - GNU SASL's command-line tool (gsasl 2.2: SCRAM-SHA-1/-256 and -PLUS with tls-unique and
#     tls-exporter, client and --server over stdin/stdout);
#   - PostgreSQL 15 (SCRAM-SHA-256 and SCRAM-SHA-256-PLUS with tls-server-end-point; the tests run
#     a private cluster from initdb in a temporary folder on 127.0.0.1);
#   - openssl, which makes the cluster's self-signed certificates at test time.
# (Cyrus SASL's libscram comes with libsasl2-modules, which sasl_dev.sh installs.)
# Idempotent and silent when everything is present; exits non-zero with a reason when it cannot
# install (not root, no apt-get, apt-get failed).
set -euo pipefail

packages=(gsasl postgresql-15 openssl)

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "scram_peers.sh: missing ${missing[*]} and apt-get is not available; install them by hand" >&2
  exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "scram_peers.sh: missing ${missing[*]}; run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi

echo "scram_peers.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The postgresql-15 package creates and starts a default cluster on port 5432; the tests never use
# it (they start their own), so it is stopped again and kept from starting.
if ! apt-get update -qq >"$log" 2>&1 ||
  ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
  cat "$log" >&2
  echo "scram_peers.sh: apt-get could not install ${missing[*]}" >&2
  exit 1
fi
if [[ " ${missing[*]} " == *" postgresql-15 "* ]] && command -v pg_ctlcluster >/dev/null 2>&1; then
  pg_ctlcluster 15 main stop >/dev/null 2>&1 || true
fi
