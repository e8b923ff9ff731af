#!/usr/bin/env node
// Checks the Grafana dashboard JSON:
//   * strictly against Grafana's schema types from @grafana/schema (the Dashboard model, and
//     each panel's options / fieldConfig.defaults.custom against its panel plugin's types):
//     unknown fields, wrong kinds, out-of-enum values and missing required fields fail;
//   * templated datasource: a `datasource` variable of type datasource (prometheus) that every
//     panel and query uses as ${datasource}; `job` and `instance` query variables;
//   * unique panel ids, every non-row panel has a query with an expression, unique refIds,
//     grid positions inside the 24-column grid and not overlapping;
//   * every query filters on $job and $instance, and the dashboard uses every metric the
//     services export (DESIGN §7).
//
// usage: node check-dashboard.mjs --tools DIR FILE
import { readFileSync } from "node:fs";
import { TypeShapes } from "./lib/tsshape.mjs";
import { metricNames, substitute } from "./lib/promql.mjs";

const args = process.argv.slice(2);
const toolsDir = args[args.indexOf("--tools") + 1];
const file = args.filter((a, i) => a !== "--tools" && args[i - 1] !== "--tools")[0];
if (!toolsDir || !file) {
  console.error("usage: check-dashboard.mjs --tools DIR FILE");
  process.exit(2);
}

// The stable metric names of the services (README metrics reference).
const EXPORTED = [
  "hookrelay_worker_attempts_total",
  "hookrelay_worker_failures_total",
  "hookrelay_worker_attempt_duration_seconds",
  "hookrelay_worker_delivery_latency_seconds",
  "hookrelay_worker_inflight_requests",
  "hookrelay_worker_retries_scheduled_total",
  "hookrelay_worker_deliveries_succeeded_total",
  "hookrelay_worker_deliveries_dead_total",
  "hookrelay_worker_hooks_disabled_total",
  "hookrelay_worker_reclaimed_total",
  "hookrelay_worker_rate_limited_total",
  "hookrelay_worker_rate_limit_wait_seconds_total",
  "hookrelay_stream_lag",
  "hookrelay_stream_pending",
  "hookrelay_retry_set_size",
  "hookrelay_registry_rpcs_total",
  "hookrelay_registry_rpc_duration_seconds",
  "hookrelay_registry_events_published_total",
  "hookrelay_registry_deliveries_fanned_out_total",
  "hookrelay_registry_publish_duplicates_total",
];

const PANEL_TYPES = {
  timeseries: ["@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen", "Options", "FieldConfig"],
  stat: ["@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen", "Options", null],
};
const imports = { Dashboard: ["@grafana/schema", "Dashboard"] };
for (const [type, [mod, options, fieldConfig]] of Object.entries(PANEL_TYPES)) {
  imports[`${type}_Options`] = [mod, options];
  if (fieldConfig) imports[`${type}_FieldConfig`] = [mod, fieldConfig];
}

let failures = 0;
const fail = (where, msg) => {
  failures++;
  console.error(`  FAIL ${where}: ${msg}`);
};

let d;
try {
  d = JSON.parse(readFileSync(file, "utf8"));
} catch (e) {
  fail(file, `not valid JSON: ${e.message}`);
  process.exit(1);
}

const shapes = new TypeShapes(toolsDir, imports);
for (const e of shapes.check(d, "Dashboard", "dashboard")) fail(file, `schema: ${e}`);

if (!d.uid || !d.title) fail(file, "uid and title are required for provisioning");

// Variables.
const vars = Object.fromEntries((d.templating?.list ?? []).map((v) => [v.name, v]));
if (vars.datasource?.type !== "datasource" || vars.datasource?.query !== "prometheus") {
  fail(file, "needs a `datasource` variable of type datasource with query prometheus");
}
for (const name of ["job", "instance"]) {
  const v = vars[name];
  if (!v || v.type !== "query") fail(file, `needs a query variable \`${name}\``);
  else if (v.datasource?.uid !== "${datasource}") fail(file, `variable ${name} must use the \${datasource} variable`);
}

// Panels.
const all = [];
const walk = (panels) => {
  for (const p of panels ?? []) {
    all.push(p);
    if (p.type === "row") walk(p.panels);
  }
};
walk(d.panels);
const ids = new Set();
const used = new Set();
const boxes = [];
for (const p of all) {
  const where = `panel ${p.id} "${p.title}"`;
  if (typeof p.id !== "number") fail(where, "no numeric id");
  else if (ids.has(p.id)) fail(where, "duplicate id");
  ids.add(p.id);
  if (!p.title) fail(where, "no title");
  const g = p.gridPos;
  if (!g || g.x < 0 || g.w < 1 || g.x + g.w > 24 || g.h < 1) fail(where, `bad gridPos ${JSON.stringify(g)}`);
  else {
    for (const b of boxes) {
      if (g.x < b.x + b.w && b.x < g.x + g.w && g.y < b.y + b.h && b.y < g.y + g.h) fail(where, `overlaps panel ${b.id}`);
    }
    boxes.push({ ...g, id: p.id });
  }
  if (p.type === "row") continue;
  const types = PANEL_TYPES[p.type];
  if (!types) fail(where, `panel type ${p.type} has no schema check here (use timeseries or stat, or extend check-dashboard.mjs)`);
  else {
    for (const e of shapes.check(p.options ?? {}, `${p.type}_Options`, `${where}.options`)) fail(where, `schema: ${e}`);
    if (types[2]) {
      for (const e of shapes.check(p.fieldConfig?.defaults?.custom ?? {}, `${p.type}_FieldConfig`, `${where}.fieldConfig.defaults.custom`)) fail(where, `schema: ${e}`);
    }
  }
  if (p.datasource?.uid !== "${datasource}" || p.datasource?.type !== "prometheus") fail(where, "datasource must be {type: prometheus, uid: ${datasource}}");
  if (!p.targets?.length) fail(where, "no query");
  const refIds = new Set();
  for (const t of p.targets ?? []) {
    if (!t.expr || !t.expr.trim()) fail(where, `query ${t.refId} has no expression`);
    if (refIds.has(t.refId)) fail(where, `duplicate refId ${t.refId}`);
    refIds.add(t.refId);
    if (t.datasource?.uid !== "${datasource}") fail(where, `query ${t.refId} does not use \${datasource}`);
    if (!t.expr) continue;
    // Every vector selector filters on the dashboard's job and instance.
    const selectors = t.expr.match(/[a-zA-Z_:][a-zA-Z0-9_:]*\{[^}]*\}/g) ?? [];
    for (const s of selectors) {
      if (!s.includes('job=~"$job"') || !s.includes('instance=~"$instance"')) fail(where, `selector ${s} does not filter on $job and $instance`);
    }
    try {
      for (const m of metricNames(substitute(t.expr))) used.add(m.replace(/_(bucket|sum|count)$/, ""));
    } catch (e) {
      fail(where, e.message);
    }
  }
}
for (const m of EXPORTED) if (!used.has(m)) fail(file, `no panel shows ${m}`);
for (const m of used) if (m !== "up" && !EXPORTED.includes(m)) fail(file, `uses ${m}, which the services do not export`);

if (failures) {
  console.error(`${failures} problem(s) in ${file}`);
  process.exit(1);
}
console.log(`  ok ${file}: ${all.length} panels (${all.filter((p) => p.type !== "row").length} with queries), variables ${Object.keys(vars).join(", ")}; all ${EXPORTED.length} exported metrics shown`);
