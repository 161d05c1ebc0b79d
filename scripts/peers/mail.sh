#!/usr/bin/env bash
# Installs the SMTP test peers of packages/smtp/interop/: Sendmail + Cyrus SASL (apt) and
# Postfix + Dovecot SASL, and the clients that check them from the wire independently of saslkit
# (swaks, Perl's Net::SMTP, GNU SASL's `gsasl --smtp` for SCRAM, openssl for the test
# certificates). Idempotent and silent when everything is present.
#
# Debian's sendmail-bin and postfix conflict (both provide mail-transport-agent), so Sendmail
# comes from apt and Postfix is unpacked (apt-get download + dpkg -x) into a private prefix,
# $SASLKIT_POSTFIX_PREFIX (default /opt/saslkit-postfix), which the scripts in
# scripts/peers/postfix/ point every *_directory at. Its binaries have RUNPATH /usr/lib/postfix,
# so they run with LD_LIBRARY_PATH=$prefix/usr/lib/postfix.
#
# Not root or no apt-get: prints what is missing and exits 1 under CI=true, else 0 (the tests
# then skip loudly).
set -euo pipefail

prefix=${SASLKIT_POSTFIX_PREFIX:-/opt/saslkit-postfix}
packages=(sendmail-bin sendmail-cf m4 sasl2-bin libsasl2-modules libsasl2-modules-db swaks
  libauthen-sasl-perl libcrypt-rc4-perl libdigest-hmac-perl dovecot-core dovecot-submissiond gsasl
  openssl)
# Libraries the unpacked Postfix links against; apt does not know it needs them.
postfix_libs=(libdb5.3 libicu72 libnsl2 libsasl2-2 libssl3)

# shellcheck source=_packages.sh
source "$(dirname "${BASH_SOURCE[0]}")/_packages.sh"
missing_packages "${packages[@]}" "${postfix_libs[@]}"
missing=("${MISSING[@]}")
postfix_missing=false
[[ -x "$prefix/usr/sbin/postfix" && -f "$prefix/.saslkit-version" ]] || postfix_missing=true
users_missing=false
for name in postfix postdrop; do getent group "$name" >/dev/null || users_missing=true; done
getent passwd postfix >/dev/null || users_missing=true

if [[ ${#missing[@]} -eq 0 && $postfix_missing == false && $users_missing == false && -d /etc/sasl2 ]]
then
  exit 0
fi

todo=("${missing[@]}")
[[ $postfix_missing == true ]] && todo+=("postfix (unpacked into $prefix)")
[[ $users_missing == true ]] && todo+=("the postfix and postdrop users")
[[ -d /etc/sasl2 ]] || todo+=("/etc/sasl2")
what=$(printf '%s, ' "${todo[@]}")
what=${what%, }

give_up() {
  local bar
  bar=$(printf '!%.0s' {1..78})
  printf '%s\n!! mail.sh: the SMTP test peers cannot be installed: %s\n!! missing:%s\n%s\n' \
    "$bar" "$1" "${what:+ $what}" "$bar" >&2
  if [[ "${CI:-}" == "true" ]]; then exit 1; fi
  echo "!! the SMTP interop tests will be skipped (CI is not true)" >&2
  exit 0
}
command -v apt-get >/dev/null 2>&1 || give_up "apt-get is not available (Debian/Ubuntu only)"
[[ $(id -u) -eq 0 ]] || give_up "not root (run: sudo bash scripts/peers/mail.sh)"
unshare --mount --uts --pid --fork --propagation private true 2>/dev/null ||
  give_up "unshare cannot create mount/UTS/PID namespaces here (the peers run in them)"
if [[ " ${missing[*]} " == *" sendmail-bin "* ]]; then
  # apt would replace the machine's MTA (exim4, postfix…) with Sendmail: not ours to do.
  mta=$(dpkg-query -W -f='${db:Status-Status} ${Package} ${Provides}\n' 2>/dev/null |
    awk '$1 == "installed" && / mail-transport-agent/ { print $2 }' | head -n 1)
  [[ -z "$mta" ]] || give_up "$mta is installed and conflicts with sendmail-bin; remove it first"
fi

echo "mail.sh: installing${what:+ $what}" >&2
export DEBIAN_FRONTEND=noninteractive
work=$(mktemp -d /tmp/saslkit-mail-install.XXXXXX)
log="$work/log"
created_policy=false
cleanup() {
  [[ $created_policy == true ]] && rm -f /usr/sbin/policy-rc.d
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  cat "$log" >&2 || true
  echo "mail.sh: $1" >&2
  exit 1
}

# No postinst may start a daemon on a real port.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  created_policy=true
fi

if [[ ${#missing[@]} -gt 0 || $postfix_missing == true ]]; then
  apt-get update -qq >"$log" 2>&1 || fail "apt-get update failed"
fi

if [[ ${#missing[@]} -gt 0 ]]; then
  apt-get install -y -qq --no-install-recommends --no-remove --download-only "${missing[@]}" >>"$log" 2>&1 ||
    fail "apt-get could not download ${missing[*]}"
  # The maintainer scripts (sendmailconfig, make-ssl-cert…) resolve the host name; a private
  # resolv.conf keeps any DNS query they make on loopback.
  printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$work/resolv.conf"
  # shellcheck disable=SC2016 # expanded by the inner bash
  unshare -m --propagation private bash -c '
    mount --bind "$1" "$(readlink -f /etc/resolv.conf)"
    shift
    apt-get install -y -qq --no-install-recommends --no-remove --no-download "$@"
  ' _ "$work/resolv.conf" "${missing[@]}" >>"$log" 2>&1 ||
    fail "apt-get could not install ${missing[*]}"
fi

if [[ $users_missing == true ]]; then
  getent group postfix >/dev/null || groupadd --system postfix
  getent group postdrop >/dev/null || groupadd --system postdrop
  getent passwd postfix >/dev/null ||
    useradd --system -g postfix -d /nonexistent -s /usr/sbin/nologin -c "Postfix (saslkit tests)" \
      postfix
fi

if [[ $postfix_missing == true ]]; then
  (cd "$work" && apt-get download -qq -o APT::Sandbox::User=root postfix) >>"$log" 2>&1 ||
    fail "apt-get download postfix failed"
  deb=$(ls "$work"/postfix_*.deb)
  rm -rf "$prefix.new"
  dpkg-deb -x "$deb" "$prefix.new" >>"$log" 2>&1 || fail "dpkg-deb -x $deb failed"
  # What Debian's postinst would put in /etc/postfix, here in the prefix's meta_directory. No
  # dictionary plugin package is unpacked, so the list of dynamic maps stays empty.
  meta="$prefix.new/etc/postfix"
  : >"$meta/dynamicmaps.cf"
  cp "$prefix.new/usr/share/postfix/main.cf.dist" "$meta/main.cf.proto"
  cp "$prefix.new/usr/share/postfix/master.cf.dist" "$meta/master.cf.proto"
  cp "$prefix.new/usr/share/postfix/makedefs.out" "$meta/makedefs.out"
  chgrp postdrop "$prefix.new/usr/sbin/postdrop" "$prefix.new/usr/sbin/postqueue"
  chmod 2755 "$prefix.new/usr/sbin/postdrop" "$prefix.new/usr/sbin/postqueue"
  dpkg-deb -f "$deb" Version >"$prefix.new/.saslkit-version"
  rm -rf "$prefix"
  mv "$prefix.new" "$prefix"
  LD_LIBRARY_PATH="$prefix/usr/lib/postfix" "$prefix/usr/sbin/postconf" -d mail_version \
    >>"$log" 2>&1 || fail "the unpacked postfix does not run"
fi

# Cyrus reads Sendmail's settings from /etc/sasl2/Sendmail.conf; the start script bind-mounts a
# private directory over /etc/sasl2 inside its namespace, which needs the directory to exist.
mkdir -p /etc/sasl2
exit 0
