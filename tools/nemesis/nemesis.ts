// npm run nemesis [-- --users N --only a,b]
// The nemesis suite, the operator-facing proof that no acknowledged write is lost: each scenario
// (apps/worker/test/fixtures/nemesis-scenarios.ts) injects a fault under load from several router
// processes and writers outside the router (a router killed or SIGSTOPped, the coordinator killed
// at each step of a switch, Redis or the target's mariadbd killed, a router's control store cut, a
// bypass writer, verify --repair across a switch, a rollback), then the writers are quieted and
// every acknowledged write is looked up on the primary and both sides are compared in hex. Prints
// a table and, last, one JSON line; exits 1 if any scenario failed.
import { Command } from 'commander';
import { servicesConfig, servicesUp } from '@cleave/testing';
import { NemesisHarness } from '../../apps/worker/test/fixtures/nemesis-harness.js';
import { formatTable, summarize } from '../../apps/worker/test/fixtures/nemesis-report.js';
import { NEMESIS_SCENARIOS, runScenario, type ScenarioOutcome } from '../../apps/worker/test/fixtures/nemesis-scenarios.js';

const opts = new Command('nemesis')
  .option('--users <n>', 'users in the sample data', '3000')
  .option('--only <names>', `comma-separated scenarios (${NEMESIS_SCENARIOS.map((s) => s.name).join(', ')})`)
  .parse()
  .opts<{ users: string; only?: string }>();
const only = opts.only?.split(',').map((s) => s.trim());
const unknown = only?.filter((n) => !NEMESIS_SCENARIOS.some((s) => s.name === n)) ?? [];
if (unknown.length > 0) throw new Error(`--only names unknown scenarios: ${unknown.join(', ')}`);
const scenarios = NEMESIS_SCENARIOS.filter((s) => only === undefined || only.includes(s.name));
const log = (line: string) => console.log(`[nemesis] ${line}`);

const t0 = Date.now();
await servicesUp(servicesConfig(process.env), process.env, log);
const harness = await NemesisHarness.open({ users: Number(opts.users), routedRate: 40, directRate: 20, log });
const outcomes: ScenarioOutcome[] = [];
try {
  for (const scenario of scenarios) outcomes.push(await runScenario(harness, scenario));
} finally {
  await harness.close();
}
console.log(formatTable(outcomes));
const summary = summarize(outcomes, (Date.now() - t0) / 1000);
console.log(JSON.stringify(summary));
process.exit(summary.passed === summary.scenarios ? 0 : 1);
