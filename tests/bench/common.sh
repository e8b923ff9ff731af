# shellcheck shell=bash
# Shared by the benchmark scripts (sourced from the repository root).

# Progress lines carry the seconds since the script started (T0, set on sourcing).
T0=$(date +%s)
step() { echo "==> $* ($(( $(date +%s) - T0 ))s)"; }
die() { echo "error: $*" >&2; exit 1; }

# install_packages PKG...: installs the Debian packages that are missing (idempotent).
install_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo=sudo
  step "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# free_port: a TCP port nothing listens on, for a process about to bind it. Taken below the
# kernel's ephemeral range (ip_local_port_range), where the benchmark's own thousands of
# client connections get their ports: a port in that range can be free of listeners and
# still held by a connection, and then the bind fails.
free_port() {
  local p low=32768
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  (( low > 11000 )) || low=32768
  while true; do
    p=$(( 10000 + RANDOM % (low - 10000) ))
    [[ -z $(ss -Htan "sport = :$p") ]] && { echo "$p"; return; }
  done
}
