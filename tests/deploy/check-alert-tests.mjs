#!/usr/bin/env node
// Every alert of alerts.yml has a promtool unit test where it fires and one where it does not.
// usage: node check-alert-tests.mjs --tools DIR alerts.yml alerts_test.yml
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";

const args = process.argv.slice(2);
const toolsDir = resolve(args[args.indexOf("--tools") + 1]);
const [alertsFile, testsFile] = args.slice(-2);
const YAML = createRequire(join(toolsDir, "package.json"))("yaml");
const alerts = YAML.parse(readFileSync(alertsFile, "utf8")).groups.flatMap((g) => g.rules).filter((r) => r.alert).map((r) => r.alert);
const tests = YAML.parse(readFileSync(testsFile, "utf8")).tests.flatMap((t) => t.alert_rule_test ?? []);
let bad = 0;
for (const a of alerts) {
  const cases = tests.filter((t) => t.alertname === a);
  const fires = cases.some((t) => (t.exp_alerts ?? []).length > 0);
  const quiet = cases.some((t) => (t.exp_alerts ?? []).length === 0);
  if (!fires) (bad++, console.error(`  FAIL ${a}: no unit test where it fires`));
  if (!quiet) (bad++, console.error(`  FAIL ${a}: no unit test where it stays quiet`));
}
for (const t of tests) if (!alerts.includes(t.alertname)) (bad++, console.error(`  FAIL test of unknown alert ${t.alertname}`));
if (bad) process.exit(1);
console.log(`  ok all ${alerts.length} alerts have firing and non-firing unit tests (${tests.length} checks)`);
