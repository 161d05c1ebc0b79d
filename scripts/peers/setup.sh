#!/usr/bin/env bash
# Installs the real peers the test suite talks to, where this machine allows it (root and apt):
#   - Cyrus SASL's library, plugins and headers, for the DIGEST-MD5 and SCRAM interop peer
#     (sasl_dev.sh);
#   - GNU SASL's gsasl and PostgreSQL 15, for the SCRAM interop tests (scram_peers.sh);
#   - a JDK, for javax.security.sasl's DIGEST-MD5 peer;
#   - Sendmail with Cyrus SASL, Postfix and Dovecot, swaks and Perl's Authen::SASL (mail.sh);
#   - Prosody and OpenLDAP slapd, for the xmpp.js and ldapts adapters (xmpp_ldap.sh).
# The tests start and stop the servers themselves, on 127.0.0.1 only.
# Where an install is impossible this says so loudly; with CI=true that is a failure, because
# nothing may be skipped in CI.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
failed=()

run() {
  local name="$1"
  shift
  if ! "$@"; then
    failed+=("$name")
  fi
}

run "Cyrus SASL (libsasl2-dev, sasl2-bin)" bash "$here/sasl_dev.sh"
run "SCRAM peers (gsasl, postgresql-15, openssl)" bash "$here/scram_peers.sh"
run "Chromium (for the browser smoke test)" bash "$here/browser.sh"

if ! command -v javac >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "peers: installing a JDK for the javax.security.sasl interop tests" >&2
    export DEBIAN_FRONTEND=noninteractive
    run "JDK" bash -c 'apt-get update -qq >/dev/null 2>&1; apt-get install -y -qq --no-install-recommends default-jdk-headless >/dev/null 2>&1'
  else
    failed+=("JDK (javac)")
  fi
fi

run "Prosody and OpenLDAP slapd (xmpp_ldap.sh)" bash "$here/xmpp_ldap.sh"

if [[ -f "$here/mail.sh" ]]; then
  run "Sendmail/Postfix/Dovecot (mail.sh)" bash "$here/mail.sh"
fi

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "" >&2
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
  echo "!! peers: could not install: ${failed[*]}" >&2
  echo "!! The interop suites that need them will be SKIPPED (each says so)." >&2
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
  if [[ "${CI:-}" == "true" ]]; then
    echo "peers: CI=true, so a missing peer is a failure" >&2
    exit 1
  fi
fi
exit 0
