#!/usr/bin/env bash
# Live check of the dashboard and the alert rules against real services:
#   redis-server, webhook-registry and delivery-worker from BUILD_DIR and a small HTTP
#   receiver, all on free loopback ports; hookctl creates webhooks and publishes events for
#   ~20 s (receivers answering 204, 500 and 410, so successes, retries, failures, dead
#   deliveries and disabled hooks all happen); a real Prometheus (Debian package) scrapes both
#   /metrics endpoints every second with the alert rules loaded. Then every dashboard and alert
#   expression is evaluated through the Prometheus HTTP API (tests/deploy/live-eval.mjs): each
#   must parse, use only metric names and labels the services export, and dashboard queries
#   must return data. Finally both services get SIGTERM and must exit 0.
#
# usage: tests/deploy/prometheus_live.sh BUILD_DIR
# env:   HOOKRELAY_LIVE_SECONDS (publishing time, default 20)
#        HOOKRELAY_LIVE_REPORT  (write the evaluated queries and sample results as JSON here)
#        HOOKRELAY_LIVE_PLOTS   (directory: render the dashboard's panels from the live data to
#                                dashboard.png there; needs Debian's python3-matplotlib)
#        HOOKRELAY_DEPLOY_TOOLS (npm tools dir, as in check.sh)
# Every process it starts is stopped on exit (trap), also on failure or Ctrl-C.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
build=$(cd "$1" && pwd)
tools=${HOOKRELAY_DEPLOY_TOOLS:-$repo/.cache/deploy-tools}
seconds=${HOOKRELAY_LIVE_SECONDS:-20}
registry_bin=$build/services/registry/webhook-registry
worker_bin=$build/services/worker/delivery-worker
hookctl_bin=$build/services/hookctl/hookctl
for b in "$registry_bin" "$worker_bin" "$hookctl_bin"; do
  [ -x "$b" ] || { echo "missing binary $b" >&2; exit 2; }
done
for t in redis-server redis-cli prometheus curl python3 node; do
  command -v "$t" >/dev/null || { echo "missing tool $t (tests/deploy/check.sh installs it)" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/hookrelay-live.XXXXXX")
declare -A pids=()
stop_all() {
  local name pid
  for name in worker registry prometheus receiver redis; do
    pid=${pids[$name]:-}
    [ -n "$pid" ] || continue
    kill -TERM "$pid" 2>/dev/null || true
  done
  for name in worker registry prometheus receiver redis; do
    pid=${pids[$name]:-}
    [ -n "$pid" ] || continue
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
on_exit() {
  local rc=$?
  stop_all
  if [ $rc -ne 0 ]; then
    echo "    --- last log lines (the run failed) ---"
    for f in "$work"/*.log; do
      [ -s "$f" ] || continue
      echo "    [$(basename "$f")]"
      tail -n 15 "$f" | sed 's/^/      /'
    done
  fi
  rm -rf "$work"
  exit $rc
}
trap on_exit EXIT
trap 'exit 130' INT TERM

say() { echo "    $*"; }
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      echo "    timed out waiting for $what" >&2
      return 1
    fi
    sleep 0.2
  done
}
alive() { # alive NAME: the process is still running
  kill -0 "${pids[$1]}" 2>/dev/null || { echo "    $1 exited early" >&2; return 1; }
}

redis_port=$(free_port)
grpc_port=$(free_port)
reg_metrics_port=$(free_port)
wrk_metrics_port=$(free_port)
receiver_port=$(free_port)
prom_port=$(free_port)

# ------------------------------------------------------------------------------- redis
mkdir -p "$work/redis"
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$work/redis" --daemonize no >"$work/redis.log" 2>&1 &
pids[redis]=$!
wait_for 10 "redis-server" redis-cli -p "$redis_port" ping
say "redis-server on 127.0.0.1:$redis_port"

# ------------------------------------------------------------------------------- receiver
cat >"$work/receiver.py" <<'EOF'
import http.server, sys, time
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        code = {"/ok": 204, "/slow": 204, "/fail": 500, "/gone": 410}.get(self.path, 404)
        if self.path == "/slow":
            time.sleep(0.2)
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
python3 "$work/receiver.py" "$receiver_port" >"$work/receiver.log" 2>&1 &
pids[receiver]=$!
wait_for 10 "receiver" curl -fsS "http://127.0.0.1:$receiver_port/"
say "receiver on 127.0.0.1:$receiver_port (/ok, /slow: 204, /fail: 500, /gone: 410)"

# ------------------------------------------------------------------------------- services
redis_url=redis://127.0.0.1:$redis_port/0
"$registry_bin" --grpc_address="127.0.0.1:$grpc_port" --metrics_address="127.0.0.1:$reg_metrics_port" \
  --redis_url="$redis_url" --insecure_no_auth --allow_http --key_prefix=hookrelay-live: \
  >"$work/registry.log" 2>&1 &
pids[registry]=$!
"$worker_bin" --redis_url="$redis_url" --metrics_address="127.0.0.1:$wrk_metrics_port" \
  --allow_cidrs=127.0.0.0/8 --allow_http --key_prefix=hookrelay-live: --consumer_name=live-worker-1 \
  --drain_timeout=5s >"$work/worker.log" 2>&1 &
pids[worker]=$!
wait_for 30 "webhook-registry /readyz" curl -fsS "http://127.0.0.1:$reg_metrics_port/readyz"
alive registry
wait_for 30 "delivery-worker /readyz" curl -fsS "http://127.0.0.1:$wrk_metrics_port/readyz"
alive worker
say "webhook-registry gRPC 127.0.0.1:$grpc_port metrics :$reg_metrics_port; delivery-worker metrics :$wrk_metrics_port"

# ------------------------------------------------------------------------------- prometheus
cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $repo/deploy/prometheus/alerts.yml
scrape_configs:
  - job_name: hookrelay-registry
    static_configs:
      - targets: ["127.0.0.1:$reg_metrics_port"]
  - job_name: hookrelay-worker
    static_configs:
      - targets: ["127.0.0.1:$wrk_metrics_port"]
EOF
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prometheus-data" \
  --web.listen-address="127.0.0.1:$prom_port" --log.level=warn >"$work/prometheus.log" 2>&1 &
pids[prometheus]=$!
wait_for 30 "prometheus" curl -fsS "http://127.0.0.1:$prom_port/-/ready"
say "prometheus $(prometheus --version 2>&1 | head -1 | cut -d' ' -f3) on 127.0.0.1:$prom_port, scraping every 1s"

# ------------------------------------------------------------------------------- traffic
# Global flags go before the command, in --flag=value form. The registry runs
# --insecure_no_auth; hookctl says so with --insecure when it has that flag.
insecure=()
if "$hookctl_bin" --helpfull 2>&1 | grep -- '-insecure' >/dev/null; then insecure=(--insecure); fi
hookctl() { timeout 10 "$hookctl_bin" --address="127.0.0.1:$grpc_port" "${insecure[@]}" "$@"; }
base=http://127.0.0.1:$receiver_port
for path in ok slow fail gone; do
  hookctl create-webhook --tenant live --url "$base/$path" --event-types 'order.*' >>"$work/hookctl.log" 2>&1 ||
    { echo "    hookctl create-webhook ($path) failed:" >&2; tail -5 "$work/hookctl.log" >&2; exit 1; }
done
hookctl list-webhooks --tenant live >>"$work/hookctl.log" 2>&1 || say "(hookctl list-webhooks failed; not needed here)"
say "created 4 webhooks (204, slow 204, 500, 410) for tenant live"

say "publishing events for ${seconds}s ..."
traffic_start=$(date +%s)
published=0
errors=0
end=$((SECONDS + seconds))
while [ $SECONDS -lt $end ]; do
  if hookctl publish --tenant live --type order.created --payload "{\"n\":$published}" >>"$work/hookctl.log" 2>&1; then
    published=$((published + 1))
  else
    errors=$((errors + 1))
    [ $errors -le 20 ] || { echo "    too many failed publishes" >&2; tail -5 "$work/hookctl.log" >&2; exit 1; }
  fi
  # Requests the registry must reject (INVALID_ARGUMENT, NOT_FOUND), so the error panels
  # and the code label have data.
  if [ $((published % 25)) -eq 0 ]; then
    hookctl publish --tenant live --type order.invalid --payload 'not json' >>"$work/hookctl-rejected.log" 2>&1 || true
    hookctl get-webhook --tenant live --id wh_00000000000000000000000000 >>"$work/hookctl-rejected.log" 2>&1 || true
  fi
  alive registry
  alive worker
  sleep 0.05
done
[ $published -gt 0 ] || { echo "    no event was published" >&2; exit 1; }
say "published $published events ($errors failed publishes)"
sleep 3 # a few more scrapes after the last deliveries
succeeded=$(curl -fsS "http://127.0.0.1:$wrk_metrics_port/metrics" | awk '/^hookrelay_worker_deliveries_succeeded_total/ { s += $2 } END { print s + 0 }')
say "worker reports $succeeded successful deliveries"
[ "${succeeded%.*}" -gt 0 ] || { echo "    the worker delivered nothing" >&2; exit 1; }

# ------------------------------------------------------------------------------- evaluate
# The chart's KEDA query, with the selector this Prometheus has (no namespace label here).
"$tools/helm/helm" template live "$repo/helm/hookrelay" --set worker.keda.enabled=true \
  --set worker.keda.prometheusServerAddress=http://127.0.0.1:9090 \
  --set-string 'worker.keda.lagSelector=job="hookrelay-worker"' >"$work/keda.yaml"
node "$here/extract-queries.mjs" --tools "$tools" --dashboard "$repo/deploy/grafana/hookrelay.json" \
  --alerts "$repo/deploy/prometheus/alerts.yml" --rendered "$work/keda.yaml" --format json >"$work/queries.json"
node "$here/live-eval.mjs" --prom "http://127.0.0.1:$prom_port" --queries "$work/queries.json" \
  ${HOOKRELAY_LIVE_REPORT:+--report "$HOOKRELAY_LIVE_REPORT"}

if [ -n "${HOOKRELAY_LIVE_PLOTS:-}" ]; then
  if /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
    mkdir -p "$HOOKRELAY_LIVE_PLOTS"
    /usr/bin/python3 "$here/render_dashboard.py" --prom "http://127.0.0.1:$prom_port" \
      --dashboard "$repo/deploy/grafana/hookrelay.json" --start "$traffic_start" --end "$(date +%s)" \
      --out "$HOOKRELAY_LIVE_PLOTS/dashboard.png"
  else
    say "HOOKRELAY_LIVE_PLOTS is set but python3-matplotlib is missing (apt-get install python3-matplotlib): no PNG"
  fi
fi

# ------------------------------------------------------------------------------- shutdown
for name in worker registry; do
  pid=${pids[$name]}
  kill -TERM "$pid"
  rc=0
  deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "    $name did not exit within 30s of SIGTERM" >&2
    exit 1
  fi
  wait "$pid" || rc=$?
  unset "pids[$name]"
  [ $rc -eq 0 ] || { echo "    $name exited $rc after SIGTERM (want 0)" >&2; exit 1; }
  say "$name exited 0 after SIGTERM"
done
say "live check passed"
