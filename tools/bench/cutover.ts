// npm run bench:cutover [-- --routers N --rate W --users U --dwell MS]
// The proof as a benchmark: N router processes write W writes/s in total to the sample
// account tables while the real CLI and worker run start, backfill, verify, cutover ×2, rollback,
// cutover, finalize. Per switch: the write pause as the writers measured it (max and p99 latency
// of the writes in flight during a fenced switch's fence window; for unfenced ones, during the CLI run), the coordinator's heldUpToMs, and the errors.
// Then every acknowledged write is looked up on the final primary. Last line: JSON.
import { Command } from 'commander';
import { createTestDatabases, servicesConfig, servicesUp, type TestDatabases } from '@cleave/testing';
import { runCutoverScenario } from '../../apps/worker/test/fixtures/cutover-scenario.js';

const opts = new Command('bench:cutover')
  .option('--routers <n>', 'router processes', '4')
  .option('--rate <n>', 'writes per second, all routers together', '320')
  .option('--users <n>', 'users in the sample data', '3000')
  .option('--dwell <ms>', 'milliseconds of load after each switch', '1500')
  .parse()
  .opts<{ routers: string; rate: string; users: string; dwell: string }>();
const TARGET_MAX_PAUSE_MS = 200;
const log = (line: string) => console.log(`[bench] ${line}`);

await servicesUp(servicesConfig(process.env), process.env, (l) => log(l));
let dbs: TestDatabases | undefined;
let exitCode = 1;
try {
  dbs = await createTestDatabases('benchcutover');
  const r = await runCutoverScenario(dbs, { routers: Number(opts.routers), rate: Number(opts.rate), users: Number(opts.users), dwellMs: Number(opts.dwell), log });
  log('');
  log(`${r.routers} routers, target ${r.targetRate} writes/s, achieved ${r.achievedRate} writes/s, ${r.acknowledged} acknowledged writes in ${r.seconds.toFixed(1)} s`);
  log('switch                               window  writes  max ms   p99 ms  held<= ms  errors');
  for (const s of r.switches) {
    log(`${s.step.padEnd(36)} ${(s.fenceWindow ? 'fence' : 'cli').padStart(6)} ${String(s.writesInFlight).padStart(6)} ${String(s.maxPauseMs).padStart(7)} ${String(s.p99PauseMs).padStart(8)} ${String(s.heldUpToMs ?? '-').padStart(10)} ${String(s.errors).padStart(7)}`);
  }
  log(`baseline (between switches, no fence): ${r.baselineWrites} writes, p50 ${r.baselineP50Ms} ms, p99 ${r.baselineP99Ms} ms, max ${r.baselineMaxMs} ms`);
  for (const e of r.errorExamples) log(`error: ${e}`);
  for (const e of r.lostExamples) log(`lost: ${e}`);
  // The pause: writes in flight during the fenced switches (the others hold no write).
  const fenced = r.switches.filter((s) => s.fenceWindow);
  if (fenced.length === 0) throw new Error('no switch with a known fence window');
  const maxPause = Math.max(...fenced.map((s) => s.maxPauseMs));
  const p99Pause = Math.max(...fenced.map((s) => s.p99PauseMs));
  const ok = maxPause < TARGET_MAX_PAUSE_MS && r.failedWrites === 0 && r.lostWrites === 0 && r.verificationClean;
  log(`failed writes ${r.failedWrites}, lost writes ${r.lostWrites} of ${r.ledgerRows} ledger rows; max pause ${maxPause} ms (target < ${TARGET_MAX_PAUSE_MS} ms): ${ok ? 'PASS' : 'FAIL'}`);
  exitCode = ok ? 0 : 1;
  console.log(
    JSON.stringify({
      max_pause_ms: maxPause,
      p99_pause_ms: p99Pause,
      failed_writes: r.failedWrites,
      lost_writes: r.lostWrites,
      routers: r.routers,
      target_rate: r.targetRate,
      achieved_rate: r.achievedRate,
      acknowledged_writes: r.acknowledged,
      ledger_rows: r.ledgerRows,
      verification_clean: r.verificationClean,
      baseline_p50_ms: r.baselineP50Ms,
      baseline_p99_ms: r.baselineP99Ms,
      baseline_max_ms: r.baselineMaxMs,
      max_held_up_to_ms: Math.max(0, ...r.switches.map((s) => s.heldUpToMs ?? 0)),
      switches: r.switches.map((s) => ({ step: s.step, window: s.fenceWindow ? 'fence' : 'cli', max_ms: s.maxPauseMs, p99_ms: s.p99PauseMs, held_up_to_ms: s.heldUpToMs, in_flight: s.writesInFlight, errors: s.errors })),
      seconds: r.seconds,
    }),
  );
} catch (error) {
  log(`bench failed: ${(error as Error).stack ?? (error as Error).message}`);
  console.log(JSON.stringify({ max_pause_ms: null, p99_pause_ms: null, failed_writes: null, lost_writes: null, error: (error as Error).message }));
} finally {
  await dbs?.drop().catch(() => undefined);
}
process.exit(exitCode);
