#!/usr/bin/env node
// Evaluates every dashboard and alert expression against a live Prometheus (used by
// prometheus_live.sh after it scraped real services):
//   * each expression parses and evaluates (HTTP API status success);
//   * each metric name it reads exists in the scraped data, and each label it matches on
//     exists on that metric (no name or label the services do not export);
//   * each dashboard query returns data (panels are not empty); each KEDA query one number;
//   * every alert rule loaded by Prometheus evaluates without error (health ok);
//   * every scrape target is up.
//
// usage: node live-eval.mjs --prom http://127.0.0.1:PORT --queries queries.json [--report FILE]
import { readFileSync, writeFileSync } from "node:fs";

const args = process.argv.slice(2);
const opt = (n) => args[args.indexOf(n) + 1];
const prom = opt("--prom");
const queries = JSON.parse(readFileSync(opt("--queries"), "utf8"));
const reportFile = args.includes("--report") ? opt("--report") : "";

async function api(path, params = {}) {
  const url = new URL(`/api/v1/${path}`, prom);
  for (const [k, v] of Object.entries(params)) {
    for (const x of [].concat(v)) url.searchParams.append(k, x);
  }
  const res = await fetch(url, { signal: AbortSignal.timeout(10000) });
  const body = await res.json().catch(() => ({ status: "error", error: `HTTP ${res.status}` }));
  return body;
}

let failures = 0;
let warnings = 0;
const fail = (where, msg) => {
  failures++;
  console.error(`    FAIL ${where}: ${msg}`);
};

const names = new Set((await api("label/__name__/values")).data ?? []);
console.log(`    Prometheus has ${names.size} metric names; hookrelay_*: ${[...names].filter((n) => n.startsWith("hookrelay_")).length}`);

// Label names per metric, from its series.
const labelCache = new Map();
async function labelsOf(metric) {
  if (!labelCache.has(metric)) {
    const r = await api("series", { "match[]": metric });
    const set = new Set();
    for (const s of r.data ?? []) for (const k of Object.keys(s)) set.add(k);
    labelCache.set(metric, set);
  }
  return labelCache.get(metric);
}

const targets = await api("targets");
for (const t of targets.data?.activeTargets ?? []) {
  if (t.health !== "up") fail(`target ${t.labels.job} ${t.labels.instance}`, `not up: ${t.lastError}`);
}

const report = [];
for (const q of queries) {
  const where = `${q.source} ${q.where}`;
  const r = await api("query", { query: q.query });
  if (r.status !== "success") {
    fail(where, `does not evaluate: ${r.errorType ?? ""} ${r.error}`);
    continue;
  }
  for (const m of q.metrics) {
    if (!names.has(m)) fail(where, `metric ${m} is not exported by the scraped services`);
  }
  // name{label op "value", ...}: each label must exist on that metric.
  for (const sel of q.query.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}/g)) {
    const [, metric, body] = sel;
    if (!names.has(metric)) continue;
    const have = await labelsOf(metric);
    for (const lm of body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)) {
      if (!have.has(lm[1])) fail(where, `metric ${metric} has no label ${lm[1]}`);
    }
  }
  // by (...) / without (...) grouping labels must exist on one of the expression's metrics.
  const exprLabels = new Set();
  for (const m of q.metrics) if (names.has(m)) for (const l of await labelsOf(m)) exprLabels.add(l);
  for (const g of q.query.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) {
    for (const l of g[1].split(",").map((x) => x.trim()).filter(Boolean)) {
      // The KEDA query groups by `shard` ahead of the stream being sharded: without the label
      // all series form one group, which is the right answer for one stream.
      if (q.source === "keda" && l === "shard") continue;
      if (!exprLabels.has(l)) fail(where, `groups by label ${l}, which none of ${q.metrics.join(", ")} has`);
    }
  }
  const result = r.data.result;
  const n = Array.isArray(result) ? result.length : 1;
  report.push({ ...q, series: n, sample: Array.isArray(result) ? result.slice(0, 3) : result });
  // KEDA scales on the value: one series, a number (the lag summed over shards).
  if (q.source === "keda" && !(n === 1 && Number.isFinite(Number(result[0]?.value?.[1])))) {
    fail(where, `returns ${n} series, want exactly one number for KEDA`);
  }
  if (q.source === "dashboard" && n === 0) {
    if (/code!~/.test(q.query)) {
      warnings++;
      console.log(`    WARN ${where}: no data (no registry RPC ended with an error during the run)`);
    } else {
      fail(where, "returns no data");
    }
  }
}

const rules = await api("rules");
let ruleCount = 0;
for (const g of rules.data?.groups ?? []) {
  for (const r of g.rules) {
    ruleCount++;
    if (r.health === "err") fail(`rule ${g.name}/${r.name}`, `evaluation error: ${r.lastError}`);
    else if (r.health !== "ok") fail(`rule ${g.name}/${r.name}`, `not evaluated yet (health ${r.health})`);
  }
}

if (reportFile) writeFileSync(reportFile, JSON.stringify(report, null, 2));
const dash = report.filter((q) => q.source === "dashboard").length;
const alerts = report.filter((q) => q.source === "alerts").length;
const keda = report.filter((q) => q.source === "keda").length;
console.log(`    evaluated ${dash} dashboard, ${alerts} alert and ${keda} KEDA expressions; ${ruleCount} rules loaded and evaluated; ${warnings} warning(s)`);
for (const q of report) console.log(`      ${String(q.series).padStart(3)} series  ${q.source} ${q.where}`);
if (failures) {
  console.error(`    ${failures} problem(s)`);
  process.exit(1);
}
