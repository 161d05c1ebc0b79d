#!/usr/bin/env bash
# Installs the peers of packages/adapters/interop/: Prosody 0.12 (xmpp.js) and OpenLDAP slapd 2.5
# with ldap-utils and Cyrus SASL's sasldb tools and plugins (ldapts). Idempotent and silent when
# everything is present. The tests start their own servers on 127.0.0.1 as unprivileged users,
# with configurations in temporary folders; no postinst may start the system's daemons (a
# policy-rc.d denies it during the install).
#
# Not root or no apt-get: prints what is missing and exits 1 under CI=true, else 0 (the tests
# then skip loudly).
set -euo pipefail

packages=(prosody slapd ldap-utils sasl2-bin libsasl2-modules libsasl2-modules-db openssl)
# shellcheck source=_packages.sh
source "$(dirname "${BASH_SOURCE[0]}")/_packages.sh"
missing_packages "${packages[@]}"
missing=("${MISSING[@]}")
[[ ${#missing[@]} -eq 0 ]] && exit 0

give_up() {
  local bar
  bar=$(printf '!%.0s' {1..78})
  printf '%s\n!! xmpp_ldap.sh: cannot install %s: %s\n%s\n' "$bar" "${missing[*]}" "$1" "$bar" >&2
  if [[ "${CI:-}" == "true" ]]; then exit 1; fi
  echo "!! the xmpp.js and ldapts interop tests will be skipped (CI is not true)" >&2
  exit 0
}
command -v apt-get >/dev/null 2>&1 || give_up "apt-get is not available (Debian/Ubuntu only)"
[[ $(id -u) -eq 0 ]] || give_up "not root (run: sudo bash scripts/peers/xmpp_ldap.sh)"

echo "xmpp_ldap.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp /tmp/saslkit-xmpp-ldap-install.XXXXXX)
created_policy=false
cleanup() {
  [[ $created_policy == true ]] && rm -f /usr/sbin/policy-rc.d
  rm -f "$log"
}
trap cleanup EXIT
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  created_policy=true
fi
apt-get update -qq >"$log" 2>&1 || { cat "$log" >&2; give_up "apt-get update failed"; }
apt-get install -y -qq --no-install-recommends --no-remove "${missing[@]}" >>"$log" 2>&1 ||
  { cat "$log" >&2; give_up "apt-get install failed"; }
