# shellcheck shell=bash
# Shared by the benchmark scripts (sourced; they define step()).

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

# free_port: a TCP port nothing listens on, for a process about to bind it.
free_port() {
  local p
  while true; do
    p=$(( 20000 + RANDOM % 40000 ))
    [[ -z $(ss -Htln "sport = :$p") ]] && { echo "$p"; return; }
  done
}
