#!/usr/bin/env node
// Generates deploy/grafana/hookrelay.json, the hookrelay Grafana dashboard.
//
//   node deploy/grafana/generate-dashboard.mjs            # rewrite hookrelay.json
//   node deploy/grafana/generate-dashboard.mjs --check    # exit 1 if hookrelay.json is stale
//
// The JSON is the artifact operators import or provision; this script keeps its ids, grid
// positions and query shapes consistent. Edit the panels here, then regenerate (and copy it to
// helm/hookrelay/files/hookrelay.json; tests/deploy/check.sh verifies both).
//
// Every query filters on the dashboard variables `job` and `instance` and uses the templated
// datasource `${datasource}`.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "hookrelay.json");

const DS = { type: "prometheus", uid: "${datasource}" };
const SEL = 'job=~"$job",instance=~"$instance"';
const RI = "$__rate_interval";

const rate = (metric, extra = "") =>
  `rate(${metric}{${SEL}${extra ? "," + extra : ""}}[${RI}])`;
const quantile = (q, metric, by = "") =>
  `histogram_quantile(${q}, sum by (${by ? by + ", " : ""}le) (${rate(metric + "_bucket")}))`;

let nextId = 1;
let y = 0;
const panels = [];

function row(title) {
  panels.push({
    type: "row",
    id: nextId++,
    title,
    collapsed: false,
    panels: [],
    gridPos: { h: 1, w: 24, x: 0, y },
  });
  y += 1;
}

// Lays out `specs` left to right in one band of height h.
function band(h, specs) {
  let x = 0;
  for (const s of specs) {
    panels.push(makePanel(s, { h, w: s.w, x, y }));
    x += s.w;
  }
  if (x > 24) throw new Error(`band wider than 24: ${specs.map((s) => s.title)}`);
  y += h;
}

function targets(list) {
  return list.map(([expr, legendFormat], i) => ({
    refId: String.fromCharCode(65 + i),
    datasource: DS,
    editorMode: "code",
    expr,
    legendFormat,
    range: true,
  }));
}

function makePanel(s, gridPos) {
  const base = {
    type: s.type ?? "timeseries",
    id: nextId++,
    title: s.title,
    description: s.description,
    datasource: DS,
    gridPos,
    targets: targets(s.targets),
  };
  if (base.type === "stat") {
    return {
      ...base,
      fieldConfig: {
        defaults: {
          unit: s.unit ?? "short",
          decimals: s.decimals,
          color: { mode: "thresholds" },
          thresholds: {
            mode: "absolute",
            steps: s.steps ?? [{ color: "green", value: null }],
          },
          mappings: [],
        },
        overrides: [],
      },
      options: {
        reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false },
        colorMode: "value",
        graphMode: "area",
        justifyMode: "auto",
        orientation: "auto",
        textMode: "auto",
        wideLayout: true,
        showPercentChange: false,
        percentChangeColorMode: "standard",
      },
    };
  }
  const custom = {
    drawStyle: s.bars ? "bars" : "line",
    lineWidth: 1,
    fillOpacity: s.bars ? 80 : 10,
    gradientMode: "none",
    showPoints: "never",
    spanNulls: false,
    stacking: { mode: s.stack ? "normal" : "none", group: "A" },
    axisPlacement: "auto",
    axisSoftMin: 0,
    thresholdsStyle: { mode: s.objective !== undefined ? "line+area" : "off" },
  };
  return {
    ...base,
    fieldConfig: {
      defaults: {
        unit: s.unit ?? "short",
        min: s.min,
        max: s.max,
        color: { mode: "palette-classic" },
        custom,
        thresholds: {
          mode: "absolute",
          steps:
            s.objective !== undefined
              ? [
                  { color: "transparent", value: null },
                  { color: "red", value: s.objective },
                ]
              : [{ color: "green", value: null }],
        },
        mappings: [],
      },
      overrides: [],
    },
    options: {
      legend: {
        showLegend: true,
        displayMode: s.legendTable ? "table" : "list",
        placement: "bottom",
        calcs: s.legendTable ? ["mean", "max", "lastNotNull"] : [],
      },
      tooltip: { mode: "multi", sort: "desc" },
    },
  };
}

// ------------------------------------------------------------------------- overview
row("Overview");
band(4, [
  {
    type: "stat", w: 4, title: "Delivery attempts / s", unit: "reqps", decimals: 1,
    description: "HTTP delivery attempts per second, all outcomes.",
    targets: [[`sum(${rate("hookrelay_worker_attempts_total")})`, "attempts/s"]],
  },
  {
    type: "stat", w: 4, title: "Attempt success ratio", unit: "percentunit", decimals: 1,
    description: "Share of delivery attempts answered 2xx within the timeout.",
    steps: [
      { color: "red", value: null },
      { color: "orange", value: 0.75 },
      { color: "green", value: 0.95 },
    ],
    targets: [[
      `sum(${rate("hookrelay_worker_attempts_total", 'outcome="success"')}) / sum(${rate("hookrelay_worker_attempts_total")})`,
      "success ratio",
    ]],
  },
  {
    type: "stat", w: 4, title: "Stream lag", unit: "short",
    description: "Delivery tasks in the stream not yet read by any worker.",
    steps: [
      { color: "green", value: null },
      { color: "orange", value: 1000 },
      { color: "red", value: 50000 },
    ],
    targets: [[`max(hookrelay_stream_lag{${SEL}})`, "lag"]],
  },
  {
    type: "stat", w: 4, title: "Retry set size", unit: "short",
    description: "Deliveries waiting for their next retry.",
    targets: [[`max(hookrelay_retry_set_size{${SEL}})`, "retrying"]],
  },
  {
    type: "stat", w: 4, title: "Dead deliveries (range)", unit: "short", decimals: 0,
    description: "Deliveries that ended FAILED during the selected time range.",
    steps: [
      { color: "green", value: null },
      { color: "red", value: 1 },
    ],
    targets: [[`sum(increase(hookrelay_worker_deliveries_dead_total{${SEL}}[$__range]))`, "dead"]],
  },
  {
    type: "stat", w: 4, title: "Targets up", unit: "short", decimals: 0,
    description: "Scrape targets up, per job (workers and registries).",
    targets: [[`sum by (job) (up{${SEL}})`, "{{job}}"]],
  },
]);

// ------------------------------------------------------------------------- deliveries
row("Deliveries");
band(8, [
  {
    w: 12, title: "Delivery attempts by outcome and status class", unit: "reqps", stack: true,
    description: "Attempts per second, by outcome (success/failure) and HTTP status class (none = no response).",
    targets: [[
      `sum by (outcome, status_class) (${rate("hookrelay_worker_attempts_total")})`,
      "{{outcome}} {{status_class}}",
    ]],
  },
  {
    w: 12, title: "Success ratio", unit: "percentunit", min: 0, max: 1,
    description: "Attempt success ratio, and the share of finished deliveries that succeeded (vs. dead).",
    targets: [
      [
        `sum(${rate("hookrelay_worker_attempts_total", 'outcome="success"')}) / sum(${rate("hookrelay_worker_attempts_total")})`,
        "attempts",
      ],
      [
        `sum(${rate("hookrelay_worker_deliveries_succeeded_total")}) / (sum(${rate("hookrelay_worker_deliveries_succeeded_total")}) + sum(${rate("hookrelay_worker_deliveries_dead_total")}))`,
        "deliveries",
      ],
    ],
  },
]);
band(8, [
  {
    w: 12, title: "Failures by reason", unit: "reqps", stack: true, legendTable: true,
    description: "Failed attempts per second by reason: timeout, connect, dns, tls, http_4xx, http_5xx, blocked (SSRF guard), invalid_target, render.",
    targets: [[`sum by (reason) (${rate("hookrelay_worker_failures_total")})`, "{{reason}}"]],
  },
  {
    w: 12, title: "Deliveries finished and retried", unit: "ops",
    description: "Deliveries per second that succeeded, died (FAILED), or were scheduled for a retry.",
    targets: [
      [`sum(${rate("hookrelay_worker_deliveries_succeeded_total")})`, "succeeded"],
      [`sum(${rate("hookrelay_worker_deliveries_dead_total")})`, "dead"],
      [`sum(${rate("hookrelay_worker_retries_scheduled_total")})`, "retries scheduled"],
    ],
  },
]);
band(7, [
  {
    w: 12, title: "Dead deliveries and disabled hooks", unit: "short", bars: true,
    description: "Deliveries that ended FAILED and webhooks disabled by the worker (410 Gone or failing endpoint), per interval.",
    targets: [
      [`sum(increase(hookrelay_worker_deliveries_dead_total{${SEL}}[${RI}]))`, "dead deliveries"],
      [`sum(increase(hookrelay_worker_hooks_disabled_total{${SEL}}[${RI}]))`, "hooks disabled"],
    ],
  },
  {
    w: 12, title: "Reclaimed stream entries", unit: "ops",
    description: "Entries taken over from workers that died mid-delivery (XAUTOCLAIM after the visibility timeout).",
    targets: [[`sum(${rate("hookrelay_worker_reclaimed_total")})`, "reclaimed"]],
  },
]);
band(7, [
  {
    w: 12, title: "Deliveries held by rate limits and pauses", unit: "ops",
    description: "Times per second a delivery waited, or was put back on the retry set, for its hook's rate limit or a receiver's Retry-After pause (not attempts).",
    targets: [[`sum(${rate("hookrelay_worker_rate_limited_total")})`, "held"]],
  },
  {
    w: 12, title: "Time waiting for rate limits and pauses", unit: "short",
    description: "Seconds of waiting per second (deliveries waiting at once, on average) for hooks' rate limits and receivers' Retry-After pauses.",
    targets: [[`sum(${rate("hookrelay_worker_rate_limit_wait_seconds_total")})`, "waiting"]],
  },
]);

// ------------------------------------------------------------------------- latency
row("Latency");
band(8, [
  {
    w: 12, title: "Attempt duration percentiles", unit: "s",
    description: "Duration of one HTTP delivery attempt (connect to response).",
    targets: [
      [quantile(0.5, "hookrelay_worker_attempt_duration_seconds"), "p50"],
      [quantile(0.9, "hookrelay_worker_attempt_duration_seconds"), "p90"],
      [quantile(0.99, "hookrelay_worker_attempt_duration_seconds"), "p99"],
    ],
  },
  {
    w: 12, title: "End-to-end latency percentiles (publish to delivered)", unit: "s", objective: 10,
    description: "Time from publish to a successful delivery; the red area is above the 10 s p99 objective of the HookrelayDeliveryLatencyP99High alert.",
    targets: [
      [quantile(0.5, "hookrelay_worker_delivery_latency_seconds"), "p50"],
      [quantile(0.9, "hookrelay_worker_delivery_latency_seconds"), "p90"],
      [quantile(0.99, "hookrelay_worker_delivery_latency_seconds"), "p99"],
    ],
  },
]);

// ------------------------------------------------------------------------- queue
row("Queue");
band(8, [
  {
    w: 8, title: "Stream lag and pending", unit: "short",
    description: "lag: entries not yet read by the consumer group; pending: read but not yet acknowledged (in flight or held by a dead worker).",
    targets: [
      [`max(hookrelay_stream_lag{${SEL}})`, "lag"],
      [`max(hookrelay_stream_pending{${SEL}})`, "pending"],
    ],
  },
  {
    w: 8, title: "Retry set size", unit: "short",
    description: "Deliveries scheduled for a later retry.",
    targets: [[`max(hookrelay_retry_set_size{${SEL}})`, "retry set"]],
  },
  {
    w: 8, title: "In-flight requests", unit: "short", stack: true,
    description: "HTTP requests in flight per worker (bounded by max_in_flight).",
    targets: [[`sum by (instance) (hookrelay_worker_inflight_requests{${SEL}})`, "{{instance}}"]],
  },
]);

// ------------------------------------------------------------------------- registry
row("Registry");
band(8, [
  {
    w: 8, title: "Registry RPC rate by method", unit: "reqps", stack: true,
    description: "gRPC calls per second to webhook-registry, by method.",
    targets: [[`sum by (method) (${rate("hookrelay_registry_rpcs_total")})`, "{{method}}"]],
  },
  {
    w: 8, title: "Registry RPC errors by code", unit: "reqps", stack: true, legendTable: true,
    description: "gRPC calls per second that ended with a status other than OK, by method and code. Server errors (INTERNAL, UNAVAILABLE, ...) feed the HookrelayRegistryErrorRate alert.",
    targets: [[
      `sum by (method, code) (${rate("hookrelay_registry_rpcs_total", 'code!~"(?i)ok"')})`,
      "{{method}} {{code}}",
    ]],
  },
  {
    w: 8, title: "Registry RPC latency p99 by method", unit: "s", objective: 0.5,
    description: "99th percentile gRPC latency by method; the red area is above the 500 ms objective.",
    targets: [[
      quantile(0.99, "hookrelay_registry_rpc_duration_seconds", "method"),
      "{{method}} p99",
    ]],
  },
]);
band(7, [
  {
    w: 12, title: "Events published and deliveries fanned out", unit: "ops",
    description: "Events accepted per second, delivery tasks created per second (one per matching hook), and publishes answered from the idempotency key.",
    targets: [
      [`sum(${rate("hookrelay_registry_events_published_total")})`, "events published"],
      [`sum(${rate("hookrelay_registry_deliveries_fanned_out_total")})`, "deliveries fanned out"],
      [`sum(${rate("hookrelay_registry_publish_duplicates_total")})`, "duplicate publishes"],
    ],
  },
  {
    w: 12, title: "Registry RPC latency p50 / p90 / p99", unit: "s",
    description: "gRPC latency over all methods.",
    targets: [
      [quantile(0.5, "hookrelay_registry_rpc_duration_seconds"), "p50"],
      [quantile(0.9, "hookrelay_registry_rpc_duration_seconds"), "p90"],
      [quantile(0.99, "hookrelay_registry_rpc_duration_seconds"), "p99"],
    ],
  },
]);

// ------------------------------------------------------------------------- per pod
row("Per pod");
band(8, [
  {
    w: 8, title: "Attempts per worker", unit: "reqps", legendTable: true,
    description: "Delivery attempts per second per worker pod: a worker far below the others is stuck or starved.",
    targets: [[`sum by (instance) (${rate("hookrelay_worker_attempts_total")})`, "{{instance}}"]],
  },
  {
    w: 8, title: "Failure ratio per worker", unit: "percentunit", min: 0, max: 1,
    description: "Failed share of attempts per worker: one worker much worse than the others points at its node or network.",
    targets: [[
      `sum by (instance) (${rate("hookrelay_worker_attempts_total", 'outcome="failure"')}) / sum by (instance) (${rate("hookrelay_worker_attempts_total")})`,
      "{{instance}}",
    ]],
  },
  {
    w: 8, title: "Attempt duration p99 per worker", unit: "s",
    description: "99th percentile attempt duration per worker.",
    targets: [[quantile(0.99, "hookrelay_worker_attempt_duration_seconds", "instance"), "{{instance}}"]],
  },
]);
band(7, [
  {
    w: 12, title: "RPC rate per registry", unit: "reqps", legendTable: true,
    description: "gRPC calls per second per registry pod (gRPC connections are long-lived: uneven spread means clients need client-side balancing).",
    targets: [[`sum by (instance) (${rate("hookrelay_registry_rpcs_total")})`, "{{instance}}"]],
  },
  {
    w: 12, title: "Deliveries succeeded per worker", unit: "ops",
    description: "Successful deliveries per second per worker pod.",
    targets: [[`sum by (instance) (${rate("hookrelay_worker_deliveries_succeeded_total")})`, "{{instance}}"]],
  },
]);

const dashboard = {
  uid: "hookrelay",
  title: "hookrelay",
  description: "Webhook deliveries, queue, latency and registry RPCs of a hookrelay installation.",
  tags: ["hookrelay", "webhooks"],
  editable: true,
  graphTooltip: 1,
  fiscalYearStartMonth: 0,
  liveNow: false,
  refresh: "30s",
  schemaVersion: 39,
  version: 1,
  time: { from: "now-1h", to: "now" },
  timepicker: {},
  timezone: "browser",
  weekStart: "",
  links: [],
  annotations: {
    list: [
      {
        builtIn: 1,
        datasource: { type: "grafana", uid: "-- Grafana --" },
        enable: true,
        hide: true,
        iconColor: "rgba(0, 211, 255, 1)",
        name: "Annotations & Alerts",
        type: "dashboard",
      },
    ],
  },
  templating: {
    list: [
      {
        name: "datasource",
        label: "Data source",
        type: "datasource",
        query: "prometheus",
        hide: 0,
        includeAll: false,
        multi: false,
        options: [],
        refresh: 1,
        regex: "",
        skipUrlSync: false,
      },
      {
        name: "job",
        label: "Job",
        description: "Scrape jobs of hookrelay (hookrelay-worker, hookrelay-registry).",
        type: "query",
        datasource: DS,
        query: { query: "label_values(up, job)", refId: "PrometheusVariableQueryEditor-VariableQuery" },
        regex: "/.*hookrelay.*/",
        current: { selected: true, text: ["All"], value: ["$__all"] },
        hide: 0,
        includeAll: true,
        multi: true,
        options: [],
        refresh: 2,
        skipUrlSync: false,
        sort: 1,
      },
      {
        name: "instance",
        label: "Pod / instance",
        type: "query",
        datasource: DS,
        query: { query: 'label_values(up{job=~"$job"}, instance)', refId: "PrometheusVariableQueryEditor-VariableQuery" },
        regex: "",
        current: { selected: true, text: ["All"], value: ["$__all"] },
        hide: 0,
        includeAll: true,
        multi: true,
        options: [],
        refresh: 2,
        skipUrlSync: false,
        sort: 1,
      },
    ],
  },
  panels,
};

// Drop undefined fields so the JSON is stable and minimal.
const text = JSON.stringify(dashboard, (k, v) => (v === undefined ? undefined : v), 2) + "\n";

if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = readFileSync(out, "utf8");
  } catch {}
  if (current !== text) {
    console.error(`${out} is stale: run node deploy/grafana/generate-dashboard.mjs`);
    process.exit(1);
  }
  console.log("dashboard JSON is up to date with its generator");
} else {
  writeFileSync(out, text);
  console.log(`wrote ${out} (${panels.length} panels)`);
}
