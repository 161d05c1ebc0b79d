#!/usr/bin/env bash
# The part of start.sh that runs inside the namespaces (see sandbox.sh): puts Cyrus's
# Sendmail.conf in place and runs Sendmail in the foreground.
#
#   run.sh STATE SENDMAIL
set -euo pipefail
state=$1 sendmail=$2

# Cyrus reads the fixed path /etc/sasl2/Sendmail.conf; this mount exists only in the namespace.
mkdir -p /etc/sasl2 2>/dev/null || true
mount --bind "$state/sasl2" /etc/sasl2

"$sendmail" -C "$state/sendmail.cf" -bi >>"$state/syslog.log" 2>&1 || true
# -bD: a daemon that stays in the foreground, so that its end ends the namespace.
exec "$sendmail" -C "$state/sendmail.cf" -bD -X "$state/traffic.log"
