#!/usr/bin/env node
// The chart README documents every value: each leaf key of values.yaml (maps are walked, lists
// and empty maps are leaves) must appear in README.md as `path`, and the README must not
// document values that no longer exist.
// usage: node check-chart-docs.mjs --tools DIR CHART_DIR
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";

const args = process.argv.slice(2);
const toolsDir = resolve(args[args.indexOf("--tools") + 1]);
const chart = args[args.length - 1];
const YAML = createRequire(join(toolsDir, "package.json"))("yaml");
const values = YAML.parse(readFileSync(join(chart, "values.yaml"), "utf8"));
const readme = readFileSync(join(chart, "README.md"), "utf8");

const leaves = [];
const walk = (v, path) => {
  if (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length) {
    for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k);
  } else leaves.push(path);
};
walk(values, "");
// A documented map (e.g. `podSecurityContext`) covers its keys.
const section = (title) => (readme.split(/^## /m).find((s) => s.startsWith(title + "\n")) ?? "");
const documented = new Set([...section("Values").matchAll(/^\|\s*`([A-Za-z0-9_.]+)`/gm)].map((m) => m[1]));
const missing = leaves.filter((p) => {
  const parts = p.split(".");
  return !parts.some((_, i) => documented.has(parts.slice(0, i + 1).join(".")));
});
const known = (p) => {
  let v = values;
  for (const k of p.split(".")) {
    if (!v || typeof v !== "object" || !(k in v)) return false;
    v = v[k];
  }
  return true;
};
const stale = [...documented].filter((p) => !known(p));
for (const p of missing) console.error(`  FAIL ${chart}/README.md does not document \`${p}\``);
for (const p of stale) console.error(`  FAIL ${chart}/README.md documents \`${p}\`, which values.yaml does not have`);
// The alerts table lists every alert of the PrometheusRule.
const alerts = YAML.parse(readFileSync(join(chart, "files", "alerts.yml"), "utf8")).groups.flatMap((g) => g.rules).map((r) => r.alert).filter(Boolean);
const listed = new Set([...section("Alerts").matchAll(/^\|\s*`([A-Za-z0-9]+)`/gm)].map((m) => m[1]));
const unlisted = alerts.filter((a) => !listed.has(a));
for (const a of unlisted) console.error(`  FAIL ${chart}/README.md does not list the alert ${a}`);
for (const a of listed) if (!alerts.includes(a)) (unlisted.push(a), console.error(`  FAIL ${chart}/README.md lists ${a}, which files/alerts.yml does not have`));
if (missing.length || stale.length || unlisted.length) process.exit(1);
console.log(`  ok ${chart}/README.md documents all ${leaves.length} values and all ${alerts.length} alerts`);
