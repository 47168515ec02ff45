// bench:capture:series: bench:capture several times in a row, each run with its own replica as the
// baseline, and the target judged over the series. One run's comparison says little on a machine
// whose load swings: the replica's own p99 moved from 36 to 577 ms between runs of the same load.
// Arguments after --runs go to every run (e.g. --seconds 60 --writers 8). Prints each run's lags,
// then the median capture/replica ratio of the p99s, and a last line of JSON.
import { spawn } from 'node:child_process';
import { Command } from 'commander';
import { median } from './lib/lag.js';

const opts = new Command('bench:capture:series')
  .option('--runs <n>', 'bench:capture runs, one after the other', '5')
  .allowUnknownOption(true)
  .allowExcessArguments(true)
  .parse()
  .opts<{ runs: string }>();
const RUNS = Number(opts.runs);
if (!Number.isInteger(RUNS) || RUNS < 1) {
  console.error(`bench:capture:series: --runs must be a whole number of at least 1 (got "${opts.runs}")`);
  process.exit(2);
}
const passed = process.argv.slice(2).filter((arg, i, all) => arg !== '--runs' && all[i - 1] !== '--runs' && !arg.startsWith('--runs='));

/** The fields of bench:capture's last line that the series reads. */
interface CaptureRun {
  readonly capture_lag_p99_ms: number;
  readonly replica_lag_p99_ms: number;
  readonly capture_busy_table_lag_p99_ms: number;
  readonly replica_busy_table_lag_p99_ms: number;
  readonly keeps_up: boolean;
  readonly sides_equal: boolean;
  readonly meets_target: boolean;
}

function runOnce(index: number): Promise<CaptureRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'bench:capture', '--', ...passed], { stdio: ['ignore', 'pipe', 'inherit'] });
    let last = '';
    let pending = '';
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.startsWith('{')) last = line;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (pending.startsWith('{')) last = pending;
      if (code !== 0 || last === '') reject(new Error(`bench:capture run ${index} ended with exit code ${code} ${last === '' ? 'and no JSON line' : ''}`));
      else resolve(JSON.parse(last) as CaptureRun);
    });
  });
}

const ratio = (a: number, b: number) => Math.round((a / Math.max(b, 1)) * 100) / 100;

const runs: CaptureRun[] = [];
for (let i = 1; i <= RUNS; i += 1) {
  console.log(`[series] run ${i} of ${RUNS}: npm run bench:capture -- ${passed.join(' ')}`);
  runs.push(await runOnce(i));
}
const ratios = runs.map((r) => ratio(r.capture_lag_p99_ms, r.replica_lag_p99_ms));
const busyRatios = runs.map((r) => ratio(r.capture_busy_table_lag_p99_ms, r.replica_busy_table_lag_p99_ms));
console.log('[series]  run  capture p99 ms  replica p99 ms  ratio  busy capture/replica p99 ms  keeps up');
runs.forEach((r, i) =>
  console.log(
    `[series] ${String(i + 1).padStart(4)} ${String(r.capture_lag_p99_ms).padStart(15)} ${String(r.replica_lag_p99_ms).padStart(15)} ${ratios[i]!.toFixed(2).padStart(6)}  ${`${r.capture_busy_table_lag_p99_ms}/${r.replica_busy_table_lag_p99_ms}`.padStart(27)}  ${r.keeps_up ? 'yes' : 'NO'}`,
  ),
);
const medianRatio = median(ratios);
const keepsUp = runs.every((r) => r.keeps_up && r.sides_equal);
const under1s = runs.every((r) => r.capture_lag_p99_ms < 1_000);
console.log(`[series] median capture/replica p99 ratio ${medianRatio.toFixed(2)} (busy table ${median(busyRatios).toFixed(2)}); runs meeting the single-run target ${runs.filter((r) => r.meets_target).length} of ${RUNS}`);
console.log(
  JSON.stringify({
    bench: 'capture-series',
    runs: RUNS,
    capture_lag_p99_ms: runs.map((r) => r.capture_lag_p99_ms),
    replica_lag_p99_ms: runs.map((r) => r.replica_lag_p99_ms),
    p99_ratios: ratios,
    median_p99_ratio: medianRatio,
    median_busy_table_p99_ratio: median(busyRatios),
    runs_meeting_target: runs.filter((r) => r.meets_target).length,
    keeps_up: keepsUp,
    capture_p99_under_1s: under1s,
    meets_target: keepsUp && under1s && medianRatio <= 1,
    targets: { keeps_up: true, capture_lag_p99_ms: '< 1000 in every run', median_p99_ratio: '<= 1' },
  }),
);
