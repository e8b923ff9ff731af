#!/usr/bin/env bash
# Builds the hookrelay image from the repository's Dockerfile and runs it the way the Helm chart
# does, on a real Docker engine (started here when none runs, stopped again at the end):
#
#   1. engine      the running one, or Debian's docker.io started with --iptables=false
#   2. base        debian:bookworm-slim: pulled, or made with debootstrap from the host's mirror
#   3. build       docker build with the legacy builder (layer cache: seconds when nothing
#                  changed, the compile alone when sources did), and with BuildKit once per
#                  version of the Dockerfile
#   4. image       size within budget; the binaries' libraries all resolve; `hookctl --help` exits 0
#   5. smoke       registry and worker containers with the chart's hardening (uid 65532,
#                  read-only root fs, no capabilities, no privilege escalation) on a Redis;
#                  hookctl from the image creates hooks and publishes; an independent verifier
#                  (npm standardwebhooks) checks the signed delivery; the record says SUCCEEDED
#   6. SIGTERM     the worker, stopped while a delivery is in flight, finishes it and exits 0
#                  within its drain timeout; the registry exits 0 within its 10 s drain
#
# usage: tests/deploy/image.sh --tools DIR [--no-buildkit]
#   --tools DIR     node_modules holding standardwebhooks (tests/deploy/check.sh installs it)
# env: HOOKRELAY_IMAGE (tag to build, default hookrelay:dev), HOOKRELAY_IMAGE_MAX_MB (size
#      budget, default 150), HOOKRELAY_BUILDKIT=always (BuildKit build even when this Dockerfile
#      was built before), DOCKER (client, default docker).
# Exit 0 when all passed, 1 on a failure, 2 when no engine can run here (the reason printed).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
tools=""
buildkit=true
while [[ $# -gt 0 ]]; do
  case $1 in
    --tools) tools=$(cd "$2" && pwd); shift 2 ;;
    --no-buildkit) buildkit=false; shift ;;
    *) echo "usage: $0 --tools DIR [--no-buildkit]" >&2; exit 2 ;;
  esac
done
[[ -n "$tools" ]] || { echo "usage: $0 --tools DIR [--no-buildkit]" >&2; exit 2; }
image=${HOOKRELAY_IMAGE:-hookrelay:dev}
max_mb=${HOOKRELAY_IMAGE_MAX_MB:-150}
state=$(mktemp -d "${TMPDIR:-/tmp}/hookrelay-image.XXXXXX")
# shellcheck source=lib/engine.sh
source "$here/lib/engine.sh"

tag=hookrelay-smoke-$$
pids=()
cleanup() {
  $DOCKER rm -f "$tag-registry" "$tag-worker" >/dev/null 2>&1
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  wait "${pids[@]}" 2>/dev/null
  engine_down
}
trap cleanup EXIT
die() {
  fail "$*"
  for f in "$state"/*.log; do
    [[ -s "$f" ]] && { echo "--- $f" >&2; tail -n 15 "$f" | sed 's/^/    | /' >&2; }
  done
  for c in registry worker; do
    echo "--- container $c" >&2
    $DOCKER logs "$tag-$c" 2>&1 | tail -n 15 | sed 's/^/    | /' >&2
  done
  exit 1
}

step "1/6 Docker engine"
engine_up
rc=$?
if [[ $rc -ne 0 ]]; then
  echo "SKIPPED: the image is not built or run: $ENGINE_SKIP"
  exit 2
fi

step "2/6 base image debian:bookworm-slim"
base_image || die "no base image"

step "3/6 docker build $image (legacy builder)"
# The legacy builder's cache is its intermediate images. The build stage is tagged too, so
# that the images this replaces (the previous image and build stage) can be removed without
# losing the cache: a CI machine does not fill up with one build stage per commit.
cache_tag="${image%%:*}-build-stage:cache"
previous=$($DOCKER image inspect -f '{{.Id}}' "$image" "$cache_tag" 2>/dev/null)
build_image "$image" || die "the legacy builder could not build the Dockerfile"
legacy_seconds=$BUILD_SECONDS
DOCKER_BUILDKIT=0 $DOCKER build -q --network=host --target build -t "$cache_tag" "$repo" >/dev/null ||
  die "cannot tag the build stage"
current=$($DOCKER image inspect -f '{{.Id}}' "$image" "$cache_tag")
for id in $previous; do
  grep -qF "$id" <<<"$current" || $DOCKER image rm "$id" >/dev/null 2>&1 || true
done
if $buildkit; then
  # BuildKit shares no cache with the legacy builder, so a second full build would cost as much
  # as the first. What it checks is the Dockerfile itself, so it runs once per Dockerfile on
  # this engine: the image it made keeps the file's hash in a label.
  dockerfile_sha=$(cat "$repo/Dockerfile" "$repo/.dockerignore" | sha256sum | cut -c1-16)
  bk_tag="hookrelay-buildkit-check:$dockerfile_sha"
  if [[ "${HOOKRELAY_BUILDKIT:-}" != always ]] && $DOCKER image inspect "$bk_tag" >/dev/null 2>&1; then
    step "3/6 BuildKit: this Dockerfile ($dockerfile_sha) was already built with BuildKit on this engine"
  else
    step "3/6 docker build with BuildKit (no cache shared with the legacy builder)"
    if BUILDKIT=1 build_image "$bk_tag" --label "org.hookrelay.dockerfile-sha=$dockerfile_sha"; then
      echo "    BuildKit built this Dockerfile in $BUILD_SECONDS s (legacy builder: $legacy_seconds s)"
      $DOCKER image ls --format '{{.Repository}}:{{.Tag}}' hookrelay-buildkit-check | grep -v ":$dockerfile_sha\$" |
        xargs -r $DOCKER image rm >/dev/null 2>&1
    elif [[ -n "${ENGINE_SKIP:-}" ]]; then
      echo "    SKIPPED BuildKit build: $ENGINE_SKIP"
    else
      die "BuildKit could not build the Dockerfile"
    fi
  fi
fi

step "4/6 the image"
mb=$(image_mb "$image")
echo "    size $mb MB (budget $max_mb MB)"
((mb <= max_mb)) || die "the image is $mb MB, over its budget of $max_mb MB"
user=$($DOCKER image inspect -f '{{.Config.User}}' "$image")
[[ "$user" == "65532:65532" ]] || die "the image's USER is '$user', not 65532:65532"
missing=$($DOCKER run --rm --network=none "$image" sh -c \
  'ldd /usr/local/bin/webhook-registry /usr/local/bin/delivery-worker /usr/local/bin/hookctl | grep "not found"')
[[ -z "$missing" ]] || die "libraries missing in the image: $missing"
echo "    every library of the three binaries resolves"
help=$($DOCKER run --rm --network=none "$image" hookctl --help 2>&1)
help_rc=$?
grep -q "create-webhook" <<<"$help" || die "hookctl --help does not list its commands: $(head -n 3 <<<"$help")"
# Checked to the end, so that the smoke test below still runs when only this fails.
late_failures=()
if [[ $help_rc -eq 0 ]]; then
  echo "    hookctl --help exits 0 and lists the commands"
else
  fail "hookctl --help exited $help_rc (it must exit 0, as the Dockerfile's example does); going on"
  late_failures+=("hookctl --help exited $help_rc, not 0")
fi

step "5/6 smoke: registry + worker containers hardened as in the chart, on a Redis"
redis_port=$(free_port) grpc_port=$(free_port) reg_metrics=$(free_port) wrk_metrics=$(free_port) recv_port=$(free_port)
key="smoke-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
# The chart's securityContext: runAsUser/Group 65532, readOnlyRootFilesystem, drop ALL,
# allowPrivilegeEscalation false; an emptyDir on /tmp. Host network: the engine has no NAT.
hard=(--network=host --user 65532:65532 --read-only --tmpfs /tmp:size=64m --cap-drop=ALL
  --security-opt no-new-privileges:true)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$state" \
  >"$state/redis.log" 2>&1 &
pids+=($!)
wait_for 10 "redis-server answering" redis-cli -p "$redis_port" ping || die "no Redis"
echo "    redis-server on 127.0.0.1:$redis_port"

$DOCKER run -d --name "$tag-registry" "${hard[@]}" -e HOOKRELAY_ADMIN_API_KEY="$key" "$image" \
  webhook-registry --grpc_address="127.0.0.1:$grpc_port" --metrics_address="127.0.0.1:$reg_metrics" \
  --redis_url="redis://127.0.0.1:$redis_port" --allow_http >/dev/null || die "docker run registry"
$DOCKER run -d --name "$tag-worker" "${hard[@]}" -e HOOKRELAY_REDIS_URL="redis://127.0.0.1:$redis_port" \
  "$image" delivery-worker --metrics_address="127.0.0.1:$wrk_metrics" --allow_http \
  --allow_cidrs=127.0.0.0/8 --drain_timeout=20s >/dev/null || die "docker run worker"
wait_for 30 "webhook-registry ready" curl -sf "http://127.0.0.1:$reg_metrics/readyz" || die "registry not ready"
wait_for 30 "delivery-worker ready" curl -sf "http://127.0.0.1:$wrk_metrics/readyz" || die "worker not ready"
echo "    registry ready (gRPC :$grpc_port), worker ready (metrics :$wrk_metrics)"

# What the kernel says about the running processes, not what we asked for.
for c in registry worker; do
  status=$($DOCKER exec "$tag-$c" cat /proc/1/status) || die "cannot read /proc/1/status in $c"
  uid=$(awk '/^Uid:/ { print $2 }' <<<"$status") capeff=$(awk '/^CapEff:/ { print $2 }' <<<"$status")
  nnp=$(awk '/^NoNewPrivs:/ { print $2 }' <<<"$status")
  [[ "$uid" == 65532 && "$capeff" == 0000000000000000 && "$nnp" == 1 ]] ||
    die "$c runs with uid $uid, CapEff $capeff, NoNewPrivs $nnp (want 65532, 0, 1)"
  rootfs=$($DOCKER exec "$tag-$c" awk '$2 == "/" { print $4 }' /proc/1/mounts)
  [[ ",$rootfs," == *,ro,* ]] || die "$c's root filesystem is mounted '$rootfs', not read-only"
  $DOCKER exec "$tag-$c" sh -c 'echo probe >/tmp/probe' || die "$c cannot write to its /tmp"
  echo "    $c: uid 65532, no capabilities, no_new_privs, root filesystem read-only"
done

hookctl() {
  $DOCKER run --rm --network=host "${hard[@]:1}" -e HOOKRELAY_API_KEY="$key" "$image" \
    hookctl --address="127.0.0.1:$grpc_port" "$@"
}
# wait_succeeded ID: polls the delivery record (through hookctl) until it says SUCCEEDED.
wait_succeeded() {
  local deadline=$((SECONDS + 15))
  until hookctl get-delivery --tenant smoke --id "$1" 2>/dev/null | grep SUCCEEDED >/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.3
  done
}
json_field() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval("d"+sys.argv[1]))' "$1"; }
fast=$(hookctl --json create-webhook --tenant smoke --url "http://127.0.0.1:$recv_port/fast" \
  --event-types 'review.*') || die "hookctl create-webhook failed: $fast"
slow=$(hookctl --json create-webhook --tenant smoke --url "http://127.0.0.1:$recv_port/slow" \
  --event-types 'slow.*') || die "hookctl create-webhook failed: $slow"
echo "    hookctl (in a container) created webhooks $(json_field '["id"]' <<<"$fast") and $(json_field '["id"]' <<<"$slow")"
secrets=$(python3 -c 'import json,sys; print(json.dumps({"/fast": sys.argv[1], "/slow": sys.argv[2]}))' \
  "$(json_field '["signing"]["secret"]' <<<"$fast")" "$(json_field '["signing"]["secret"]' <<<"$slow")")
HOOKRELAY_RECEIVER_SECRETS=$secrets node "$here/receiver.mjs" --tools "$tools" --port "$recv_port" \
  --hold-ms 3000 >"$state/receiver.log" 2>&1 &
pids+=($!)
wait_for 10 "the verifying receiver listening" grep -q listening "$state/receiver.log" || die "no receiver"

pub=$(hookctl --json publish --tenant smoke --type review.created --payload '{"review":{"id":42}}' \
  --idempotency-key smoke-1) || die "hookctl publish failed: $pub"
delivery=$(json_field '["delivery_ids"][0]' <<<"$pub")
wait_for 30 "the delivery at the receiver" grep -q "\"id\":\"$delivery\"" "$state/receiver.log" ||
  die "the delivery never arrived"
grep -m 1 "\"id\":\"$delivery\"" "$state/receiver.log" | grep '"verified":true' >/dev/null ||
  die "standardwebhooks could not verify the signature: $(grep "$delivery" "$state/receiver.log" | head -n 1)"
echo "    delivery $delivery received, signature verified by npm standardwebhooks"
wait_succeeded "$delivery" ||
  die "the delivery record is not SUCCEEDED"
echo "    hookctl get-delivery: SUCCEEDED"

# stop_in_time NAME DRAIN_SECONDS: docker stop (SIGTERM, then SIGKILL after 40 s); the
# container must exit 0 within its drain time. Sets `took`.
stop_in_time() {
  local t0 code
  t0=$(date +%s.%N)
  $DOCKER stop -t 40 "$tag-$1" >/dev/null
  took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  code=$($DOCKER inspect -f '{{.State.ExitCode}}' "$tag-$1")
  [[ "$code" == 0 ]] || die "the $1 exited $code after SIGTERM"
  awk -v t="$took" -v d="$2" 'BEGIN { exit !(t < d) }' || die "the $1 took $took s to stop (drain $2 s)"
  $DOCKER logs "$tag-$1" 2>&1 | grep '"msg":"shutting down"' >/dev/null || die "the $1 did not log its shutdown"
}

step "6/6 SIGTERM: the worker drains an in-flight delivery, both exit 0 in time"
pub=$(hookctl --json publish --tenant smoke --type slow.created --payload '{"slow":true}') ||
  die "hookctl publish failed: $pub"
slow_delivery=$(json_field '["delivery_ids"][0]' <<<"$pub")
wait_for 30 "the slow delivery in flight" grep -q "\"id\":\"$slow_delivery\"" "$state/receiver.log" ||
  die "the slow delivery never arrived"
stop_in_time worker 20
grep -q "\"event\":\"answered\".*\"id\":\"$slow_delivery\"" "$state/receiver.log" ||
  die "the worker exited before its in-flight delivery was answered"
wait_succeeded "$slow_delivery" ||
  die "the delivery in flight at SIGTERM is not SUCCEEDED"
echo "    worker: SIGTERM with a delivery in flight (receiver holding it 3 s) -> delivered, recorded SUCCEEDED, exit 0 after $took s"
stop_in_time registry 10
echo "    registry: SIGTERM -> exit 0 after $took s"

if [[ ${#late_failures[@]} -gt 0 ]]; then
  fail "the smoke test passed, but: ${late_failures[*]}"
  exit 1
fi
echo "IMAGE OK: $image ($mb MB) built (legacy ${legacy_seconds} s), hardened containers delivered a verified event and drained on SIGTERM"
