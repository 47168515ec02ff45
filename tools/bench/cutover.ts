// npm run bench:cutover [-- --runs N --routers N --direct N --rate W --users U --dwell MS]
// The end-to-end cutover as a benchmark, at the product's default settings: N writer processes
// (`--direct` of them around the router, carried only by the binlog capture) write W writes/s in
// total to the sample account tables while the real CLI and worker run start, backfill, verify,
// cutover ×2, rollback, verify, cutover, verify, finalize. Per switch: the write pause as the routed
// writers measured it (max and p99 latency of the writes in flight during a fenced switch's fence
// window; for unfenced ones, during the CLI run), the coordinator's heldUpToMs, and the errors.
// Then every acknowledged write is looked up on the final primary. `--runs`: the whole scenario
// that many times, each on fresh databases. Last line: JSON over all runs.
import { Command } from 'commander';
import { createTestDatabases, servicesConfig, servicesUp, type TestDatabases } from '@cleave/testing';
import { runCutoverScenario, type ScenarioResult } from '../../apps/worker/test/fixtures/cutover-scenario.js';

const opts = new Command('bench:cutover')
  .option('--runs <n>', 'times to run the whole scenario', '1')
  .option('--routers <n>', 'writer processes', '4')
  .option('--direct <n>', 'of them, writers around the router (plain SQL, held while the primary moves)', '0')
  .option('--rate <n>', 'writes per second, all writers together', '320')
  .option('--users <n>', 'users in the sample data', '3000')
  .option('--dwell <ms>', 'milliseconds of load after each switch', '1500')
  .parse()
  .opts<{ runs: string; routers: string; direct: string; rate: string; users: string; dwell: string }>();
const TARGET_MAX_PAUSE_MS = 200;
const log = (line: string) => console.log(`[bench] ${line}`);
const runs = Number(opts.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got "${opts.runs}"`);

interface RunOutcome {
  readonly result?: ScenarioResult;
  readonly error?: string;
}

function report(r: ScenarioResult): void {
  log(`${r.routers} writers, target ${r.targetRate} writes/s, achieved ${r.achievedRate} writes/s (routed ${r.routedRate} of ${r.routedTargetRate}), ${r.acknowledged} acknowledged writes in ${r.seconds.toFixed(1)} s`);
  log('switch                               window  writes  max ms   p99 ms  held<= ms  errors');
  for (const s of r.switches) {
    log(`${s.step.padEnd(36)} ${(s.fenceWindow ? 'fence' : 'cli').padStart(6)} ${String(s.writesInFlight).padStart(6)} ${String(s.maxPauseMs).padStart(7)} ${String(s.p99PauseMs).padStart(8)} ${String(s.heldUpToMs ?? '-').padStart(10)} ${String(s.errors).padStart(7)}`);
  }
  for (const s of r.switches) {
    const h = s.heldSteps;
    if (h !== null) log(`held writes, ${s.step}: longest held ${s.heldWriteMaxMs} ms (routers' report); fence acks ${h.fenceAckMs} ms, ${Object.entries(h.stepsMs).map(([step, ms]) => `${step} ${ms} ms`).join(', ')}, flip ${h.flipMs} ms, epoch acks ${h.epochAckMs} ms`);
  }
  log(`baseline (between switches, no fence): ${r.baselineWrites} writes, p50 ${r.baselineP50Ms} ms, p99 ${r.baselineP99Ms} ms, max ${r.baselineMaxMs} ms`);
  for (const e of r.errorExamples) log(`error: ${e}`);
  for (const e of r.lostExamples) log(`lost: ${e}`);
  for (const b of r.bypassRefusals) log(`bypass writer: ${b}`);
}

await servicesUp(servicesConfig(process.env), process.env, (l) => log(l));
const outcomes: RunOutcome[] = [];
for (let run = 1; run <= runs; run++) {
  log(`run ${run} of ${runs}`);
  let dbs: TestDatabases | undefined;
  try {
    dbs = await createTestDatabases('benchcutover');
    const result = await runCutoverScenario(dbs, {
      routers: Number(opts.routers),
      directWriters: Number(opts.direct),
      rate: Number(opts.rate),
      users: Number(opts.users),
      dwellMs: Number(opts.dwell),
      log,
    });
    report(result);
    outcomes.push({ result });
  } catch (error) {
    log(`run ${run} failed: ${(error as Error).stack ?? (error as Error).message}`);
    outcomes.push({ error: (error as Error).message });
  } finally {
    await dbs?.drop().catch(() => undefined);
  }
}

const completed = outcomes.flatMap((o) => (o.result === undefined ? [] : [o.result]));
// The pause: writes in flight during the fenced switches (the others hold no write).
const fenced = completed.flatMap((r) => r.switches.filter((s) => s.fenceWindow));
const maxPause = fenced.length === 0 ? null : Math.max(...fenced.map((s) => s.maxPauseMs));
const p99Pause = fenced.length === 0 ? null : Math.max(...fenced.map((s) => s.p99PauseMs));
const sum = (f: (r: ScenarioResult) => number) => completed.reduce((n, r) => n + f(r), 0);
const failedWrites = sum((r) => r.failedWrites);
const lostWrites = sum((r) => r.lostWrites);
const ok = completed.length === runs && maxPause !== null && maxPause < TARGET_MAX_PAUSE_MS && failedWrites === 0 && lostWrites === 0 && completed.every((r) => r.verificationClean);
log(`${completed.length} of ${runs} runs completed; failed writes ${failedWrites}, lost writes ${lostWrites}; max pause ${maxPause ?? '-'} ms (target < ${TARGET_MAX_PAUSE_MS} ms): ${ok ? 'PASS' : 'FAIL'}`);
console.log(
  JSON.stringify({
    runs,
    runs_completed: completed.length,
    max_pause_ms: maxPause,
    p99_pause_ms: p99Pause,
    failed_writes: failedWrites,
    lost_writes: lostWrites,
    writers: Number(opts.routers),
    direct_writers: Number(opts.direct),
    target_rate: Number(opts.rate),
    achieved_rate_min: completed.length === 0 ? null : Math.min(...completed.map((r) => r.achievedRate)),
    acknowledged_writes: sum((r) => r.acknowledged),
    ledger_rows: sum((r) => r.ledgerRows),
    verification_clean: completed.every((r) => r.verificationClean),
    bypass_writes_refused: completed.every((r) => r.bypassRefusals.every((b) => b.includes('cleave guard:'))),
    max_held_up_to_ms: Math.max(0, ...completed.flatMap((r) => r.switches.map((s) => s.heldUpToMs ?? 0))),
    // The fence's share of the pause: the longest any routed write waited on it (the rest of a write's latency is its own work).
    max_write_held_ms: Math.max(0, ...completed.flatMap((r) => r.switches.map((s) => s.heldWriteMaxMs ?? 0))),
    errors: outcomes.flatMap((o) => (o.error === undefined ? [] : [o.error])),
    targets: { runs_completed: runs, max_pause_ms: `< ${TARGET_MAX_PAUSE_MS}`, failed_writes: 0, lost_writes: 0 },
  }),
);
process.exit(ok ? 0 : 1);
