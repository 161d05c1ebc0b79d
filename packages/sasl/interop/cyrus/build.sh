#!/usr/bin/env bash
# Builds the Cyrus SASL peer into <repo>/.tmp/cyrus/sasl_peer (gitignored) and prints
# its path. Rebuilds only when the source is newer than the binary. When the headers, the
# DIGEST-MD5, SCRAM or sasldb plugins or a compiler are missing it runs scripts/peers/sasl_dev.sh,
# which installs them as root and otherwise fails with a reason; this script then fails too.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../../.." && pwd)
out_dir="$root/.tmp/cyrus"
binary="$out_dir/sasl_peer"
source="$here/sasl_peer.c"

have_prerequisites() {
  [[ -f /usr/include/sasl/sasl.h ]] || return 1
  command -v cc >/dev/null 2>&1 || return 1
  # The plugins live in the multiarch folder on Debian; any libdigestmd5/libsasldb will do.
  compgen -G "/usr/lib/*/sasl2/libdigestmd5.so*" >/dev/null ||
    compgen -G "/usr/lib/sasl2/libdigestmd5.so*" >/dev/null || return 1
  compgen -G "/usr/lib/*/sasl2/libscram.so*" >/dev/null ||
    compgen -G "/usr/lib/sasl2/libscram.so*" >/dev/null || return 1
  compgen -G "/usr/lib/*/sasl2/libsasldb.so*" >/dev/null ||
    compgen -G "/usr/lib/sasl2/libsasldb.so*" >/dev/null || return 1
}

if ! have_prerequisites; then
  "$root/scripts/peers/sasl_dev.sh" >&2
  have_prerequisites || {
    echo "build.sh: libsasl2-dev, the DIGEST-MD5/SCRAM/sasldb plugins or cc are still missing" >&2
    exit 1
  }
fi

if [[ ! -x "$binary" || "$source" -nt "$binary" ]]; then
  mkdir -p "$out_dir"
  # -rdynamic exports the DES_key_sched interposer to the dlopen()ed DIGEST-MD5 plugin.
  cc -std=c99 -D_GNU_SOURCE -O1 -Wall -Wextra -rdynamic -o "$binary.new" "$source" -lsasl2 -ldl
  mv "$binary.new" "$binary"
fi
echo "$binary"
