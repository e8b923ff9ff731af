#!/usr/bin/env bash
# Brings the repository's docker-compose.yml up for real, with the local override
# (deploy/compose/local.yml: Redis and Prometheus built from Debian packages, no Grafana),
# sends an event through it and sees it delivered, then brings it down:
#
#   1. engine        the running one, or Debian's docker.io started here (stopped at the end)
#   2. images        debian:bookworm-slim, hookrelay:dev (kept from tests/deploy/image.sh when
#                    present), the Redis and Prometheus stand-ins (cached after the first run)
#   3. up            docker-compose up -d: redis, registry, worker-1, worker-2, prometheus, on
#                    free host ports, under a project name of its own
#   4. event         hookctl (docker-compose run) creates a hook to a verifying receiver on the
#                    compose network's gateway and publishes; the signed delivery arrives and
#                    is verified by npm standardwebhooks; the record says SUCCEEDED
#   5. Prometheus    scrapes registry and both workers (up == 1) and sees the delivery counted
#   6. down          docker-compose stop: every hookrelay container exits 0 on SIGTERM; down -v
#
# usage: tests/deploy/compose.sh --tools DIR       (node_modules with standardwebhooks)
# Exit 0 when all passed, 1 on a failure, 2 when no engine can run here (the reason printed).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
[[ "${1:-}" == --tools && -n "${2:-}" ]] || { echo "usage: $0 --tools DIR" >&2; exit 2; }
tools=$(cd "$2" && pwd)
state=$(mktemp -d "${TMPDIR:-/tmp}/hookrelay-compose.XXXXXX")
# shellcheck source=lib/engine.sh
source "$here/lib/engine.sh"
t_all=$SECONDS
export COMPOSE_PROJECT_NAME=hookrelay-ci-$$
export HOOKRELAY_IMAGE=${HOOKRELAY_IMAGE:-hookrelay:dev}
compose=(docker-compose -f "$repo/docker-compose.yml" -f "$repo/deploy/compose/local.yml")
receiver_pid=""
cleanup() {
  [[ -n "$receiver_pid" ]] && kill "$receiver_pid" 2>/dev/null && wait "$receiver_pid" 2>/dev/null
  if [[ -n "${up:-}" ]]; then
    "${compose[@]}" down -v --remove-orphans >"$state/down.log" 2>&1 || tail -n 5 "$state/down.log" >&2
  fi
  engine_down
}
trap cleanup EXIT
die() {
  fail "$*"
  [[ -n "${up:-}" ]] && "${compose[@]}" logs --no-color --tail=15 2>&1 | sed 's/^/    | /' >&2
  for f in "$state"/*.log; do [[ -s "$f" ]] && { echo "--- $f" >&2; tail -n 10 "$f" | sed 's/^/    | /' >&2; }; done
  exit 1
}
command -v docker-compose >/dev/null || {
  [[ $(id -u) -eq 0 ]] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null 2>&1
  command -v docker-compose >/dev/null || { echo "SKIPPED: no docker-compose (apt-get install docker-compose)"; exit 2; }
}

step "1/6 Docker engine"
engine_up
rc=$?
[[ $rc -eq 0 ]] || { echo "SKIPPED: the compose stack is not brought up: $ENGINE_SKIP"; exit 2; }

step "2/6 images: base, $HOOKRELAY_IMAGE, Redis and Prometheus stand-ins"
t0=$SECONDS
base_image || die "no base image"
if $DOCKER image inspect "$HOOKRELAY_IMAGE" >/dev/null 2>&1; then
  echo "    $HOOKRELAY_IMAGE present ($(image_mb "$HOOKRELAY_IMAGE") MB; tests/deploy/image.sh builds and checks it)"
else
  build_image "$HOOKRELAY_IMAGE" || die "cannot build $HOOKRELAY_IMAGE"
fi
"${compose[@]}" build redis prometheus 2>&1 | tee "$state/standins.log" | build_progress
[[ ${PIPESTATUS[0]} -eq 0 ]] || die "the stand-in images did not build"
echo "    images ready in $((SECONDS - t0)) s"

step "3/6 docker-compose up -d (project $COMPOSE_PROJECT_NAME)"
t0=$SECONDS
HOOKRELAY_GRPC_PORT=$(free_port) HOOKRELAY_METRICS_PORT=$(free_port) PROMETHEUS_PORT=$(free_port)
GRAFANA_PORT=$(free_port)
key="compose-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
export HOOKRELAY_GRPC_PORT HOOKRELAY_METRICS_PORT PROMETHEUS_PORT GRAFANA_PORT
export HOOKRELAY_ADMIN_API_KEY=$key HOOKRELAY_WORKER_ALLOW_HTTP=true HOOKRELAY_WORKER_ALLOW_CIDRS=172.16.0.0/12
up=1
"${compose[@]}" up -d --no-build >"$state/up.log" 2>&1 || die "docker-compose up failed: $(tail -n 5 "$state/up.log")"
services=$("${compose[@]}" ps --services --filter status=running | sort | tr '\n' ' ')
[[ "$services" == "prometheus redis registry worker-1 worker-2 " ]] ||
  die "running services are '$services', want prometheus redis registry worker-1 worker-2 (no grafana)"
wait_for 60 "the registry ready" curl -sf "http://127.0.0.1:$HOOKRELAY_METRICS_PORT/readyz" || die "registry not ready"
wait_for 60 "Prometheus ready" curl -sf "http://127.0.0.1:$PROMETHEUS_PORT/-/ready" || die "Prometheus not ready"
echo "    up in $((SECONDS - t0)) s: $services(Grafana left out: no Debian package)"

step "4/6 an event through the stack"
network="${COMPOSE_PROJECT_NAME//[^a-z0-9_-]/}_default"
gateway=$($DOCKER network inspect -f '{{(index .IPAM.Config 0).Gateway}}' "$network") || die "no network $network"
recv_port=$(free_port)
hookctl() { "${compose[@]}" run --rm --no-deps -T hookctl "$@" 2>>"$state/hookctl.log"; }
hook=$(hookctl --json create-webhook --tenant compose --url "http://$gateway:$recv_port/compose" \
  --event-types 'order.*') || die "hookctl create-webhook failed"
secret=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["signing"]["secret"])' <<<"$hook")
HOOKRELAY_RECEIVER_SECRETS="{\"/compose\":\"$secret\"}" node "$here/receiver.mjs" --tools "$tools" \
  --host "$gateway" --port "$recv_port" >"$state/receiver.log" 2>&1 &
receiver_pid=$!
wait_for 10 "the receiver listening on $gateway:$recv_port" grep -q listening "$state/receiver.log" || die "no receiver"
pub=$(hookctl --json publish --tenant compose --type order.created --payload '{"order":{"id":1}}') ||
  die "hookctl publish failed"
delivery=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["delivery_ids"][0])' <<<"$pub")
wait_for 30 "the delivery at the receiver" grep -q "\"id\":\"$delivery\".*\"verified\":true" "$state/receiver.log" ||
  die "delivery $delivery did not arrive verified"
deadline=$((SECONDS + 15))
until hookctl get-delivery --tenant compose --id "$delivery" | grep SUCCEEDED >/dev/null; do
  ((SECONDS < deadline)) || die "the delivery record is not SUCCEEDED"
  sleep 0.5
done
echo "    delivery $delivery: a worker container sent it to $gateway:$recv_port, verified, recorded SUCCEEDED"

step "5/6 Prometheus scrapes the stack"
prom() { curl -sf "http://127.0.0.1:$PROMETHEUS_PORT/api/v1/query" --data-urlencode "query=$1" |
  python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'; }
deadline=$((SECONDS + 60))
until [[ "$(prom 'sum(up{job=~"hookrelay-.*"})')" == 3 && "$(prom 'sum(hookrelay_worker_deliveries_succeeded_total)')" == 1 ]]; do
  ((SECONDS < deadline)) || die "Prometheus: up=$(prom 'sum(up{job=~"hookrelay-.*"})'), succeeded=$(prom 'sum(hookrelay_worker_deliveries_succeeded_total)')"
  sleep 1
done
echo "    3 hookrelay targets up; hookrelay_worker_deliveries_succeeded_total = 1"

step "6/6 docker-compose stop (SIGTERM), down -v"
t0=$SECONDS
"${compose[@]}" stop >"$state/stop.log" 2>&1 || die "docker-compose stop failed"
for s in registry worker-1 worker-2; do
  code=$($DOCKER inspect -f '{{.State.ExitCode}}' "$("${compose[@]}" ps -q "$s")")
  [[ "$code" == 0 ]] || die "$s exited $code on SIGTERM"
done
echo "    registry, worker-1, worker-2 exited 0 on SIGTERM ($((SECONDS - t0)) s)"
"${compose[@]}" down -v --remove-orphans >"$state/down.log" 2>&1 || die "docker-compose down failed"
up=""
echo "COMPOSE OK in $((SECONDS - t_all)) s: up, an event delivered and verified, scraped, down"
