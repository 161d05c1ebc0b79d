#!/usr/bin/env bash
# The part of start.sh that runs inside the namespaces: Dovecot, then Postfix's master in the
# foreground. When either ends, this script ends, and with it the namespace.
#
#   run.sh STATE PREFIX
set -euo pipefail
state=$1 prefix=$2
conf="$state/postfix/conf"
export LD_LIBRARY_PATH="$prefix/usr/lib/postfix"

dovecot -F -c "$state/dovecot.conf" &
dovecot=$!
# start-fg creates the queue directories, checks permissions and runs master in the foreground.
"$prefix/usr/sbin/postfix" -c "$conf" start-fg >>"$state/postfix.log" 2>&1 &
master=$!
set +e
wait -n "$dovecot" "$master"
status=$?
echo "run.sh: dovecot or postfix ended (status $status)" >>"$state/postfix.log"
exit "$status"
