import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Redis } from 'ioredis';
import { parsePlan } from '@cleave/core';
import { RoutingChannel } from '@cleave/control';
import { CHANGE_PRECONDITIONS } from '@cleave/cutover';
import { CHROMIUM_ARGS, cleaveEnv, createSampleAccounts, ensureChromium, seedSampleAccounts, useTestDatabases } from '@cleave/testing';
import { cleave, healthPort, openStore, startWorker, waitUntil } from './e2e-helpers.js';

const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));
/** The README's picture of the dashboard, written by this test. */
const DOCS_SCREENSHOT = fileURLToPath(new URL('../../../docs/dashboard.png', import.meta.url));

/** The names of the checks a step needs, as `cleave cutover --dry-run` lists them. */
const checkNames = (page: Page, panel: '#next-step' | '#rollback-step') => page.locator(`${panel} tr[data-check]`).evaluateAll((rows) => rows.map((r) => r.getAttribute('data-check')));
const buttonIds = (page: Page) => page.locator('#buttons button').evaluateAll((buttons) => buttons.map((b) => b.id));

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
  it('shows the stepper, warnings, buttons by state and the whole copy on first load; no secret; actions need the token', { timeout: 420_000 }, async () => {
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
    const port = healthPort(worker);
    const { store, close } = await openStore(dbs());
    const page = await browser.newPage({ viewport: { width: 1280, height: 1200 } });
    try {
      const { id } = JSON.parse((await cleave(['start', planFile, '--json'], env)).stdout) as { id: string };
      await page.goto(`http://127.0.0.1:${port}/?migration=${id}`);
      await page.locator('#phase', { hasText: 'dual_write' }).waitFor();

      // The stepper: where it is, what is next with the dry run's checks, and the rollback from here.
      await page.locator('#stepper li[data-phase="dual_write"][data-state="current"]').waitFor();
      expect(await page.locator('#stepper li[data-phase="planned"]').getAttribute('data-state')).toBe('done');
      expect(await page.locator('#stepper li[data-phase="verified"]').getAttribute('data-state')).toBe('ahead');
      expect(await page.locator('#next-phase').innerText()).toBe('verified');
      expect(await page.locator('#rollback-phase').innerText()).toBe('planned');
      await page.locator('#next-step tr[data-check]').first().waitFor();
      expect(await checkNames(page, '#next-step')).toEqual([...CHANGE_PRECONDITIONS['dual_write->verified']!].sort());

      // With the token set on the worker: advance and roll back, no finalize; advance waits for its checks.
      expect(await buttonIds(page)).toEqual(['advance', 'rollback']);
      expect(await page.locator('#advance').innerText()).toBe('advance to verified');
      expect(await page.locator('#token').isVisible()).toBe(true);

      // No router registered (the migration has capture): a warning, drawn as one.
      const noRouter = page.locator('#warnings li[data-warning="no-router"]');
      await noRouter.waitFor();
      const plainBorder = await page.locator('main section').first().evaluate((el) => el.ownerDocument.defaultView?.getComputedStyle(el).borderLeftColor);
      expect(await noRouter.evaluate((el) => el.ownerDocument.defaultView?.getComputedStyle(el).borderLeftColor)).not.toBe(plainBorder);

      const rowsText = () => page.locator('tr[data-unit="sessions"] td.rows').innerText();
      const copiedOf = (text: string) => Number(text.split('/')[0]!.replace(/[^0-9]/g, ''));
      await waitUntil('progress on the page', async () => copiedOf(await rowsText()) > 0, 60_000);
      const first = copiedOf(await rowsText());
      await waitUntil('the progress to move', async () => copiedOf(await rowsText()) > first, 60_000);
      // Its rate and ETA count from its copy's start: a duration while it copies.
      await waitUntil('an ETA on the page', async () => /^\d+(\.\d)? (ms|s)$|^\d+ min \d+ s$/.test(await page.locator('tr[data-unit="sessions"] td.eta').innerText()), 30_000);
      await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-backfill.png'), fullPage: true });
      // While it copies, this worker's throttle gate of the migration is what "throttled now" reads.
      const view = async () => (await (await fetch(`http://127.0.0.1:${port}/api/migrations/${id}`)).json()) as { throttle: { watching: boolean } };
      await waitUntil('the worker\'s throttle gate in the JSON', async () => (await view()).throttle.watching, 30_000);

      // The capture stream the migration started with: running, its position, its lag, the worker running it.
      const stream = page.locator('tr[data-stream="forward"]');
      await stream.waitFor();
      await waitUntil('the capture stream to checkpoint on the page', async () => !(await stream.innerText()).includes('never'), 30_000);
      expect(await stream.innerText()).toMatch(/^forward\tsource\tactive\t.+:\d+/);
      // How far behind the binlog it is, as a size, and its changes/s from the worker's second sample on.
      await waitUntil('the stream\'s bytes behind and changes/s on the page', async () => {
        const [behind, rate] = await Promise.all([stream.locator('td.behind').innerText(), stream.locator('td.rate').innerText()]);
        return /^\d+(\.\d)? (B|KiB|MiB|GiB)$/.test(behind) && /^\d[\d,]*(\.\d)?$/.test(rate);
      }, 30_000);

      const html = await page.content();
      expect(html).not.toContain(dbs().source.endpoint.password);
      expect(html).toContain('sessions');

      // A wrong token is refused and changes nothing.
      await page.fill('#token', 'not-the-token');
      await page.click('#rollback');
      await page.locator('#message', { hasText: 'a valid action token is required' }).waitFor();
      expect((await store.getMigration(id)).phase).toBe('dual_write');

      await waitUntil('the backfill to finish', async () => (await store.events(id)).some((e) => e.kind === 'backfill_done'), 120_000);
      await page.locator('tr[data-unit="sessions"] .percent', { hasText: '100.0%' }).waitFor();
      expect(await page.locator('tr[data-unit="sessions"] td.eta').innerText()).toBe('done');
      await page.locator('#next-step tr[data-check="backfill-complete"] td.status', { hasText: 'pass' }).waitFor();

      // A page opened now shows the whole copy, from the worker's history, on its first load.
      const copy = (await store.backfillTables(id))[0]!;
      const rates = async () => ((await (await fetch(`http://127.0.0.1:${port}/api/migrations/${id}`)).json()) as { rates: Array<{ at: number; rowsPerSecond: number }> }).rates;
      // The worker samples every 2 s: its sample after the copy's end is its last one.
      await waitUntil('the worker\'s sample after the copy ended', async () => ((await rates()).at(-1)?.at ?? 0) >= copy.finishedAt!.getTime(), 10_000);
      const late = await browser.newPage();
      try {
        await late.goto(`http://127.0.0.1:${port}/?migration=${id}`);
        const chart = late.locator('#chart[data-points]');
        await chart.waitFor({ state: 'attached' });
        const points = Number(await chart.getAttribute('data-points'));
        const peak = Number(await chart.getAttribute('data-peak'));
        const json = { rates: await rates() };
        expect(points).toBe(json.rates.length);
        expect(points).toBeGreaterThanOrEqual(3);
        // From the copy's first seconds to its end, at the rates it ran (not one flat point).
        expect(json.rates[0]!.at).toBeLessThan(copy.copyStartedAt!.getTime() + 5_000);
        const average = copy.rowsCopied / ((copy.finishedAt!.getTime() - copy.copyStartedAt!.getTime()) / 1000);
        expect(peak).toBeGreaterThan(average * 0.5);
        expect(json.rates.reduce((sum, r, i) => sum + (i === 0 ? 0 : (r.rowsPerSecond * (r.at - json.rates[i - 1]!.at)) / 1000), 0)).toBeGreaterThan(copy.rowsCopied * 0.5);
      } finally {
        await late.close();
      }
      await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-copied.png'), fullPage: true });
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/cleave_connections_opened_total\{server="127\.0\.0\.1:\d+"\} [1-3]\n/);
      const queues = await fetch(`http://127.0.0.1:${port}/queues`);
      expect(queues.status).toBe(200);

      // A registered router and the epoch it acknowledged show up on the page; the warning goes.
      const redis = new Redis(dbs().redis.port, dbs().redis.host);
      const channel = new RoutingChannel({ redis, prefix: `${dbs().queuePrefix}:` });
      try {
        const epoch = (await store.getMigration(id)).epoch;
        await channel.registerRouter({ routerId: 'test-router-1', service: 'accounts-api', host: 'app-7', pid: 4242, startedAt: Date.now() }, 60_000);
        await channel.ack(id, 'test-router-1', { epoch, fenceId: null, at: Date.now() });
        await page.locator('#routers td', { hasText: `${epoch} (current)` }).waitFor();
        expect(await page.locator('#routers').innerText()).toContain('accounts-api');
        await noRouter.waitFor({ state: 'detached' });

        // The router's shadow reads (as @cleave/router publishes them with its heartbeat): the
        // mismatch rate per migration on the page and in the JSON, and a warning for this phase's.
        await channel.reportShadowReads(id, { routerId: 'test-router-1', epochs: [{ epoch, phase: 'dual_write', compared: 40, mismatched: 2, errors: 1 }], at: Date.now() }, [
          { routerId: 'test-router-1', table: 'sessions', epoch, sql: 'select * from `sessions` where `id` = ?', servedOnly: 1, otherOnly: 1, at: Date.now() },
        ]);
        await page.locator('#shadow-reads td.rate', { hasText: '5.00%' }).first().waitFor();
        expect(await page.locator('#shadow-reads').innerText()).toContain(`this phase, dual_write (epoch ${epoch})`);
        expect(await page.locator('#shadow-mismatches').innerText()).toContain('sessions');
        await page.locator('#warnings li[data-warning="shadow-read-mismatches"]').waitFor();
        const json = (await (await fetch(`http://127.0.0.1:${port}/api/migrations/${id}`)).json()) as { shadowReads: Record<string, unknown> };
        expect(json.shadowReads).toMatchObject({ compared: 40, mismatched: 2, errors: 1, rate: 0.05, routers: 1, currentPhase: { epoch, compared: 40, mismatched: 2 } });

        // With the token: advance dual_write -> verified once the automatic verification is clean.
        await waitUntil('a clean verification run', async () => (await store.verificationRuns(id)).some((r) => r.clean === true), 120_000);
        await page.fill('#token', 'ui-test-token');
        await page.click('#advance'); // enabled once the page shows every check passing
        await page.locator('#phase', { hasText: 'verified' }).waitFor();
        expect((await store.getMigration(id)).phase).toBe('verified');
        const change = (await store.events(id)).filter((e) => e.kind === 'phase_change').at(-1);
        expect(change).toMatchObject({ from: 'dual_write', to: 'verified' });
        expect(change?.actor).toMatch(/^ui:/);
        // The timeline names the switch's journal, not "note".
        await page.locator('#events li .title', { hasText: 'switch done' }).waitFor();
        expect(await page.locator('#events').innerText()).toContain('switch begun');
        expect(await page.locator('#events').innerText()).not.toMatch(/\bnote\b/);
        await page.locator('#stepper li[data-phase="verified"][data-state="current"]').waitFor();
        await page.locator('#next-step tr[data-check]').first().waitFor();
        expect(await checkNames(page, '#next-step')).toEqual([...CHANGE_PRECONDITIONS['verified->reads_switched']!].sort());
        expect(await buttonIds(page)).toEqual(['advance', 'rollback']);
        expect(await page.locator('#advance').innerText()).toBe('advance to reads_switched');

        // Neither the page nor its JSON carries the action token or a password.
        const text = await (await fetch(`http://127.0.0.1:${port}/api/migrations/${id}`)).text();
        for (const secret of ['ui-test-token', dbs().source.endpoint.password]) {
          expect(text).not.toContain(secret);
          expect(await page.content()).not.toContain(secret);
        }
        // The README's picture: the stepper with the next step's checks, the copy and its chart.
        await page.screenshot({ path: DOCS_SCREENSHOT });

        // A finalized migration whose last verification found differences: the warning, no button
        // (the token is set), no rollback. Its record is written straight to the control store.
        const finalized = await store.createMigration(
          parsePlan({
            version: 1,
            name: 'ui-finalized',
            source: { server: 'source', database: dbs().name },
            targets: { t: { server: 'target2', database: dbs().name } },
            moves: [{ kind: 'tables', tables: ['users'], to: 't' }],
          }),
          { actor: 'test' },
        );
        await store.changePhase(finalized.id, { from: 'planned', to: 'dual_write' }, { actor: 'test' });
        const runId = await store.startVerificationRun(finalized.id);
        await store.finishVerificationRun(runId, { passes: 10, chunks: 4, rowsChecked: 1000, rowsDiffering: 3, rowsRepaired: 0, clean: false });
        await page.goto(`http://127.0.0.1:${port}/?migration=${finalized.id}`);
        await page.locator('#warnings li[data-warning="verification-differences"]').waitFor();
        await page.locator('#next-step tr[data-check="verification-clean"] td.status', { hasText: 'fail' }).waitFor();
        expect(await page.locator('#advance').isDisabled()).toBe(true);
        for (const [from, to] of [['dual_write', 'verified'], ['verified', 'reads_switched'], ['reads_switched', 'writes_switched'], ['writes_switched', 'finalized']] as const) {
          await store.changePhase(finalized.id, { from, to }, { actor: 'test' });
        }
        await page.locator('#stepper li[data-phase="finalized"][data-state="current"]').waitFor();
        await page.locator('#warnings li[data-warning="finalized-unclean"]').waitFor();
        expect(await page.locator('#warnings li[data-warning="finalized-unclean"]').innerText()).toContain('3 rows differing');
        expect(await buttonIds(page)).toEqual([]);
        expect(await page.locator('#token').isVisible()).toBe(false);
        expect(await page.locator('#readonly').innerText()).toBe('no action: finalized is irreversible');
        expect(await page.locator('#rollback-none').innerText()).toBe('none: finalized is irreversible');
        await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-finalized.png'), fullPage: true });
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
