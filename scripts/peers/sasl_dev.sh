#!/usr/bin/env bash
# Installs what the Cyrus SASL interop peer (packages/sasl/interop/cyrus/) needs to build and run:
# the libsasl2 headers and library, the DIGEST-MD5 and sasldb plugins, saslpasswd2 and a C compiler;
# and GNU SASL's gsasl command (interop/gsasl_anonymous_external_test.ts).
# Idempotent and silent when everything is present; exits non-zero with a reason when it cannot install.
set -euo pipefail

packages=(libsasl2-dev libsasl2-modules libsasl2-modules-db sasl2-bin gcc gsasl)

# shellcheck source=_packages.sh
source "$(dirname "${BASH_SOURCE[0]}")/_packages.sh"
missing_packages "${packages[@]}"
[[ ${#MISSING[@]} -eq 0 ]] && exit 0
install_missing sasl_dev.sh
