#!/usr/bin/env bash
# Starts Postfix 3.7 + Dovecot 2.3 SASL as an SMTP test peer on 127.0.0.1:PORT, in the
# foreground, inside its own namespaces (see ../sendmail/sandbox.sh), with everything under STATE
# (created if missing; use a fresh `mktemp -d`):
#   STATE/postfix/conf/       main.cf and master.cf (postfix -c)
#   STATE/postfix/queue/hold/ accepted messages, held (postcat prints them)
#   STATE/postfix.log         Postfix's log (maillog_file, with every SMTP line of the client)
#   STATE/dovecot.conf        Dovecot, auth only; STATE/dovecot.log its log
#   STATE/dovecot/users       smtpuser@example.com/secret and jürgen@example.com/pässwörd (and,
#                             when SCRAM-SHA-256 is offered, scramuser@example.com, stored only as
#                             a SCRAM-SHA-256 secret made by `doveadm pw`)
#   STATE/syslog.log          anything logged to syslog
#   STATE/users               username:password, one a line: who may log in
#   STATE/oauth/hs256.key     with OAUTHBEARER or XOAUTH2: the HS256 key (base64) with which
#                             Dovecot's oauth2 passdb checks JWTs locally (no HTTP);
#                             STATE/oauth/issuer the `iss` it requires
#   STATE/tls/                with --tls: ca.pem (a test CA), server.pem/.key (mail.example.com,
#                             127.0.0.1), client.pem/.key (CN=smtpuser, signed by the CA)
#
#   STATE/dovecot/mail/       with --submission: the (unused) mail store of Dovecot's submission
#
#   start.sh STATE PORT [--mechanisms "NAME NAME..."] [--tls] [--submission PORT2]
#
# --mechanisms: what Dovecot offers (auth_mechanisms), default "PLAIN LOGIN CRAM-MD5 DIGEST-MD5";
# Dovecot 2.3 also has SCRAM-SHA-1 SCRAM-SHA-256 OAUTHBEARER XOAUTH2 EXTERNAL ANONYMOUS. With
# ANONYMOUS, Postfix's smtpd_sasl_security_options drops noanonymous (which would hide it), and
# the anonymous user may relay (check_sasl_access).
# --tls: Postfix offers STARTTLS and asks for a client certificate (smtpd_tls_ask_ccert), which it
# verifies against the test CA and names in the Received header. Postfix does not hand the
# certificate to Dovecot, so Dovecot's EXTERNAL cannot succeed behind it (see
# packages/smtp/interop/live_mechanisms_test.ts).
# --submission PORT2 (needs --tls, EXTERNAL and PLAIN): Dovecot's own SMTP submission server on
# 127.0.0.1:PORT2 too (submission.conf.in), same mechanisms, STARTTLS with client certificates,
# relaying to this Postfix as smtpuser; there EXTERNAL logs in as the certificate's CN.
#
# Stop with ../sendmail/stop.sh STATE (or end this process, or, with SASLKIT_PEER_LIFELINE=1,
# close its stdin).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prefix=${SASLKIT_POSTFIX_PREFIX:-/opt/saslkit-postfix}
usage='usage: start.sh STATE PORT [--mechanisms "NAME NAME..."] [--tls] [--submission PORT]'
[[ $# -ge 2 ]] || { echo "$usage" >&2; exit 2; }
state=$1 port=$2 mechanisms="PLAIN LOGIN CRAM-MD5 DIGEST-MD5" tls=false submission=""
shift 2
while [[ $# -gt 0 ]]; do
  case $1 in
    --mechanisms) mechanisms=${2:?$usage}; shift 2 ;;
    --tls) tls=true; shift ;;
    --submission) submission=${2:?$usage}; shift 2 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
# The names go into Dovecot's and Postfix's configuration: SASL names only (RFC 4422 §3.1).
[[ $mechanisms =~ ^[A-Z0-9_-]+( [A-Z0-9_-]+)*$ ]] ||
  { echo "start.sh: not a list of mechanism names: $mechanisms" >&2; exit 2; }
has() { [[ " $mechanisms " == *" $1 "* ]]; }
if [[ -n $submission ]]; then
  [[ $submission =~ ^[0-9]+$ && $tls == true ]] && has EXTERNAL && has PLAIN ||
    { echo "start.sh: --submission PORT needs --tls, EXTERNAL and PLAIN" >&2; exit 2; }
fi
[[ $(id -u) -eq 0 ]] || { echo "start.sh: Postfix needs root (namespaces, users)" >&2; exit 1; }
[[ -x "$prefix/usr/sbin/postfix" ]] ||
  { echo "start.sh: no Postfix in $prefix; run scripts/peers/mail.sh" >&2; exit 1; }
command -v dovecot >/dev/null 2>&1 ||
  { echo "start.sh: dovecot missing; run scripts/peers/mail.sh" >&2; exit 1; }

mkdir -p "$state"
state=$(cd "$state" && pwd)
# Postfix and Dovecot drop privileges; their users must reach the files below.
chmod 755 "$state"
conf="$state/postfix/conf"
# Postfix creates the queue subdirectories and its data directory with the owners it wants.
mkdir -p "$conf" "$state/postfix/queue" "$state/dovecot/run" "$state/dovecot/state" \
  "$state/dovecot/conf.d"
chmod 755 "$state/postfix" "$state/dovecot" "$state/dovecot/conf.d"

security_options=noanonymous
if has ANONYMOUS; then security_options=""; fi
for file in main.cf master.cf; do
  sed -e "s|@STATE@|$state|g" -e "s|@PREFIX@|$prefix|g" -e "s|@PORT@|$port|g" \
    -e "s|@SASL_SECURITY_OPTIONS@|$security_options|" "$here/$file.in" >"$conf/$file"
done
if has ANONYMOUS; then
  # permit_sasl_authenticated never permits an ANONYMOUS login (smtpd_sasl_proto.c: "This test
  # fails for clients that use anonymous authentication"); check_sasl_access, which looks only
  # at a client that did authenticate, lets Dovecot's anonymous user relay too.
  sed -i -e 's|^smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination$|smtpd_relay_restrictions = permit_sasl_authenticated, check_sasl_access inline:{ anonymous=OK }, reject_unauth_destination|' "$conf/main.cf"
  grep -q 'check_sasl_access inline' "$conf/main.cf" ||
    { echo "start.sh: main.cf.in's smtpd_relay_restrictions changed; update start.sh" >&2; exit 1; }
fi

# Dovecot: the password passdb serves every mechanism but the OAuth ones; those get the oauth2
# passdb (oauth2.conf.in), which checks an HS256-signed JWT with a key it looks up in a file
# dict under default/HS256/default (no azp and no kid in the token: "default").
lower=${mechanisms,,}
password_mechanisms=""
if has OAUTHBEARER || has XOAUTH2; then
  for name in $lower; do
    [[ $name == oauthbearer || $name == xoauth2 ]] || password_mechanisms+="$name "
  done
  password_mechanisms=${password_mechanisms% }
  # Empty would mean every mechanism.
  [[ -n $password_mechanisms ]] || password_mechanisms=none
  keys="$state/dovecot/oauth-keys"
  mkdir -p "$keys/default/HS256" "$state/oauth"
  chmod 755 "$keys" "$keys/default" "$keys/default/HS256"
  head -c 32 /dev/urandom | base64 -w0 >"$state/oauth/hs256.key"
  printf '%s' "https://issuer.example.com" >"$state/oauth/issuer"
  cp "$state/oauth/hs256.key" "$keys/default/HS256/default"
  chmod 644 "$keys/default/HS256/default"
  sed -e "s|@KEYS@|$keys|" -e "s|@ISSUER@|$(cat "$state/oauth/issuer")|" \
    "$here/oauth2.conf.in" >"$state/dovecot/oauth2.conf.ext"
  chmod 644 "$state/dovecot/oauth2.conf.ext"
  printf 'passdb {\n  driver = oauth2\n  mechanisms = oauthbearer xoauth2\n  args = %s\n}\n' \
    "$state/dovecot/oauth2.conf.ext" >"$state/dovecot/conf.d/oauth2.conf"
fi
sed -e "s|@STATE@|$state|g" -e "s|@MECHANISMS@|$lower|" \
  -e "s|@PASSWORD_MECHANISMS@|$password_mechanisms|" "$here/dovecot.conf.in" >"$state/dovecot.conf"
printf '%s\n' "smtpuser@example.com:{PLAIN}secret" "jürgen@example.com:{PLAIN}pässwörd" \
  >"$state/dovecot/users"
printf '%s\n' smtpuser:secret "jürgen:pässwörd" >"$state/users"
if has SCRAM-SHA-256; then
  # Only the salted secret (RFC 5802 StoredKey and ServerKey): SCRAM-SHA-256, PLAIN and LOGIN
  # work for this user; CRAM-MD5, DIGEST-MD5 and SCRAM-SHA-1 cannot.
  scram=$(doveadm -c "$state/dovecot.conf" pw -s SCRAM-SHA-256 -p "stored scram")
  printf '%s\n' "scramuser@example.com:$scram" >>"$state/dovecot/users"
  printf '%s\n' "scramuser:stored scram" >>"$state/users"
fi
chmod 644 "$state/dovecot/users"

if [[ $tls == true ]]; then
  tlsdir="$state/tls"
  mkdir -p "$tlsdir"
  chmod 755 "$tlsdir"
  bash "$here/certs.sh" "$tlsdir" >"$tlsdir/openssl.log" 2>&1 || {
    cat "$tlsdir/openssl.log" >&2
    echo "start.sh: the test certificates could not be made" >&2
    exit 1
  }
  # Replaces main.cf's "smtpd_tls_security_level = none" (a second entry would draw warnings).
  sed -i -e '/^smtpd_tls_security_level = none$/d' "$conf/main.cf"
  sed -e "s|@TLS@|$tlsdir|g" "$here/tls.cf.in" >>"$conf/main.cf"
fi
if [[ -n $submission ]]; then
  # Dovecot's own SMTP submission server on 127.0.0.1:SUBMISSION, relaying through this Postfix:
  # where Dovecot itself terminates TLS, it hands the client certificate's CN to its auth
  # process (cert_username), and EXTERNAL works.
  sed -e "s|@STATE@|$state|g" -e "s|@PORT@|$port|g" -e "s|@SUBMISSION_PORT@|$submission|g" \
    "$here/submission.conf.in" >"$state/dovecot/conf.d/submission.conf"
  chmod 644 "$state/dovecot/conf.d/submission.conf"
  # The submission process runs as the userdb's nobody.
  mkdir -p "$state/dovecot/mail"
  chmod 1777 "$state/dovecot/mail"
fi
if has EXTERNAL; then
  # Postfix hides EXTERNAL by default (smtpd_sasl_mechanism_filter = !external, static:rest:
  # "Postfix support for that is not implemented"); announce every mechanism, to show what
  # happens. (An empty filter discards every mechanism, and smtpd exits.)
  printf '\n# EXTERNAL asked for: announce it.\nsmtpd_sasl_mechanism_filter = static:all\n' \
    >>"$conf/main.cf"
fi
: >"$state/postfix.log"
: >"$state/dovecot.log"
: >"$state/syslog.log"
chmod 644 "$state/postfix.log"

exec bash "$here/../sendmail/sandbox.sh" "$state" mail.example.com \
  bash "$here/run.sh" "$state" "$prefix"
