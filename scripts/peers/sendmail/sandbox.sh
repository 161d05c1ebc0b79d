#!/usr/bin/env bash
# Runs a mail server test peer in its own mount, UTS and PID namespace, so that
# - every name lookup stays on the machine: a private /etc/hosts and a resolv.conf pointing at
#   127.0.0.1 are bind-mounted over the real ones, and the host name is HOSTNAME;
# - its syslog lines are captured: a private /dev (the few device nodes a daemon needs) holds a
#   /dev/log socket served by a small Perl receiver that appends to STATE/syslog.log;
# - stopping it is one kill: when COMMAND (PID 2 in the namespace) or the namespace's init ends,
#   the kernel kills every process left in the namespace, daemons and their children included;
# - the host is not touched: files that must sit at fixed paths (/etc/sasl2/Sendmail.conf) are
#   bind-mounted by COMMAND inside the namespace and vanish with it.
#
#   sandbox.sh STATE HOSTNAME COMMAND [ARGS...]
#
# Stays in the foreground until COMMAND ends. With SASLKIT_PEER_LIFELINE=1 it also ends when its
# standard input reaches EOF, so a test runner that dies takes the server with it. Its own PID
# (that of unshare) goes to STATE/sandbox.pid; stop.sh kills it. Shared by scripts/peers/sendmail/
# and scripts/peers/postfix/.
set -euo pipefail

if [[ "${1:-}" != "--inside" ]]; then
  [[ $# -ge 3 ]] || { echo "usage: sandbox.sh STATE HOSTNAME COMMAND [ARGS...]" >&2; exit 2; }
  state=$1
  echo $$ >"$state/sandbox.pid"
  # --kill-child: when unshare dies, however it dies, the namespace's init gets SIGKILL.
  exec unshare --mount --uts --pid --fork --kill-child --mount-proc --propagation private \
    bash "${BASH_SOURCE[0]}" --inside "$@"
fi

shift
state=$1 hostname=$2
shift 2

hostname "$hostname"
short=${hostname%%.*}
mkdir -p "$state/etc"
printf '127.0.0.1\t%s %s localhost\n::1\tlocalhost\n' "$hostname" "$short" >"$state/etc/hosts"
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$state/etc/resolv.conf"
mount --bind "$state/etc/hosts" /etc/hosts
# resolv.conf may be a symbolic link (systemd-resolved, resolvconf): mount over its target.
mount --bind "$state/etc/resolv.conf" "$(readlink -f /etc/resolv.conf)"

dev="$state/dev"
mkdir -p "$dev"
for node in null zero full random urandom tty; do
  [[ -e "/dev/$node" ]] || continue
  : >"$dev/$node"
  mount --bind "/dev/$node" "$dev/$node"
done
if [[ -d /dev/shm ]]; then mkdir -p "$dev/shm" && mount --bind /dev/shm "$dev/shm"; fi
ln -sfn /proc/self/fd "$dev/fd"
ln -sfn /proc/self/fd/0 "$dev/stdin"
ln -sfn /proc/self/fd/1 "$dev/stdout"
ln -sfn /proc/self/fd/2 "$dev/stderr"

# The receiver binds STATE/dev/log before /dev is replaced, so a daemon never misses it.
perl -e '
  use strict; use warnings; use Socket; use IO::Handle;
  my ($path, $out) = @ARGV;
  socket(my $s, PF_UNIX, SOCK_DGRAM, 0) or die "socket: $!";
  unlink $path;
  bind($s, pack_sockaddr_un($path)) or die "bind $path: $!";
  chmod 0666, $path;
  open(my $log, ">>", $out) or die "$out: $!";
  $log->autoflush(1);
  while (defined(recv($s, my $msg, 65536, 0))) {
    $msg =~ s/^<\d+>//; $msg =~ s/\0$//; $msg =~ s/\n+$//;
    print $log $msg, "\n";
  }
' "$dev/log" "$state/syslog.log" </dev/null >/dev/null &
# Wait (bounded) until the socket exists.
for _ in $(seq 1 100); do [[ -S "$dev/log" ]] && break; sleep 0.05; done
[[ -S "$dev/log" ]] || { echo "sandbox.sh: the syslog receiver did not start" >&2; exit 1; }
mount --rbind "$dev" /dev

exec 3<&0
"$@" &
server=$!
if [[ "${SASLKIT_PEER_LIFELINE:-}" == "1" ]]; then
  { cat >/dev/null; kill -TERM "$server" 2>/dev/null; } <&3 &
fi
exec 3<&-
set +e
wait "$server"
status=$?
# Leaving PID 1 ends the namespace and with it every daemon COMMAND started.
exit "$status"
