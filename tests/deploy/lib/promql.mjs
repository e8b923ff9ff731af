// Small PromQL helpers for the deploy checks: Grafana variable substitution and the metric
// names an expression reads (no full parser: Prometheus itself parses every expression in
// the checks; this only finds the names to look up).

// Grafana's built-in and dashboard variables -> concrete values Prometheus can evaluate.
export const DEFAULT_VARS = {
  __rate_interval: "1m",
  __interval: "15s",
  __range: "5m",
  job: ".*hookrelay.*",
  instance: ".+",
  datasource: "prometheus",
};

export function substitute(expr, vars = DEFAULT_VARS) {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (m, a, b) => {
    const name = a ?? b;
    if (!(name in vars)) throw new Error(`unknown variable $${name} in: ${expr}`);
    return vars[name];
  });
}

const KEYWORDS = new Set([
  "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
  "bool", "offset", "inf", "nan", "Inf", "NaN",
]);

// Metric names used as vector selectors (bare identifiers and {__name__="..."}).
export function metricNames(expr) {
  const names = new Set();
  // {__name__="x"} selectors
  for (const m of expr.matchAll(/__name__\s*=\s*"([^"]+)"/g)) names.add(m[1]);
  let s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""') // strings
    .replace(/#[^\n]*/g, " "); // comments
  // label matchers, ranges/subqueries, grouping label lists
  for (let prev = ""; prev !== s; ) {
    prev = s;
    s = s.replace(/\{[^{}]*\}/g, " ").replace(/\[[^\[\]]*\]/g, " ");
  }
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  for (const m of s.matchAll(/(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)/g)) {
    const tok = m[1];
    if (KEYWORDS.has(tok)) continue;
    const rest = s.slice(m.index + tok.length);
    if (/^\s*\(/.test(rest)) continue; // function call
    names.add(tok);
  }
  return [...names].sort();
}
