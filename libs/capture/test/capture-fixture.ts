import { parsePlan, type PlanInput } from '@cleave/core';
import { ControlStore, FORWARD_STREAM, compareCoordinates, currentCoordinate, formatCoordinate, type CaptureStreams, type MigrationRecord } from '@cleave/control';
import { MysqlPools, denyWrites, parseConnectionUrl, type ConnectionUrl, type TransactionalPool } from '@cleave/mysql';
import { controlDatabase, endpointUrl, hexRows, type TestDatabases } from '@cleave/testing';
import type { Pool } from 'mysql2/promise';
import { runCaptureStream, type CaptureStreamEnd } from '../src/index.js';

/** A capture stream running in the background of a test. */
export interface RunningStream {
  /** Stops it (as a worker shutdown does) and returns how it ended. */
  stop(): Promise<CaptureStreamEnd>;
  /** How it ended, once it has (without stopping it). */
  readonly ended: Promise<CaptureStreamEnd>;
}

/** Pools, control store and stream helpers over a test's databases. */
export async function captureFixture(dbs: TestDatabases) {
  const pools = new MysqlPools({ maxConnectionsPerServer: 20, defaultConnectionLimit: 8 });
  const urls: Record<string, ConnectionUrl> = {
    source: parseConnectionUrl(endpointUrl(dbs.source.endpoint)),
    target1: parseConnectionUrl(endpointUrl(dbs.target1.endpoint)),
    target2: parseConnectionUrl(endpointUrl(dbs.target2.endpoint)),
  };
  const servers = (name: string): Pool => pools.pool(urls[name]!).promise as unknown as Pool;
  const store = await ControlStore.open({ pool: servers('source'), database: controlDatabase(dbs) });
  const streams: CaptureStreams = store.captureStreams();

  /** Registers a migration in dual_write whose forward stream starts at the source's binlog end now. */
  async function migration(name: string, moves: PlanInput['moves']): Promise<MigrationRecord> {
    const plan = parsePlan({
      version: 1,
      name,
      source: { server: 'source', database: dbs.name },
      targets: { t1: { server: 'target1', database: dbs.name }, t2: { server: 'target2', database: dbs.name } },
      moves,
    });
    const at = await currentCoordinate(servers('source'), 'source');
    const m = await store.createMigration(plan, { actor: 'test' }, { capture: { server: 'source', from: at } });
    // As `cleave start` does: every target refuses writes without the guard epoch (a shadow nobody reads).
    for (const move of plan.moves) {
      const tables = move.kind === 'tables' ? move.tables : [move.table];
      const targets = move.kind === 'tables' ? [move.to] : [...new Set(move.ranges.map((r) => r.target))];
      for (const name of targets) {
        const target = plan.targets[name]!;
        await denyWrites(servers(target.server) as unknown as TransactionalPool, { migrationId: m.id, migrationName: name, database: target.database, tables: [...tables] }, m.guardEpoch, { lockWaitSeconds: 2 });
      }
    }
    return store.changePhase(m.id, { from: 'planned', to: 'dual_write' }, { actor: 'test' });
  }

  function start(m: MigrationRecord, stream = FORWARD_STREAM, owner = 'test-worker'): RunningStream {
    const abort = new AbortController();
    const ended = runCaptureStream({ migration: m, stream, streams, owner, servers, urls: (n) => urls[n]!, signal: abort.signal });
    ended.catch(() => undefined);
    return {
      ended,
      async stop() {
        abort.abort();
        return ended;
      },
    };
  }

  /** Waits until the stream's checkpoint passes the binlog end of its server taken now. */
  async function caughtUp(m: MigrationRecord, stream = FORWARD_STREAM, server = 'source', timeoutMs = 30_000): Promise<void> {
    const goal = await currentCoordinate(servers(server), server);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const record = await streams.get(m.id, stream);
      if (record !== null && compareCoordinates(record.checkpoint, goal) >= 0) return;
      if (record?.state === 'failed') throw new Error(`capture stream ${stream} failed: ${record.error ?? ''}`);
      if (Date.now() > deadline) {
        throw new Error(`capture stream ${stream} did not pass ${formatCoordinate(goal)} within ${timeoutMs} ms (checkpoint ${record ? formatCoordinate(record.checkpoint) : 'none'})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Every row of `table` on both servers, as hex of every column (independent of cleave's code). */
  async function bothSides(table: string, target: 'target1' | 'target2' = 'target1', orderBy = '1') {
    const source = await dbs.admin('source');
    const other = await dbs.admin(target);
    return { source: await hexRows(source, dbs.name, table, orderBy), target: await hexRows(other, dbs.name, table, orderBy) };
  }

  return {
    pools,
    servers,
    urls,
    store,
    streams,
    migration,
    start,
    caughtUp,
    bothSides,
    async close() {
      await pools.end();
    },
  };
}
