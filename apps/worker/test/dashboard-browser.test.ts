import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { Redis } from 'ioredis';
import { RoutingChannel } from '@cleave/control';
import { CHROMIUM_ARGS, cleaveEnv, createSampleAccounts, ensureChromium, seedSampleAccounts, useTestDatabases } from '@cleave/testing';
import { cleave, healthPort, openStore, startWorker, waitUntil } from './e2e-helpers.js';

const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));

describe('the worker dashboard in a real headless Chromium', () => {
  const dbs = useTestDatabases('dashboard');
  let browser: Browser;

  beforeAll(async () => {
    const admin = await dbs().admin('source');
    await createSampleAccounts(admin);
    await seedSampleAccounts(admin, { users: 15_000, only: ['sessions'] });
    browser = await chromium.launch({ executablePath: ensureChromium(), args: CHROMIUM_ARGS });
    mkdirSync(ARTIFACTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
  });

  // Longer than its waits together (each bounds one step of the backfill and the switches).
  it('shows a running backfill moving, shows no secret, refuses actions without the token and advances the phase with it', { timeout: 420_000 }, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cleave-ui-'));
    const planFile = path.join(dir, 'plan.json');
    writeFileSync(
      planFile,
      JSON.stringify({
        version: 1,
        name: 'ui-sessions',
        source: { server: 'source', database: dbs().name },
        targets: { sessions: { server: 'target1', database: dbs().name } },
        moves: [{ kind: 'tables', tables: ['sessions'], to: 'sessions' }],
      }),
    );
    const env = cleaveEnv(dbs(), { CLEAVE_UI_TOKEN: 'ui-test-token' });
    // One slow lane so the progress is visibly moving while the page is open.
    const worker = await startWorker(env, ['--concurrency', '1', '--pool-size', '3', '--segment-rows', '5000', '--chunk-target-ms', '20']);
    const { store, close } = await openStore(dbs());
    const page = await browser.newPage();
    try {
      const { id } = JSON.parse((await cleave(['start', planFile, '--json'], env)).stdout) as { id: string };
      await page.goto(`http://127.0.0.1:${healthPort(worker)}/?migration=${id}`);
      await page.locator('#phase', { hasText: 'dual_write' }).waitFor();
      const rowsText = () => page.locator('tr[data-unit="sessions"] td.rows').innerText();
      const copiedOf = (text: string) => Number(text.split('/')[0]!.replace(/[^0-9]/g, ''));
      await waitUntil('progress on the page', async () => copiedOf(await rowsText()) > 0, 60_000);
      const first = copiedOf(await rowsText());
      await waitUntil('the progress to move', async () => copiedOf(await rowsText()) > first, 60_000);
      await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-backfill.png'), fullPage: true });

      // The capture stream the migration started with: running, with its position and what it applied.
      const stream = page.locator('tr[data-stream="forward"]');
      await stream.waitFor();
      await waitUntil('the capture stream to checkpoint on the page', async () => !(await stream.innerText()).includes('never'), 30_000);
      expect(await stream.innerText()).toMatch(/^forward\tsource\tactive\t.+:\d+/);

      const html = await page.content();
      expect(html).not.toContain(dbs().source.endpoint.password);
      expect(html).toContain('sessions');

      await page.click('#rollback');
      await page.locator('#message', { hasText: 'a valid action token is required' }).waitFor();
      expect((await store.getMigration(id)).phase).toBe('dual_write');

      await waitUntil('the backfill to finish', async () => (await store.events(id)).some((e) => e.kind === 'backfill_done'), 120_000);
      await page.locator('tr[data-unit="sessions"] .percent', { hasText: '100.0%' }).waitFor();
      await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-copied.png'), fullPage: true });
      const metrics = await (await fetch(`http://127.0.0.1:${healthPort(worker)}/metrics`)).text();
      expect(metrics).toMatch(/cleave_connections_opened_total\{server="127\.0\.0\.1:\d+"\} [1-3]\n/);
      const queues = await fetch(`http://127.0.0.1:${healthPort(worker)}/queues`);
      expect(queues.status).toBe(200);

      // A registered router and the epoch it acknowledged show up on the page.
      const redis = new Redis(dbs().redis.port, dbs().redis.host);
      const channel = new RoutingChannel({ redis, prefix: `${dbs().queuePrefix}:` });
      try {
        const epoch = (await store.getMigration(id)).epoch;
        await channel.registerRouter({ routerId: 'test-router-1', service: 'accounts-api', host: 'app-7', pid: 4242, startedAt: Date.now() }, 60_000);
        await channel.ack(id, 'test-router-1', { epoch, fenceId: null, at: Date.now() });
        await page.locator('#routers td', { hasText: `${epoch} (current)` }).waitFor();
        expect(await page.locator('#routers').innerText()).toContain('accounts-api');

        // The router's shadow reads (as @cleave/router publishes them with its heartbeat): the
        // mismatch rate per migration on the page, in the JSON and in /metrics.
        await channel.reportShadowReads(id, { routerId: 'test-router-1', epochs: [{ epoch, phase: 'dual_write', compared: 40, mismatched: 2, errors: 1 }], at: Date.now() }, [
          { routerId: 'test-router-1', table: 'sessions', epoch, sql: 'select * from `sessions` where `id` = ?', servedOnly: 1, otherOnly: 1, at: Date.now() },
        ]);
        await page.locator('#shadow-reads td.rate', { hasText: '5.00%' }).first().waitFor();
        expect(await page.locator('#shadow-reads').innerText()).toContain(`this phase, dual_write (epoch ${epoch})`);
        expect(await page.locator('#shadow-mismatches').innerText()).toContain('sessions');
        const json = (await (await fetch(`http://127.0.0.1:${healthPort(worker)}/api/migrations/${id}`)).json()) as { shadowReads: Record<string, unknown> };
        expect(json.shadowReads).toMatchObject({ compared: 40, mismatched: 2, errors: 1, rate: 0.05, routers: 1, currentPhase: { epoch, compared: 40, mismatched: 2 } });
        // Their counters are the coordinator's /metrics (metrics-contract.test.ts), exported once, not once per worker.

        // A switch's record on the timeline: the measured pause and the routers' held writes.
        await store.appendEvent(id, 'note', { actor: 'test' }, { cutover: 'done', writePause: { heldUpToMs: 41 }, heldWrites: { routers: 2, count: 3, maxMs: 12.4, p99Ms: 12.4, unreported: [] } });
        await page.locator('#events li', { hasText: 'held writes 3, max 12 ms, p99 12 ms (2 routers)' }).waitFor();
        expect(await page.locator('#events').innerText()).toContain('write pause ≤ 41 ms');

        // With the token: advance dual_write -> verified once the automatic verification is clean.
        await waitUntil('a clean verification run', async () => (await store.verificationRuns(id)).some((r) => r.clean === true), 120_000);
        await page.fill('#token', 'ui-test-token');
        await page.fill('#confirm', 'not-the-name');
        await page.click('#finalize');
        await page.locator('#message', { hasText: 'type the migration\'s name (ui-sessions) to confirm' }).waitFor();
        await page.click('#advance');
        await page.locator('#phase', { hasText: 'verified' }).waitFor();
        expect((await store.getMigration(id)).phase).toBe('verified');
        const change = (await store.events(id)).filter((e) => e.kind === 'phase_change').at(-1);
        expect(change).toMatchObject({ from: 'dual_write', to: 'verified' });
        expect(change?.actor).toMatch(/^ui:/);
        await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-verified.png'), fullPage: true });
      } finally {
        await channel.deregisterRouter('test-router-1');
        await channel.close();
        redis.disconnect();
      }
    } finally {
      await page.close();
      await close();
      await worker.stop();
    }
  });
});
