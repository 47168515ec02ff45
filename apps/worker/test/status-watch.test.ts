import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cleaveEnv, createSampleAccounts, seedSampleAccounts, useTestDatabases } from '@cleave/testing';
import { cleave, healthPort, startWorker, waitUntil } from './e2e-helpers.js';

describe('cleave status --watch', () => {
  const dbs = useTestDatabases('status watch');

  beforeAll(async () => {
    const admin = await dbs().admin('source');
    await createSampleAccounts(admin);
    await seedSampleAccounts(admin, { users: 8_000, only: ['sessions'] });
  });

  // Longer than its waits together (the watch's own --timeout 120 s, then the gate's close).
  it('streams per-table progress with rows/s, ETA and throttle state, and exits 0 once copied and verified', { timeout: 200_000 }, async () => {
    const planFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'cleave-watch-')), 'plan.json');
    writeFileSync(
      planFile,
      JSON.stringify({
        version: 1,
        name: 'watch-sessions',
        source: { server: 'source', database: dbs().name },
        targets: { s: { server: 'target1', database: dbs().name } },
        moves: [{ kind: 'tables', tables: ['sessions'], to: 's' }],
      }),
    );
    const env = cleaveEnv(dbs());
    const { id } = JSON.parse((await cleave(['start', planFile, '--json'], env)).stdout) as { id: string };
    // No worker yet: the watch says so, and its --timeout running out is a failure.
    const stalled = await cleave(['status', id, '--watch', '--interval', '0.5', '--timeout', '1'], env);
    expect(stalled.code).toBe(1);
    expect(stalled.stdout).toContain('NO WORKER ALIVE: nothing copies until one starts (cleave worker)');
    expect(stalled.stderr).toContain('--timeout 1 s ran out before the migration was copied and verified');
    const worker = await startWorker(env, ['--segment-rows', '4000', '--chunk-target-ms', '20']);
    try {
      const watch = await cleave(['status', id, '--watch', '--interval', '0.3', '--timeout', '120'], env);
      expect(watch.stderr).toBe('');
      expect(watch.code).toBe(0);
      const lines = watch.stdout.split('\n');
      expect(lines[0]).toBe(`migration watch-sessions (id ${id})`);
      const progress = lines.filter((l) => l.startsWith('sessions: ')).map((l) => Number(/^sessions: ([\d.]+)%/.exec(l)![1]));
      expect(progress.length).toBeGreaterThan(1);
      expect(progress.at(-1)).toBe(100);
      expect(progress).toEqual([...progress].sort((a, b) => a - b)); // never goes backwards
      expect(lines.some((l) => /^sessions: [\d.]+% [\d,]+\/[\d,]+ rows, [\d,]+ rows\/s, ETA /.test(l))).toBe(true);
      // Rates count from the copy's first chunk (the table was queued before any worker ran).
      const rates = lines.filter((l) => l.startsWith('sessions: ')).map((l) => Number(/ ([\d,]+) rows\/s/.exec(l)![1]!.replace(/,/g, '')));
      expect(Math.max(...rates)).toBeGreaterThan(0);
      expect(lines.filter((l) => l.startsWith('phase dual_write; ')).at(-1)).toMatch(/^phase dual_write; (never throttled|THROTTLED: .+|last throttled: .+); verification clean$/);
      // Copied: the worker stops polling the servers for that migration's throttling.
      const health = async () => (await (await fetch(`http://127.0.0.1:${healthPort(worker)}/health`)).json()) as { throttling: string[] };
      await waitUntil('the worker to close the copied migration\'s throttle gate', async () => (await health()).throttling.length === 0, 20_000);
    } finally {
      await worker.stop();
    }
  });
});
