#!/usr/bin/env bash
# Starts Postfix 3.7 + Dovecot 2.3 SASL as an SMTP test peer on 127.0.0.1:PORT, in the
# foreground, inside its own namespaces (see ../sendmail/sandbox.sh), with everything under STATE
# (created if missing; use a fresh `mktemp -d`):
#   STATE/postfix/conf/       main.cf and master.cf (postfix -c)
#   STATE/postfix/queue/hold/ accepted messages, held (postcat prints them)
#   STATE/postfix.log         Postfix's log (maillog_file, with every SMTP line of the client)
#   STATE/dovecot.conf        Dovecot, auth only; STATE/dovecot.log its log
#   STATE/dovecot/users       smtpuser@example.com/secret and jürgen@example.com/pässwörd
#   STATE/syslog.log          anything logged to syslog
#   STATE/users               username:password, one a line: who may log in
#
#   start.sh STATE PORT
#
# Stop with ../sendmail/stop.sh STATE (or end this process, or, with SASLKIT_PEER_LIFELINE=1,
# close its stdin).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prefix=${SASLKIT_POSTFIX_PREFIX:-/opt/saslkit-postfix}
[[ $# -ge 2 ]] || { echo "usage: start.sh STATE PORT" >&2; exit 2; }
state=$1 port=$2
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
mkdir -p "$conf" "$state/postfix/queue" "$state/dovecot/run" "$state/dovecot/state"
chmod 755 "$state/postfix" "$state/dovecot"
for file in main.cf master.cf; do
  sed -e "s|@STATE@|$state|g" -e "s|@PREFIX@|$prefix|g" -e "s|@PORT@|$port|g" \
    "$here/$file.in" >"$conf/$file"
done
sed -e "s|@STATE@|$state|g" "$here/dovecot.conf.in" >"$state/dovecot.conf"
printf '%s\n' "smtpuser@example.com:{PLAIN}secret" "jürgen@example.com:{PLAIN}pässwörd" \
  >"$state/dovecot/users"
chmod 644 "$state/dovecot/users"
printf '%s\n' smtpuser:secret "jürgen:pässwörd" >"$state/users"
: >"$state/postfix.log"
: >"$state/dovecot.log"
: >"$state/syslog.log"
chmod 644 "$state/postfix.log"

exec bash "$here/../sendmail/sandbox.sh" "$state" mail.example.com \
  bash "$here/run.sh" "$state" "$prefix"
