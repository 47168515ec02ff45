import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { SOURCE_CONDITION_FLAG } from '@cleave/core';
import { RoutingChannel } from '@cleave/control';
import { cleaveEnv, createSampleAccounts, seedSampleAccounts, spawnUntilReady, useTestDatabases, type ReadyProcess } from '@cleave/testing';
import { cleave, healthPort, openStore, startWorker, waitUntil } from './e2e-helpers.js';
import { parsePrometheusText, seriesNames, type MetricFamily } from './fixtures/prometheus-text.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const COORDINATOR = `${ROOT}apps/coordinator/src/main.ts`;
const TSX = createRequire(import.meta.url).resolve('tsx');
const DASHBOARD = `${ROOT}docs/grafana-dashboard.json`;
const NAME = 'metrics-sessions';

/** Metrics the docs and the Grafana dashboard rely on, with their types, by the process that exports them. */
const WORKER_METRICS: Record<string, string> = {
  cleave_rows_copied_total: 'counter',
  cleave_chunk_duration_seconds: 'histogram',
  cleave_throttled: 'gauge',
  cleave_throttled_seconds_total: 'counter',
  cleave_verify_rows_checked_total: 'counter',
  cleave_verify_differences_total: 'counter',
  cleave_verify_repairs_total: 'counter',
  cleave_capture_changes_applied_total: 'counter',
  cleave_capture_lag_seconds: 'gauge',
  cleave_capture_behind_bytes: 'gauge',
  cleave_connections_opened_total: 'counter',
  cleave_worker_active_jobs: 'gauge',
  process_cpu_seconds_total: 'counter',
  process_resident_memory_bytes: 'gauge',
};
const COORDINATOR_METRICS: Record<string, string> = {
  cleave_migration_phase: 'gauge',
  cleave_migrations: 'gauge',
  cleave_rows_remaining: 'gauge',
  cleave_workers_alive: 'gauge',
  cleave_shadow_reads_compared_total: 'counter',
  cleave_shadow_read_mismatches_total: 'counter',
  cleave_write_pause_seconds: 'histogram',
  cleave_held_write_max_seconds: 'histogram',
  cleave_held_write_p99_seconds: 'gauge',
  cleave_held_writes_total: 'counter',
  cleave_coordinator_recoveries_total: 'counter',
  process_cpu_seconds_total: 'counter',
  process_resident_memory_bytes: 'gauge',
};

/** Prometheus naming: counters end in `_total` (and no other cleave_* metric does); cleave's own names are cleave_*; Node's are the standard ones. */
function conventionProblems(families: Map<string, MetricFamily>): string[] {
  const problems: string[] = [];
  for (const f of families.values()) {
    if (!/^(cleave|process|nodejs)_[a-z0-9_]+$/.test(f.name)) problems.push(`${f.name}: not cleave_*, process_* or nodejs_*`);
    if (/^cleave_(worker|coordinator)_(process|nodejs)_/.test(f.name)) problems.push(`${f.name}: a prefixed standard metric`);
    if (f.type === 'counter' && !f.name.endsWith('_total')) problems.push(`${f.name}: a counter without _total`);
    // prom-client's standard nodejs_active_*_total are gauges under their usual names; cleave's follow the rule.
    if (f.type !== 'counter' && f.name.endsWith('_total') && f.name.startsWith('cleave_')) problems.push(`${f.name}: a ${f.type} named _total`);
  }
  return problems;
}

/** Every `migration` label value in the exposition. */
const migrationLabels = (families: Map<string, MetricFamily>) => new Set([...families.values()].flatMap((f) => f.samples.map((s) => s.labels['migration']).filter((m): m is string => m !== undefined)));

const sample = (families: Map<string, MetricFamily>, name: string, labels: Record<string, string>) =>
  [...families.values()].flatMap((f) => f.samples).find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

/** The metric names a PromQL expression uses (identifiers that are neither functions nor labels). */
function metricsIn(expr: string): string[] {
  const withoutLabels = expr.replace(/\{[^}]*\}/g, '').replace(/\b(?:by|on|without|ignoring)\s*\([^)]*\)/g, '');
  return [...withoutLabels.matchAll(/\b((?:cleave|process|nodejs)_[a-z0-9_]+)\b/g)].map((m) => m[1]!);
}

/** Every PromQL expression of the Grafana dashboard: panel targets and template variable queries. */
function dashboardQueries(): string[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    panels: Array<{ targets?: Array<{ expr: string }> }>;
    templating: { list: Array<{ type: string; definition?: string }> };
  };
  return [...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)), ...dashboard.templating.list.filter((v) => v.type === 'query').map((v) => v.definition ?? '')];
}

/** Every line a cleave process wrote is one JSON log entry of the shared format, each field once. */
function logProblems(output: string, name: string): string[] {
  const problems: string[] = [];
  for (const line of output.split('\n').filter((l) => l.trim() !== '')) {
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      problems.push(`not JSON: ${line}`);
      continue;
    }
    if (entry['name'] !== name || typeof entry['level'] !== 'number' || typeof entry['msg'] !== 'string' || typeof entry['time'] !== 'string') problems.push(`not the shared format: ${line}`);
    if ((line.match(/"level":/g) ?? []).length !== 1 || 'message' in entry) problems.push(`a repeated field: ${line}`);
  }
  return problems;
}

describe('/metrics of a real worker and a real coordinator', () => {
  const dbs = useTestDatabases('metrics contract');

  beforeAll(async () => {
    const admin = await dbs().admin('source');
    await createSampleAccounts(admin);
    await seedSampleAccounts(admin, { users: 2_000, only: ['sessions'] });
  });

  // Longer than its waits together: two processes ready (60 s each), the backfill and the verification (120 s each), the capture lag coming and going (60 s each).
  it('follow Prometheus conventions, share the migration label, and have every metric the Grafana dashboard queries', { timeout: 540_000 }, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cleave-metrics-'));
    const planFile = path.join(dir, 'plan.json');
    writeFileSync(
      planFile,
      JSON.stringify({
        version: 1,
        name: NAME,
        source: { server: 'source', database: dbs().name },
        targets: { sessions: { server: 'target1', database: dbs().name } },
        moves: [{ kind: 'tables', tables: ['sessions'], to: 'sessions' }],
      }),
    );
    const env = cleaveEnv(dbs(), { CLEAVE_LOG_FORMAT: '' });
    const processes: ReadyProcess[] = [];
    const { store, close } = await openStore(dbs());
    const redis = new Redis(dbs().redis.port, dbs().redis.host);
    const channel = new RoutingChannel({ redis, prefix: `${dbs().queuePrefix}:` });
    try {
      processes.push(await startWorker(env, ['--pool-size', '3', '--segment-rows', '2000']));
      const worker = processes[0]!;
      processes.push(
        await spawnUntilReady(process.execPath, [SOURCE_CONDITION_FLAG, '--import', TSX, COORDINATOR], {
          env: { ...env, CLEAVE_COORDINATOR_PORT: '0' },
          cwd: ROOT,
          ready: (o) => o.includes('"coordinator ready"'),
          timeoutMs: 60_000,
        }),
      );
      const coordinator = processes[1]!;
      const coordinatorPort = (JSON.parse(coordinator.output().split('\n').find((l) => l.includes('"coordinator ready"'))!) as { port: number }).port;

      const started = await cleave(['start', planFile, '--json'], env);
      expect(started.code, started.stderr).toBe(0);
      const { id } = JSON.parse(started.stdout) as { id: string };
      expect(id).not.toBe(NAME);
      await waitUntil('the backfill to finish', async () => (await store.events(id)).some((e) => e.kind === 'backfill_done'), 120_000);
      await waitUntil('a finished verification run', async () => (await store.verificationRuns(id)).some((r) => r.finishedAt !== null), 120_000);
      // A router's shadow-read report (as @cleave/router publishes it): the coordinator exports the totals.
      const epoch = (await store.getMigration(id)).epoch;
      await channel.reportShadowReads(id, { routerId: 'metrics-router', epochs: [{ epoch, phase: 'dual_write', compared: 40, mismatched: 2, errors: 0 }], at: Date.now() }, []);

      const workerText = await (await fetch(`http://127.0.0.1:${healthPort(worker)}/metrics`)).text();
      const coordinatorText = await (await fetch(`http://127.0.0.1:${coordinatorPort}/metrics`)).text();
      const workerFamilies = parsePrometheusText(workerText);
      const coordinatorFamilies = parsePrometheusText(coordinatorText);

      // Names and types.
      expect(conventionProblems(workerFamilies)).toEqual([]);
      expect(conventionProblems(coordinatorFamilies)).toEqual([]);
      expect(Object.fromEntries(Object.keys(WORKER_METRICS).map((n) => [n, workerFamilies.get(n)?.type]))).toEqual(WORKER_METRICS);
      expect(Object.fromEntries(Object.keys(COORDINATOR_METRICS).map((n) => [n, coordinatorFamilies.get(n)?.type]))).toEqual(COORDINATOR_METRICS);

      // One migration label value on both: the name, never the id.
      expect([...migrationLabels(workerFamilies)]).toEqual([NAME]);
      expect([...migrationLabels(coordinatorFamilies)]).toEqual([NAME]);
      expect(sample(workerFamilies, 'cleave_rows_copied_total', { migration: NAME, table: 'sessions' })?.value).toBeGreaterThan(0);
      expect(sample(workerFamilies, 'cleave_verify_rows_checked_total', { migration: NAME })?.value).toBeGreaterThan(0);
      expect(sample(coordinatorFamilies, 'cleave_migration_phase', { migration: NAME, phase: 'dual_write' })?.value).toBe(1);
      expect(sample(coordinatorFamilies, 'cleave_migration_phase', { migration: NAME, phase: 'planned' })?.value).toBe(0);
      expect(sample(coordinatorFamilies, 'cleave_rows_remaining', { migration: NAME, table: 'sessions' })?.value).toBe(0);
      expect(sample(coordinatorFamilies, 'cleave_workers_alive', {})?.value).toBeGreaterThanOrEqual(1);
      expect(sample(coordinatorFamilies, 'cleave_shadow_reads_compared_total', { migration: NAME })?.value).toBe(40);
      expect(sample(coordinatorFamilies, 'cleave_shadow_read_mismatches_total', { migration: NAME })?.value).toBe(2);
      // Control-plane state is the coordinator's alone, so no series is exported once per worker.
      for (const name of ['cleave_migration_phase', 'cleave_rows_remaining', 'cleave_workers_alive', 'cleave_shadow_reads_compared_total']) expect(workerFamilies.has(name)).toBe(false);
      expect(workerText + coordinatorText).not.toContain(dbs().source.endpoint.password);

      // Every metric the Grafana dashboard queries exists.
      const known = seriesNames([...workerFamilies.values(), ...coordinatorFamilies.values()]);
      const queries = dashboardQueries();
      expect(queries.length).toBeGreaterThan(10);
      const used = new Set(queries.flatMap(metricsIn));
      expect(used.size).toBeGreaterThan(15);
      expect([...used].filter((m) => !known.has(m))).toEqual([]);

      // A write the forward capture stream carries gives it a lag and bytes behind; once the stream
      // ends (a rollback to planned stops the capture) the worker reports neither.
      const admin = await dbs().admin('source');
      await admin.query(`UPDATE \`${dbs().name}\`.sessions SET user_agent = 'metrics-contract' ORDER BY id LIMIT 1`);
      const capture = async () => {
        const families = parsePrometheusText(await (await fetch(`http://127.0.0.1:${healthPort(worker)}/metrics`)).text());
        const labels = { migration: NAME, stream: 'forward' };
        return { lag: sample(families, 'cleave_capture_lag_seconds', labels), behind: sample(families, 'cleave_capture_behind_bytes', labels) };
      };
      await waitUntil('the capture lag and bytes behind of the forward stream', async () => {
        const { lag, behind } = await capture();
        return lag !== undefined && behind !== undefined;
      }, 60_000);
      expect((await capture()).behind?.value).toBeGreaterThanOrEqual(0);
      const rollback = await cleave(['rollback', id], env);
      expect(rollback.code, rollback.stderr).toBe(0);
      await waitUntil('the ended stream\'s lag and bytes behind to leave /metrics', async () => {
        const { lag, behind } = await capture();
        return lag === undefined && behind === undefined;
      }, 60_000);

      // Both wrote only JSON log lines of the shared format (not a terminal: no pretty output).
      expect(logProblems(worker.output(), 'cleave-worker')).toEqual([]);
      expect(logProblems(coordinator.output(), 'cleave-coordinator')).toEqual([]);
    } finally {
      const codes = await Promise.all(processes.map((p) => p.stop()));
      await channel.close();
      redis.disconnect();
      await close();
      expect(codes.every((c) => c === 0)).toBe(true);
    }
  });
});
