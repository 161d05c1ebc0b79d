# Sourced by the peer install scripts: which Debian packages are missing, and installing them.

# missing_packages PKG...: sets MISSING to the packages dpkg does not list as installed.
missing_packages() {
  MISSING=()
  local pkg status
  for pkg in "$@"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [[ "$status" == "installed" ]] || MISSING+=("$pkg")
  done
}

# install_missing NAME: installs MISSING with apt-get, quietly; on failure (no apt-get, not root,
# apt-get failed) says why on stderr, as NAME, and returns 1.
install_missing() {
  local name="$1" log
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "$name: missing ${MISSING[*]} and apt-get is not available; install them by hand" >&2
    return 1
  fi
  if [[ $(id -u) -ne 0 ]]; then
    echo "$name: missing ${MISSING[*]}; run as root (or: sudo apt-get install ${MISSING[*]})" >&2
    return 1
  fi
  echo "$name: installing ${MISSING[*]}" >&2
  log=$(mktemp)
  if ! DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$log" 2>&1 ||
    ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${MISSING[@]}" >>"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "$name: apt-get could not install ${MISSING[*]}" >&2
    return 1
  fi
  rm -f "$log"
}
