#!/usr/bin/env node
// Lists every PromQL expression of the Grafana dashboard, the alert rules and the KEDA
// ScaledObjects of rendered chart manifests.
//
//   node extract-queries.mjs --tools DIR --dashboard hookrelay.json --alerts alerts.yml
//                            [--rendered manifests.yaml] [--format F]
//
// --format json   (default) a JSON array of {source, where, expr, query, metrics}: `query` has the
//                 dashboard variables substituted ($job, $instance, $__rate_interval, ...), so
//                 Prometheus can evaluate it; `metrics` are the metric names it reads.
// --format rules  a Prometheus rules file with one recording rule per expression, so that
//                 `promtool check rules` parses every dashboard query offline.
// --format text   one line per expression.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { metricNames, substitute } from "./lib/promql.mjs";

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const toolsDir = resolve(opt("--tools", "."));
const dashboardFile = opt("--dashboard");
const alertsFile = opt("--alerts");
const renderedFile = opt("--rendered");
const format = opt("--format", "json");
const require = createRequire(join(toolsDir, "package.json"));

export function extract() {
  const out = [];
  if (dashboardFile) {
    const d = JSON.parse(readFileSync(dashboardFile, "utf8"));
    const walk = (panels) => {
      for (const p of panels ?? []) {
        if (p.type === "row") walk(p.panels);
        for (const t of p.targets ?? []) {
          if (!t.expr) continue;
          out.push({ source: "dashboard", where: `panel ${p.id} "${p.title}" ${t.refId}`, expr: t.expr });
        }
      }
    };
    walk(d.panels);
    // Variable queries: label_values(<selector>, label) reads the selector's metric.
    for (const v of d.templating?.list ?? []) {
      const q = typeof v.query === "string" ? v.query : v.query?.query;
      const m = v.type === "query" && q?.match(/^label_values\((.*),\s*\w+\)$/);
      if (m) out.push({ source: "dashboard", where: `variable ${v.name}`, expr: m[1] });
    }
  }
  if (alertsFile) {
    const YAML = require("yaml");
    const doc = YAML.parse(readFileSync(alertsFile, "utf8"));
    for (const g of doc.groups) {
      for (const r of g.rules) {
        out.push({ source: "alerts", where: `${g.name}/${r.alert ?? r.record}`, expr: String(r.expr).trim() });
      }
    }
  }
  if (renderedFile) {
    const YAML = require("yaml");
    for (const d of YAML.parseAllDocuments(readFileSync(renderedFile, "utf8"))) {
      const o = d.toJSON();
      if (o?.kind !== "ScaledObject") continue;
      for (const [i, t] of (o.spec.triggers ?? []).entries()) {
        if (t.type === "prometheus") out.push({ source: "keda", where: `${o.metadata.name} trigger ${i}`, expr: t.metadata.query });
      }
    }
  }
  for (const q of out) {
    q.query = substitute(q.expr);
    q.metrics = metricNames(q.query);
  }
  return out;
}

const queries = extract();
if (format === "json") {
  console.log(JSON.stringify(queries, null, 2));
} else if (format === "text") {
  for (const q of queries) console.log(`${q.source}\t${q.where}\t${q.query.replace(/\s+/g, " ")}`);
} else if (format === "rules") {
  const rules = queries.map((q, i) => `      - record: hookrelay_check:query_${i}\n        expr: ${JSON.stringify(q.query)}`);
  console.log(`groups:\n  - name: dashboard-and-alert-queries\n    rules:\n${rules.join("\n")}`);
} else {
  console.error(`unknown --format ${format}`);
  process.exit(2);
}
