# Shared by tests/deploy/image.sh and tests/deploy/compose.sh (sourced, not run): a Docker
# engine for the length of one script, and the hookrelay image built on it.
#
#   engine_up          makes `docker info` work. An engine that already answers is used as
#                      it is; otherwise, as root with apt, Debian's docker.io is installed and
#                      dockerd started without NAT (--iptables=false: no container registry
#                      is reachable here anyway, and builds use the host network), and it is
#                      stopped again by engine_down. Returns 2 with ENGINE_SKIP set to the
#                      reason when no engine can run on this machine.
#   engine_down        stops the dockerd that engine_up started (nothing else).
#   base_image         debian:bookworm-slim: pulled, or made by deploy/container/make-base-image.sh.
#   build_image TAG    docker build --network=host with the legacy builder, progress shown.
#   step / timed / fail  progress lines.
#
# Callers set: repo (the repository root) and state (a directory for logs).
# One engine session at a time on a machine: engine_up holds a lock until engine_down, so that
# two checkouts running their tests at once do not stop each other's dockerd.

DOCKER=${DOCKER:-docker}
# mawk (Debian's default awk) reads a pipe in blocks unless told to go line by line.
AWK_LINES=()
awk -W version 2>&1 | grep -q mawk && AWK_LINES=(-W interactive)
engine_pid=""
engine_lock_fd=""

step() { echo "==> $* ($(date -u +%T))"; }
fail() {
  echo "FAIL: $*" >&2
  return 1
}
# timed NAME LOG CMD...: runs CMD with its output in LOG, prints how long it took; on failure
# the end of the log.
timed() {
  local name=$1 log=$2
  shift 2
  local t0=$SECONDS
  if ! "$@" >"$log" 2>&1; then
    tail -n 30 "$log" | sed 's/^/    | /' >&2
    fail "$name (full log: $log)"
    return 1
  fi
  echo "    $name: $((SECONDS - t0)) s"
}

engine_install() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ $(id -u) -ne 0 ]]; then
    ENGINE_SKIP="not root, and ${missing[*]} not installed (run as root, or install them)"
    return 2
  fi
  if ! command -v apt-get >/dev/null; then
    ENGINE_SKIP="no apt-get to install ${missing[*]}"
    return 2
  fi
  echo "    installing Debian packages: ${missing[*]}"
  apt-cache show docker.io >/dev/null 2>&1 ||
    DEBIAN_FRONTEND=noninteractive timeout 300 apt-get update -qq >"$state/apt.log" 2>&1 || true
  if ! DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >>"$state/apt.log" 2>&1; then
    tail -n 20 "$state/apt.log" >&2
    ENGINE_SKIP="apt-get install ${missing[*]} failed (log above)"
    return 2
  fi
}

engine_up() {
  ENGINE_SKIP=""
  mkdir -p "$state"
  local lock="${TMPDIR:-/tmp}/hookrelay-engine.lock"
  [[ -e "$lock" ]] || : >"$lock" 2>/dev/null
  # Opened read-only: flock needs no write access, so every user can share the lock file.
  if command -v flock >/dev/null && [[ -r "$lock" ]] && exec {engine_lock_fd}<"$lock"; then
    if ! flock -n "$engine_lock_fd"; then
      echo "    another hookrelay engine session runs on this machine; waiting for it (at most 30 min)"
      flock -w 1800 "$engine_lock_fd" || { ENGINE_SKIP="the engine lock stayed taken for 30 min"; return 2; }
    fi
  fi
  if timeout 20 $DOCKER info >/dev/null 2>&1; then
    echo "    using the running engine ($($DOCKER version -f 'server {{.Server.Version}}' 2>/dev/null))"
    return 0
  fi
  engine_install || return $?
  if [[ $(id -u) -ne 0 ]]; then
    ENGINE_SKIP="no running Docker engine, and starting dockerd needs root"
    return 2
  fi
  command -v docker >/dev/null || { ENGINE_SKIP="docker.io installed but no docker client on PATH"; return 2; }
  echo "    starting dockerd (overlay2, --iptables=false; log: $state/dockerd.log)"
  dockerd --iptables=false --ip6tables=false >"$state/dockerd.log" 2>&1 &
  engine_pid=$!
  local deadline=$((SECONDS + 60))
  until timeout 5 $DOCKER info >/dev/null 2>&1; do
    if ! kill -0 "$engine_pid" 2>/dev/null || ((SECONDS > deadline)); then
      tail -n 15 "$state/dockerd.log" | sed 's/^/    | /' >&2
      engine_pid=""
      ENGINE_SKIP="dockerd did not start on this machine (its log is above)"
      return 2
    fi
    sleep 0.5
  done
  echo "    dockerd $($DOCKER version -f '{{.Server.Version}}') up in $((60 - deadline + SECONDS)) s (pid $engine_pid; stopped at the end)"
}

engine_down() {
  if [[ -n "$engine_pid" ]]; then
    echo "==> stopping the dockerd this script started (pid $engine_pid)"
    kill -TERM "$engine_pid" 2>/dev/null || true
    local deadline=$((SECONDS + 30))
    while kill -0 "$engine_pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    kill -0 "$engine_pid" 2>/dev/null && kill -KILL "$engine_pid" 2>/dev/null
    wait "$engine_pid" 2>/dev/null || true
    engine_pid=""
  fi
  if [[ -n "$engine_lock_fd" ]]; then
    exec {engine_lock_fd}>&-
    engine_lock_fd=""
  fi
}

base_image() {
  DOCKER=$DOCKER "$repo/deploy/container/make-base-image.sh"
}

# Keeps a build's output readable: the builder's steps, apt's progress every 25 packages, and
# ninja's [n/N] at most every 10 %.
build_progress() {
  awk "${AWK_LINES[@]}" '
    BEGIN { last = -1 }
    /^Step [0-9]+\/[0-9]+ : / { print "    " substr($0, 1, 110); fflush(); apt = 0; next }
    /^Setting up / { if (++apt % 25 == 0) { print "    apt: " apt " packages set up"; fflush() } next }
    /^#[0-9]+ \[[^]]+\] / && !seen[$1 $2]++ { print "    " substr($0, 1, 110); fflush(); next }
    match($0, /\[[0-9]+\/[0-9]+\]/) {
      split(substr($0, RSTART + 1, RLENGTH - 2), nn, "/")
      pct = int(nn[1] * 10 / nn[2])
      if (pct != last) { last = pct; printf "    ninja [%d/%d] %d %%\n", nn[1], nn[2], pct * 10; fflush() }
    }'
}

# build_image TAG [docker build options...]: the legacy builder on the host network (apt in the
# build stage needs it: the engine runs without NAT). BUILDKIT=1 builds with BuildKit instead.
build_image() {
  local tag=$1
  shift
  local log="$state/build-${tag//[:\/]/_}.log" t0=$SECONDS rc client=$DOCKER
  local -a env=(DOCKER_BUILDKIT=0) extra=()
  if [[ "${BUILDKIT:-0}" == 1 ]]; then
    buildkit_client || return $?
    client=$BUILDKIT_CLIENT env=("${BUILDKIT_ENV[@]}") extra=(--progress=plain)
  fi
  { env "${env[@]}" $client build --network=host -t "$tag" "${extra[@]}" \
      --build-arg REVISION="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
      "$@" "$repo" 2>&1
    echo $? >"$log.rc"; } | tee "$log" | build_progress
  rc=$(cat "$log.rc")
  if [[ $rc -ne 0 ]]; then
    tail -n 30 "$log" | sed 's/^/    | /' >&2
    fail "docker build $tag (full log: $log)"
    return 1
  fi
  BUILD_SECONDS=$((SECONDS - t0))
  echo "    built $tag in $BUILD_SECONDS s ($(image_mb "$tag") MB)"
}

# A client that builds with BuildKit without pulling anything: `docker buildx` (the docker
# driver uses the engine's own BuildKit), or a client older than 23 with DOCKER_BUILDKIT=1
# (e.g. Debian 12's docker.io); newer clients without buildx cannot. Sets BUILDKIT_CLIENT
# and BUILDKIT_ENV, or returns 2 with ENGINE_SKIP.
buildkit_client() {
  local c v
  for c in "$DOCKER" docker /usr/bin/docker; do
    command -v "$c" >/dev/null || continue
    if "$c" buildx version >/dev/null 2>&1; then
      BUILDKIT_CLIENT="$c buildx" BUILDKIT_ENV=(BUILDX_NO_DEFAULT_ATTESTATIONS=1)
      return 0
    fi
    v=$("$c" version -f '{{.Client.Version}}' 2>/dev/null | cut -d. -f1)
    if [[ "$v" =~ ^[0-9]+$ ]] && ((v < 23)); then
      BUILDKIT_CLIENT=$c BUILDKIT_ENV=(DOCKER_BUILDKIT=1)
      return 0
    fi
  done
  ENGINE_SKIP="no docker client that builds with BuildKit (no buildx plugin, and the client is 23 or newer)"
  return 2
}

image_mb() { $DOCKER image inspect -f '{{.Size}}' "$1" | awk '{ printf "%.0f", $1 / 1e6 }'; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_for SECONDS WHAT CMD...: polls CMD until it succeeds.
wait_for() {
  local limit=$1 what=$2
  local deadline=$((SECONDS + limit))
  shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { fail "$what within $limit s"; return 1; }
    sleep 0.2
  done
}
