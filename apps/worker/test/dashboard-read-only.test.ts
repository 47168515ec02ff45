import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { Queue } from 'bullmq';
import { chromium, type Browser } from 'playwright-core';
import { parsePlan } from '@cleave/core';
import { redisConnectionFromUrl } from '@cleave/jobs';
import { CHROMIUM_ARGS, ensureChromium, useTestDatabases } from '@cleave/testing';
import { openCutoverActions } from '../src/ui/cutover-actions.js';
import { startDashboard } from '../src/ui/dashboard-server.js';
import { openStore } from './e2e-helpers.js';

/**
 * The dashboard of a worker started without CLEAVE_UI_TOKEN, whose job queues no worker serves:
 * the worker's own dashboard server in this process, on the real control store and Redis (a
 * worker process always counts itself alive, so "no worker alive" needs queues it does not serve).
 */
describe('a read-only dashboard with no worker alive, in a real headless Chromium', () => {
  const dbs = useTestDatabases('dashro');
  let browser: Browser;

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: ensureChromium(), args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('shows the stepper and its checks, no action without a token, and warns that no worker and no router is there', { timeout: 60_000 }, async () => {
    const { store, close } = await openStore(dbs());
    const pools = new Map(
      (['source', 'target1', 'target2'] as const).map((name) => {
        const e = dbs()[name].endpoint;
        return [name as string, mysql.createPool({ host: e.host, port: e.port, user: e.user, password: e.password, connectionLimit: 2 })];
      }),
    );
    const queue = new Queue(`${dbs().queuePrefix}-nobody-serves-this`, { connection: redisConnectionFromUrl(dbs().redis.url) });
    const cutover = await openCutoverActions({ store, redisUrl: dbs().redis.url, queuePrefix: dbs().queuePrefix, servers: (name) => pools.get(name)!, actor: 'ui:test' });
    const dashboard = await startDashboard({
      port: 0,
      store,
      queues: [queue],
      health: () => ({ status: 'ok' }),
      metrics: async () => ({ contentType: 'text/plain', body: '' }),
      evaluate: cutover.evaluate,
    });
    const page = await browser.newPage();
    try {
      const m = await store.createMigration(
        parsePlan({
          version: 1,
          name: 'ro-sessions',
          source: { server: 'source', database: dbs().name },
          targets: { t: { server: 'target1', database: dbs().name } },
          moves: [{ kind: 'tables', tables: ['sessions'], to: 't' }],
        }),
        { actor: 'test' },
      );
      await store.changePhase(m.id, { from: 'planned', to: 'dual_write' }, { actor: 'test' });
      await page.goto(`http://127.0.0.1:${dashboard.port}/?migration=${m.id}`);

      await page.locator('#stepper li[data-phase="dual_write"][data-state="current"]').waitFor();
      await page.locator('#next-step tr[data-check="backfill-complete"] td.status', { hasText: 'fail' }).waitFor();
      expect(await page.locator('#next-verdict').innerText()).toBe('would be refused now');

      // No token on this worker: no button, no token field, and it says why.
      expect(await page.locator('#buttons button').count()).toBe(0);
      expect(await page.locator('#token').isVisible()).toBe(false);
      expect(await page.locator('#readonly').innerText()).toContain('read-only: this worker has no action token');
      const refused = await fetch(`http://127.0.0.1:${dashboard.port}/api/migrations/${m.id}/advance`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(refused.status).toBe(401);
      expect((await store.getMigration(m.id)).phase).toBe('dual_write');

      // Warnings, drawn as warnings: nothing would copy, verify or capture, and no router carries writes.
      for (const id of ['no-worker', 'no-router', 'capture-off']) await page.locator(`#warnings li[data-warning="${id}"]`).waitFor();
      expect(await page.locator('#workers').innerText()).toBe('0');
      expect(await page.locator('#warnings li[data-warning="no-worker"]').evaluate((li) => li.ownerDocument.defaultView?.getComputedStyle(li, '::before').content)).toContain('⚠');

      // The timeline names its events.
      expect(await page.locator('#events .title').allInnerTexts()).toEqual(['created', 'phase changed']);
    } finally {
      await page.close();
      await dashboard.close();
      await cutover.close();
      await queue.close();
      await Promise.all([...pools.values()].map((p) => p.end()));
      await close();
    }
  });
});
