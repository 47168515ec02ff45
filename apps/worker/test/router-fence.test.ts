import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { SOURCE_CONDITION_FLAG, type Plan } from '@cleave/core';
import { ControlStore, RoutingChannel, type MigrationRecord } from '@cleave/control';
import { MysqlPools, parseConnectionUrl } from '@cleave/mysql';
import { controlDatabase, createSampleAccounts, hexRows, spawnUntilReady, useTestDatabases, type ReadyProcess } from '@cleave/testing';

const TSX = createRequire(import.meta.url).resolve('tsx');
const WRITER = fileURLToPath(new URL('./fixtures/router-writer.ts', import.meta.url));
const WRITERS = 3;
/** Target ids start here: an insert's id tells which side was its primary. */
const TARGET_IDS = 50_000_000n;

interface Line {
  type: 'ready' | 'ack' | 'error' | 'done';
  op?: 'insert' | 'update';
  email?: string;
  value?: number;
  id?: string;
  startedAt?: number;
  endedAt?: number;
  routerId?: string;
  message?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const linesOf = (p: ReadyProcess): Line[] =>
  p
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);

describe('fence under load from several router processes (real MariaDB, Redis, processes)', () => {
  const dbs = useTestDatabases('rfence');
  let pools: MysqlPools;
  let store: ControlStore;
  let redis: Redis;
  let channel: RoutingChannel;
  const writers: ReadyProcess[] = [];

  beforeAll(async () => {
    for (const s of ['source', 'target1'] as const) await createSampleAccounts(await dbs().admin(s));
    pools = new MysqlPools({ maxConnectionsPerServer: 10 });
    store = await ControlStore.open({ pool: pools.pool(parseConnectionUrl(dbs().source.url)).promise, database: controlDatabase(dbs()) });
    redis = new Redis({ host: dbs().redis.host, port: dbs().redis.port });
    channel = new RoutingChannel({ redis, prefix: dbs().redisPrefix });
  });

  afterAll(async () => {
    await Promise.all(writers.map((w) => w.stop('SIGKILL')));
    await channel.close();
    redis.disconnect();
    await pools.end();
  });

  it('no write fails, none is lost, held writes proceed under the new epoch (new primary)', async () => {
    const plan = {
      version: 1,
      name: 'fence-load',
      source: { server: 'source', database: dbs().name },
      targets: { t1: { server: 'target1', database: dbs().name } },
      moves: [{ kind: 'tables', tables: ['users'], to: 't1' }],
    } as Plan;
    let m: MigrationRecord = await store.createMigration(plan, { actor: 'test' });
    for (const to of ['dual_write', 'verified', 'reads_switched'] as const) m = await store.changePhase(m.id, { from: m.phase, to, expectedEpoch: m.epoch }, { actor: 'test' });
    await (await dbs().admin('target1')).query(`ALTER TABLE users AUTO_INCREMENT = ${TARGET_IDS}`);

    for (let w = 0; w < WRITERS; w++) {
      const settings = {
        writer: `w${w}`,
        servers: { source: dbs().source.url, target1: dbs().target1.url },
        controlUrl: dbs().source.url,
        controlDatabase: controlDatabase(dbs()),
        redisUrl: dbs().redis.url,
        prefix: dbs().redisPrefix,
        migrationId: m.id,
        keys: 10,
      };
      writers.push(await spawnUntilReady(process.execPath, [SOURCE_CONDITION_FLAG, '--import', TSX, WRITER, JSON.stringify(settings)], { ready: (out) => out.includes('"type":"ready"'), timeoutMs: 60_000 }));
    }
    const acks = () => writers.map((w) => linesOf(w).filter((l) => l.type === 'ack').length);
    const deadline = Date.now() + 30_000;
    while (acks().some((n) => n < 30) && Date.now() < deadline) await sleep(50);
    expect((await channel.liveRouters()).length).toBe(WRITERS);

    // The switch, as the coordinator runs it.
    const fencedAt = Date.now();
    const fence = await channel.fence(m.id, m.epoch, { ttlMs: 30_000 });
    const fenceAcks = await channel.waitForAcks(m.id, { fenceId: fence.fenceId }, { timeoutMs: 10_000 });
    expect(fenceAcks).toMatchObject({ ok: true, missing: [] });
    expect(fenceAcks.acked).toHaveLength(WRITERS);
    // Step 2: both sides in sync (nothing writes now), then hold a moment so that writes pile up.
    const name = dbs().name;
    expect(await hexRows(await dbs().admin('target1'), name, 'users', 'id')).toEqual(await hexRows(await dbs().admin('source'), name, 'users', 'id'));
    await sleep(500);
    const heldUntil = Date.now();
    m = await store.changePhase(m.id, { from: m.phase, to: 'writes_switched', expectedEpoch: m.epoch }, { actor: 'test' });
    await channel.announceEpoch(m.id, m.epoch);
    expect((await channel.waitForAcks(m.id, { epoch: m.epoch }, { timeoutMs: 10_000 })).ok).toBe(true);
    await channel.unfence(m.id, fence.fenceId);
    const flippedAt = Date.now();
    const afterFlip = acks();
    while (acks().some((n, i) => n < afterFlip[i]! + 30) && Date.now() < deadline + 30_000) await sleep(50);

    const codes = await Promise.all(writers.map((w) => w.stop()));
    expect(codes).toEqual(writers.map(() => 0));
    const all = writers.flatMap(linesOf);
    expect(all.filter((l) => l.type === 'error')).toEqual([]);
    expect(all.filter((l) => l.type === 'done')).toHaveLength(WRITERS);

    // Ledger: every acknowledged write is on the primary (target1 now) with its final value.
    const ackd = all.filter((l) => l.type === 'ack');
    const [rows] = await (await dbs().admin('target1')).query('SELECT id, email, storage_used FROM users');
    const onPrimary = new Map((rows as Array<{ id: string; email: string; storage_used: string }>).map((r) => [r.email, r]));
    const finalValue = new Map<string, number>();
    for (const l of ackd) finalValue.set(l.email!, Math.max(finalValue.get(l.email!) ?? 0, l.value!));
    const lost = [...finalValue].filter(([email, value]) => onPrimary.get(email)?.storage_used !== String(value));
    expect(lost).toEqual([]);
    for (const l of ackd.filter((a) => a.op === 'insert')) expect(onPrimary.get(l.email!)?.id, l.email).toBe(l.id);

    // Writes that ended before the fence used the source. Writes pending while every router held
    // (one per writer) were held, and ran on the new primary once the epoch flipped, like every
    // later insert: their ids come from the target's auto-increment.
    const inserts = ackd.filter((l) => l.op === 'insert');
    const before = inserts.filter((l) => l.endedAt! < fencedAt);
    const held = ackd.filter((l) => l.startedAt! < heldUntil && l.endedAt! > heldUntil);
    const later = inserts.filter((l) => l.endedAt! > heldUntil);
    expect(before.length).toBeGreaterThan(0);
    expect(before.every((l) => BigInt(l.id!) < TARGET_IDS)).toBe(true);
    expect(held).toHaveLength(WRITERS);
    expect(later.length).toBeGreaterThan(0);
    expect(later.filter((l) => BigInt(l.id!) < TARGET_IDS)).toEqual([]);
    // The reverse dual write keeps the source equal to the new primary.
    expect(await hexRows(await dbs().admin('source'), name, 'users', 'id')).toEqual(await hexRows(await dbs().admin('target1'), name, 'users', 'id'));
    const pause = Math.max(...ackd.filter((l) => l.startedAt! < flippedAt && l.endedAt! > fencedAt).map((l) => l.endedAt! - l.startedAt!));
    console.log(`fence under load: ${WRITERS} routers, ${ackd.length} acknowledged writes, ${held.length} writes held by the fence, longest held write ${pause} ms`);
  });
});
