#!/usr/bin/env bash
# Stops a test peer started by start.sh STATE (Sendmail, or Postfix + Dovecot): kills the
# namespace's init, and the kernel kills every other process in the namespace with it. Waits at
# most 5 s. Leaves STATE in place for inspection.
#
#   stop.sh STATE
set -euo pipefail
state=${1:?usage: stop.sh STATE}
pidfile="$state/sandbox.pid"
[[ -f "$pidfile" ]] || exit 0
pid=$(cat "$pidfile")

alive() { [[ -r "/proc/$1/stat" ]] && [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]; }

# Only a process that is still our unshare is ours to kill.
if alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q '^unshare '; then
  init=$(ps -o pid= --ppid "$pid" | tr -d ' ' | head -n 1)
  # unshare ignores SIGTERM while it waits, and the namespace's init ignores every signal from
  # outside but SIGKILL; --kill-child turns unshare's death into the init's.
  if [[ -n "$init" ]]; then kill -KILL "$init" 2>/dev/null || true; fi
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    { [[ -n "$init" ]] && alive "$init"; } || alive "$pid" || break
    sleep 0.1
  done
fi
rm -f "$pidfile"
