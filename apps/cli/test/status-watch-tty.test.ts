import { beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import xterm from '@xterm/headless';
import { cleaveEnv, createSampleAccounts, seedSampleAccounts, spawnUntilReady, useTestDatabases } from '@cleave/testing';
import { runCli } from './run-cli.js';

const BIN = fileURLToPath(new URL('../bin/cleave.js', import.meta.url));
const ROWS = 40;

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Runs `cleave …` on a pseudo-terminal of `columns` x ROWS (util-linux `script`), the way an
 * operator's terminal runs it, and returns everything it wrote to the terminal and its exit code.
 */
function runOnTerminal(args: readonly string[], env: Record<string, string>, columns: number): Promise<{ code: number; raw: string }> {
  const command = `stty cols ${columns} rows ${ROWS} && exec ${[process.execPath, BIN, ...args].map(quote).join(' ')}`;
  return new Promise((resolve) => {
    execFile('script', ['-qfec', command, '/dev/null'], { env: { ...env, TERM: 'xterm-256color' }, timeout: 150_000, maxBuffer: 20 * 1024 * 1024 }, (error, stdout) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, raw: stdout }),
    );
  });
}

/** The screen a terminal of `columns` shows after `raw` (a headless xterm.js), scrollback included. */
async function screenOf(raw: string, columns: number): Promise<{ lines: string[]; wrapped: number }> {
  const term = new xterm.Terminal({ cols: columns, rows: ROWS, scrollback: 5000, allowProposedApi: true });
  await new Promise<void>((resolve) => term.write(raw, resolve));
  const buffer = term.buffer.active;
  const lines: string[] = [];
  let wrapped = 0;
  for (let i = 0; i < buffer.length; i += 1) {
    const line = buffer.getLine(i)!;
    if (line.isWrapped) wrapped += 1;
    lines.push(line.translateToString(true).trimEnd());
  }
  term.dispose();
  while (lines.length > 0 && lines.at(-1) === '') lines.pop();
  return { lines, wrapped };
}

describe('cleave status --watch on a terminal (pseudo-terminals of 80 and 200 columns, real worker)', () => {
  const dbs = useTestDatabases('status watch tty');

  beforeAll(async () => {
    const admin = await dbs().admin('source');
    await createSampleAccounts(admin);
    await seedSampleAccounts(admin, { users: 6_000, only: ['sessions', 'user_settings'] });
  }, 120_000);

  // Longer than its waits together: the worker's start (60 s) and the watches' own --timeout (120 s).
  it('redraws one block per table in place, fitted to the width, and ends on a screen that says done and clean', { timeout: 300_000 }, async () => {
    const planFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'cleave-watch-tty-')), 'plan.json');
    writeFileSync(
      planFile,
      JSON.stringify({
        version: 1,
        name: 'watch-tty',
        source: { server: 'source', database: dbs().name },
        targets: { s: { server: 'target1', database: dbs().name } },
        moves: [{ kind: 'tables', tables: ['sessions', 'user_settings'], to: 's' }],
      }),
    );
    const env = cleaveEnv(dbs());
    const started = await runCli(['start', planFile, '--json'], env);
    expect(started.code, started.stderr).toBe(0);
    const { id } = JSON.parse(started.stdout) as { id: string };

    // Both watches begin before any worker runs (frames of a stalled migration), then see the copy and verification.
    const watches = [80, 200].map((columns) => runOnTerminal(['status', id, '--watch', '--interval', '0.3', '--timeout', '120'], env, columns));
    const worker = await spawnUntilReady(process.execPath, [BIN, 'worker', '--port', '0', '--', '--segment-rows', '3000', '--chunk-target-ms', '20'], {
      env: { ...env, CLEAVE_NICE_RATIO: '1', CLEAVE_THROTTLE_INTERVAL_MS: '250', CLEAVE_WORKER_NICE: '0' },
      ready: (out) => out.includes('worker ready'),
      timeoutMs: 60_000,
    });
    let results: Array<{ code: number; raw: string }>;
    try {
      results = await Promise.all(watches);
    } finally {
      await worker.stop();
    }

    for (const [i, columns] of [80, 200].entries()) {
      const { code, raw } = results[i]!;
      const { lines, wrapped } = await screenOf(raw, columns);
      const shown = lines.join('\n');
      expect(code, shown).toBe(0);
      // Redrawn, not appended: several frames went out (stalled, copying, done) ...
      expect(raw).toContain('NO WORKER ALIVE');
      expect(new Set(raw.match(/ sessions +\[[#.]+\] +[\d.]+%/g)).size, raw).toBeGreaterThan(1);
      // ... yet the terminal, scrollback included, holds one header, one block per table, one summary.
      expect(lines.filter((l) => l.startsWith('migration watch-tty  phase dual_write  id ')), shown).toHaveLength(1);
      for (const table of ['sessions', 'user_settings']) {
        const bars = lines.filter((l) => l.startsWith(` ${table} `));
        expect(bars, shown).toHaveLength(1);
        expect(bars[0]).toMatch(/\[#+\] 100\.0%$/);
      }
      expect(lines.filter((l) => l.startsWith('   -> s ')), shown).toHaveLength(2);
      expect(lines.filter((l) => l.startsWith('verification: ')), shown).toEqual(['verification: clean']);
      expect(shown).not.toContain('NO WORKER ALIVE');
      expect(shown).not.toContain('Ctrl-C stops watching');
      expect(lines.at(-1)).toMatch(/^DONE: every table copied; verification run \d+ clean$/);
      // Fitted to the width: no line longer than the terminal, none wrapped onto a second row.
      expect(wrapped, shown).toBe(0);
      expect(Math.max(...lines.map((l) => l.length))).toBeLessThan(columns);
      // The bar takes the width it is given (wider on the wider terminal).
      const barWidth = /\[(#+)\]/.exec(lines.find((l) => l.startsWith(' sessions '))!)![1]!.length;
      expect(barWidth).toBe(columns === 80 ? 80 - ' user_settings ['.length - '] 100.0%'.length - 1 : 60);
    }
  });
});
