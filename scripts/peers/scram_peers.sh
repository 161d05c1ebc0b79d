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

# shellcheck source=_packages.sh
source "$(dirname "${BASH_SOURCE[0]}")/_packages.sh"
missing_packages "${packages[@]}"
[[ ${#MISSING[@]} -eq 0 ]] && exit 0
install_missing scram_peers.sh
# The postgresql-15 package creates and starts a default cluster on port 5432; the tests never use
# it (they start their own), so it is stopped again and kept from starting.
if [[ " ${MISSING[*]} " == *" postgresql-15 "* ]] && command -v pg_ctlcluster >/dev/null 2>&1; then
  pg_ctlcluster 15 main stop >/dev/null 2>&1 || true
fi
