#!/usr/bin/env bash
# Starts Sendmail 8.17 + Cyrus SASL as an SMTP test peer on 127.0.0.1:PORT, in the foreground,
# inside its own namespaces (see sandbox.sh), with everything under STATE (created if missing;
# use a fresh `mktemp -d`):
#   STATE/sendmail.cf   generated from sendmail.mc.in
#   STATE/sasl2/        bind-mounted over /etc/sasl2 inside the namespace (Sendmail.conf)
#   STATE/sasldb2       users smtpuser/secret and jürgen/pässwörd, realm example.com
#   STATE/queue/        accepted messages (delivery mode queueonly): qf* and df* files
#   STATE/traffic.log   every SMTP line in and out (sendmail -X)
#   STATE/syslog.log    Sendmail's and Cyrus's syslog lines (LogLevel 20)
#   STATE/users         username:password, one a line: who may log in
#   STATE/tls/          with --tls: ca.pem, server.pem/.key, client.pem/.key (../postfix/certs.sh)
#
#   start.sh STATE PORT [--no-layers] [--mechanisms "NAME NAME..."] [--tls]
#
# --no-layers sets confAUTH_MAX_BITS 0: DIGEST-MD5 then offers only qop=auth. Without it the
# challenge offers qop="auth,auth-int,auth-conf" and five ciphers, as the server of the report.
# --mechanisms sets what Sendmail offers and trusts (confAUTH_MECHANISMS, TRUST_AUTH_MECH) and
# what Cyrus loads (mech_list), in that order; default "DIGEST-MD5 CRAM-MD5 LOGIN PLAIN". Cyrus
# 2.1.28's libscram (libsasl2-modules) serves SCRAM-SHA-1 and SCRAM-SHA-256 from the same sasldb.
# --tls offers STARTTLS with the certificates of ../postfix/certs.sh (STATE/tls/) and asks for a
# client certificate; Sendmail gives a verified client's subject to Cyrus as SASL_AUTH_EXTERNAL,
# so EXTERNAL, when listed, is offered after such a STARTTLS and logs in as that subject.
# Stop with stop.sh STATE (or end this process, or, with SASLKIT_PEER_LIFELINE=1, close its stdin).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
usage='usage: start.sh STATE PORT [--no-layers] [--mechanisms "NAME NAME..."] [--tls]'
[[ $# -ge 2 ]] || { echo "$usage" >&2; exit 2; }
state=$1 port=$2 layers=true tls=false mechanisms="DIGEST-MD5 CRAM-MD5 LOGIN PLAIN"
shift 2
while [[ $# -gt 0 ]]; do
  case $1 in
    --no-layers) layers=false; shift ;;
    --mechanisms) mechanisms=${2:?$usage}; shift 2 ;;
    --tls) tls=true; shift ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
# Names go into m4 and into Cyrus's config: SASL mechanism names only (RFC 4422 §3.1).
[[ $mechanisms =~ ^[A-Z0-9_-]+( [A-Z0-9_-]+)*$ ]] ||
  { echo "start.sh: not a list of mechanism names: $mechanisms" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "start.sh: Sendmail needs root (namespaces, port, sasldb)" >&2; exit 1; }
sendmail=$(command -v sendmail-mta || echo /usr/sbin/sendmail-mta)
[[ -x "$sendmail" ]] || { echo "start.sh: sendmail-mta missing; run scripts/peers/mail.sh" >&2; exit 1; }

mkdir -p "$state"
state=$(cd "$state" && pwd)
# Sendmail refuses group- or world-writable directories on the paths it uses.
chmod 755 "$state"
mkdir -p "$state/queue" "$state/sasl2"
chmod 700 "$state/queue"

max_bits=""
[[ $layers == false ]] && max_bits="define(\`confAUTH_MAX_BITS', \`0')"
tls_m4=""
if [[ $tls == true ]]; then
  mkdir -p "$state/tls"
  bash "$here/../postfix/certs.sh" "$state/tls" >"$state/tls/openssl.log" 2>&1 || {
    cat "$state/tls/openssl.log" >&2
    echo "start.sh: the test certificates could not be made" >&2
    exit 1
  }
  t="$state/tls"
  tls_m4="define(\`confCACERT_PATH', \`$t')define(\`confCACERT', \`$t/ca.pem')"
  tls_m4+="define(\`confSERVER_CERT', \`$t/server.pem')define(\`confSERVER_KEY', \`$t/server.key')"
fi
sed -e "s|@STATE@|$state|g" -e "s|@PORT@|$port|g" -e "s|@AUTH_MAX_BITS@|$max_bits|" \
  -e "s|@MECHANISMS@|$mechanisms|g" -e "s|@TLS@|$tls_m4|" "$here/sendmail.mc.in" \
  >"$state/sendmail.mc"
m4 "$state/sendmail.mc" >"$state/sendmail.cf"
sed -e "s|@STATE@|$state|g" -e "s|@MECHANISMS@|$mechanisms|g" "$here/Sendmail.conf.in" \
  >"$state/sasl2/Sendmail.conf"
printf 'hosts\tfiles\naliases\tfiles\n' >"$state/service.switch"
printf 'mail.example.com\n' >"$state/local-host-names"
printf 'postmaster: root\n' >"$state/aliases"
: >"$state/statistics"
: >"$state/helpfile"
: >"$state/traffic.log"
: >"$state/syslog.log"

# Users of realm example.com, as Sendmail's Cyrus application name "Sendmail" sees them.
rm -f "$state/sasldb2"
add_user() {
  printf '%s' "$2" | saslpasswd2 -f "$state/sasldb2" -a Sendmail -u example.com -p -c "$1"
}
add_user smtpuser secret
printf '%s\n' smtpuser:secret >"$state/users"
# Cyrus stores names as bytes; a non-ASCII one is accepted when this succeeds.
if add_user "jürgen" "pässwörd"; then
  printf '%s\n' "jürgen:pässwörd" >>"$state/users"
else
  echo "start.sh: saslpasswd2 refused the user jürgen" >&2
fi
chmod 600 "$state/sasldb2"

exec bash "$here/sandbox.sh" "$state" mail.example.com bash "$here/run.sh" "$state" "$sendmail"
