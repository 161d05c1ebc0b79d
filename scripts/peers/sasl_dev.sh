#!/usr/bin/env bash
# Installs what the Cyrus SASL interop peer (packages/sasl/interop/cyrus/) needs to build and run:
# the libsasl2 headers and library, the DIGEST-MD5 and sasldb plugins, saslpasswd2 and a C compiler;
# and GNU SASL's gsasl command (interop/gsasl_anonymous_external_test.ts).
# Idempotent and silent when everything is present; exits non-zero with a reason when it cannot install.
set -euo pipefail

packages=(libsasl2-dev libsasl2-modules libsasl2-modules-db sasl2-bin gcc gsasl)

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "sasl_dev.sh: missing ${missing[*]} and apt-get is not available; install them by hand" >&2
  exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "sasl_dev.sh: missing ${missing[*]}; run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi

echo "sasl_dev.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! apt-get update -qq >"$log" 2>&1 ||
  ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
  cat "$log" >&2
  echo "sasl_dev.sh: apt-get could not install ${missing[*]}" >&2
  exit 1
fi
