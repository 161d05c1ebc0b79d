#!/usr/bin/env bash
# Stops a peer started by start.sh STATE; the same as ../sendmail/stop.sh STATE.
exec bash "$(dirname "${BASH_SOURCE[0]}")/../sendmail/stop.sh" "$@"
