import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { CleaveError } from '@cleave/core';
import { parseFenceRecord, parseRouterAck, parseRoutingMessage, type FenceRecord, type RouterAck, type RoutingMessage } from './routing-messages.js';
import {
  MAX_RECENT_MISMATCHES,
  parseHeldWriteReport,
  parseShadowReadMismatch,
  parseShadowReadReport,
  sumShadowReads,
  summariseHeldWrites,
  type HeldWriteReport,
  type HeldWritesSummary,
  type ShadowReadMismatch,
  type ShadowReadReport,
  type ShadowReadStats,
} from './router-reports.js';

/** Construction settings of {@link RoutingChannel}. */
export interface RoutingChannelConfig {
  /** An ioredis client for commands; the channel duplicates it once for subscribing. Not closed by the channel. */
  readonly redis: Redis;
  /**
   * Prefix of every key and of the pub/sub channel (tests use a unique one).
   * @defaultValue 'cleave:'
   */
  readonly prefix?: string;
}

/** What a router registers about itself (shown by `cleave status`). */
export interface RouterInfo {
  readonly routerId: string;
  /** The service that embeds the router (free text). */
  readonly service: string;
  readonly host: string;
  readonly pid: number;
  readonly startedAt: number;
}

/** What {@link RoutingChannel.waitForAcks} wants from every live router. */
export interface AckCondition {
  /** The router's applied epoch must be at least this. */
  readonly epoch?: number;
  /** The router must hold writes for this fence. */
  readonly fenceId?: string;
}

/** The outcome of {@link RoutingChannel.waitForAcks}. */
export interface AckWaitResult {
  /** Every live router acknowledged before the deadline. */
  readonly ok: boolean;
  readonly acked: readonly string[];
  /** Live routers that had not acknowledged at the deadline. */
  readonly missing: readonly string[];
}

/** A listener of {@link RoutingChannel.subscribe}. */
export type RoutingListener = (message: RoutingMessage) => void;

/** How long shadow-read totals stay in Redis after their last update (they survive router restarts). */
export const SHADOW_READ_STATS_TTL_MS = 7 * 24 * 3600_000;
/** How long a fence's held-write reports stay in Redis. */
export const HELD_WRITE_REPORTS_TTL_MS = 24 * 3600_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The routing control plane over Redis, used from both ends: routers register with a lease
 * (a key with a TTL that they refresh), learn fences, and acknowledge the epoch they applied; the
 * coordinator fences, announces epochs and waits for the acks of every live router.
 *
 * Keys (under `prefix`): `router:<id>` (lease, TTL), `routers` (set of ids), `acks:<migrationId>`
 * (hash router id -> ack), `fence:<migrationId>` (fence, TTL), `shadow-reads:<migrationId>` (hash
 * router id -> cumulative shadow-read counters per epoch, 7-day TTL), `shadow-read-mismatches:<migrationId>`
 * (list, newest first), `held:<migrationId>:<fenceId>` (hash router id -> held-write report, 1-day TTL);
 * channel `routing`.
 * Pub/sub messages are hints; the keys are the truth, so routers also poll them.
 *
 * @example
 * const channel = new RoutingChannel({ redis, prefix: 'cleave:' });
 * const fence = await channel.fence(migration.id, migration.epoch, { ttlMs: 30_000 });
 * const acked = await channel.waitForAcks(migration.id, { fenceId: fence.fenceId }, { timeoutMs: 5_000 });
 * if (!acked.ok) await channel.unfence(migration.id, fence.fenceId); // abort: keep the old epoch
 */
/** Deletes KEYS[1] when absent or when its fence record's id is ARGV[1]; -1 when it is another's. */
const UNFENCE_IF_OWN = `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local ok, record = pcall(cjson.decode, v)
if ok and type(record) == 'table' and record['fenceId'] ~= ARGV[1] then return -1 end
return redis.call('DEL', KEYS[1])
`;

export class RoutingChannel {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #subscribers = new Set<Redis>();

  constructor(config: RoutingChannelConfig) {
    this.#redis = config.redis;
    this.#prefix = config.prefix ?? 'cleave:';
  }

  /** The key prefix of this channel (routers and coordinators must share it). */
  get prefix(): string {
    return this.#prefix;
  }

  /** The pub/sub channel name. */
  get channelName(): string {
    return `${this.#prefix}routing`;
  }

  #key(...parts: string[]): string {
    return this.#prefix + parts.join(':');
  }

  // ---- router side -------------------------------------------------------------------------

  /** Registers (or refreshes) a router's lease: it counts as live for `ttlMs` from now. */
  async registerRouter(info: RouterInfo, ttlMs: number): Promise<void> {
    if (!Number.isInteger(ttlMs) || ttlMs < 100) throw new CleaveError('INVALID_ARGUMENT', `lease ttlMs must be an integer >= 100, got ${ttlMs}`);
    await this.#redis.multi().set(this.#key('router', info.routerId), JSON.stringify(info), 'PX', ttlMs).sadd(this.#key('routers'), info.routerId).exec();
  }

  /** Removes a router (clean shutdown): coordinators stop waiting for it at once. */
  async deregisterRouter(routerId: string): Promise<void> {
    await this.#redis.multi().del(this.#key('router', routerId)).srem(this.#key('routers'), routerId).exec();
  }

  /** Records a router's ack for a migration and publishes it. */
  async ack(migrationId: string, routerId: string, ack: RouterAck): Promise<void> {
    await this.#redis.hset(this.#key('acks', migrationId), routerId, JSON.stringify(ack));
    await this.#publish({ type: 'ack', migrationId, routerId, ack });
  }

  /** The current fences of these migrations (absent: not fenced). */
  async fences(migrationIds: readonly string[]): Promise<Map<string, FenceRecord>> {
    const result = new Map<string, FenceRecord>();
    if (migrationIds.length === 0) return result;
    const values = await this.#redis.mget(...migrationIds.map((id) => this.#key('fence', id)));
    migrationIds.forEach((id, i) => {
      const text = values[i];
      if (text === null || text === undefined) return;
      const record = parseFenceRecord(safeJson(text));
      if (record !== null) result.set(id, record);
    });
    return result;
  }

  /**
   * Calls `listener` for every message on the channel (on a duplicated connection). Resolves once
   * subscribed; the returned function unsubscribes and closes that connection.
   */
  async subscribe(listener: RoutingListener): Promise<() => Promise<void>> {
    // Resubscribed here after a reconnect, not by ioredis: its own resubscribe leaves the command's
    // rejection unhandled when the connection drops again or is closed meanwhile (ioredis#2187,
    // merged after 5.11.1), and an unhandled rejection ends a Node process: a service's, with a router.
    const subscriber = this.#redis.duplicate({ autoResubscribe: false });
    this.#subscribers.add(subscriber);
    let subscribed = false;
    subscriber.on('error', () => undefined); // reconnects by itself; the poller covers the gap
    subscriber.on('ready', () => {
      if (subscribed) subscriber.subscribe(this.channelName).catch(() => undefined); // the poller covers a failed one too
    });
    subscriber.on('message', (channel: string, text: string) => {
      if (channel !== this.channelName) return;
      const message = parseRoutingMessage(text);
      if (message !== null) listener(message);
    });
    await subscriber.subscribe(this.channelName);
    subscribed = true;
    return async () => {
      this.#subscribers.delete(subscriber);
      subscriber.disconnect();
    };
  }

  /**
   * Publishes a router's cumulative shadow-read counters for a migration (replacing its previous
   * report) and appends new mismatches to the migration's recent list. Kept `ttlMs` after the last
   * update by any router, so the totals of a router that restarted (under a new id) still count.
   */
  async reportShadowReads(migrationId: string, report: ShadowReadReport, mismatches: readonly ShadowReadMismatch[] = [], ttlMs = SHADOW_READ_STATS_TTL_MS): Promise<void> {
    const key = this.#key('shadow-reads', migrationId);
    const tx = this.#redis.multi().hset(key, report.routerId, JSON.stringify({ epochs: report.epochs, at: report.at })).pexpire(key, ttlMs);
    if (mismatches.length > 0) {
      const list = this.#key('shadow-read-mismatches', migrationId);
      tx.lpush(list, ...mismatches.map((m) => JSON.stringify(m)))
        .ltrim(list, 0, MAX_RECENT_MISMATCHES - 1)
        .pexpire(list, ttlMs);
    }
    await tx.exec();
  }

  /** Reports how long a router held writes for a fence (after the fence was lifted). */
  async reportHeldWrites(migrationId: string, fenceId: string, routerId: string, report: HeldWriteReport): Promise<void> {
    const key = this.#key('held', migrationId, fenceId);
    await this.#redis.multi().hset(key, routerId, JSON.stringify(report)).pexpire(key, HELD_WRITE_REPORTS_TTL_MS).exec();
  }

  // ---- coordinator side --------------------------------------------------------------------

  /**
   * Every router's shadow reads of a migration, summed (per epoch too), with the recent mismatches.
   * `routers` is empty when no router reported any.
   */
  async shadowReadStats(migrationId: string): Promise<ShadowReadStats> {
    const [all, recent] = await Promise.all([
      this.#redis.hgetall(this.#key('shadow-reads', migrationId)),
      this.#redis.lrange(this.#key('shadow-read-mismatches', migrationId), 0, MAX_RECENT_MISMATCHES - 1),
    ]);
    const reports = Object.entries(all)
      .map(([routerId, text]) => parseShadowReadReport(routerId, safeJson(text)))
      .filter((r): r is ShadowReadReport => r !== null);
    const mismatches = recent.map((text) => parseShadowReadMismatch(safeJson(text))).filter((m): m is ShadowReadMismatch => m !== null);
    return sumShadowReads(reports, mismatches);
  }

  /** The held-write reports of a fence, by router id. */
  async heldWriteReports(migrationId: string, fenceId: string): Promise<Map<string, HeldWriteReport>> {
    const all = await this.#redis.hgetall(this.#key('held', migrationId, fenceId));
    const result = new Map<string, HeldWriteReport>();
    for (const [routerId, text] of Object.entries(all)) {
      const report = parseHeldWriteReport(safeJson(text));
      if (report !== null) result.set(routerId, report);
    }
    return result;
  }

  /**
   * Waits until each of `routers` (those that acked the fence) reported its held writes for the
   * fence, or the deadline; combines whatever was reported by then (reports of other routers too).
   */
  async waitForHeldWrites(migrationId: string, fenceId: string, routers: readonly string[], options: { timeoutMs: number; pollMs?: number }): Promise<HeldWritesSummary> {
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      const reports = await this.heldWriteReports(migrationId, fenceId);
      const missing = routers.filter((id) => !reports.has(id));
      if (missing.length === 0 || Date.now() >= deadline) return summariseHeldWrites(reports, missing);
      await sleep(options.pollMs ?? 25);
    }
  }

  /** Routers whose lease is current (expired ones are dropped from the set). */
  async liveRouters(): Promise<RouterInfo[]> {
    const ids = (await this.#redis.smembers(this.#key('routers'))).sort();
    if (ids.length === 0) return [];
    const values = await this.#redis.mget(...ids.map((id) => this.#key('router', id)));
    const live: RouterInfo[] = [];
    const gone: string[] = [];
    ids.forEach((id, i) => {
      const text = values[i];
      if (text === null || text === undefined) gone.push(id);
      else live.push(safeJson(text) as RouterInfo);
    });
    if (gone.length > 0) await this.#redis.srem(this.#key('routers'), ...gone);
    return live;
  }

  /** Every router's last ack for a migration. */
  async acks(migrationId: string): Promise<Map<string, RouterAck>> {
    const all = await this.#redis.hgetall(this.#key('acks', migrationId));
    const result = new Map<string, RouterAck>();
    for (const [routerId, text] of Object.entries(all)) {
      const ack = parseRouterAck(safeJson(text));
      if (ack !== null) result.set(routerId, ack);
    }
    return result;
  }

  /**
   * Fences a migration: routers whose applied epoch is <= `epoch` hold new writes to its tables
   * and ack with the returned `fenceId` once their in-flight writes finished. The fence expires
   * after `ttlMs` (a crashed coordinator cannot hold writes forever).
   */
  async fence(migrationId: string, epoch: number, options: { ttlMs: number }): Promise<FenceRecord> {
    const record: FenceRecord = { fenceId: randomBytes(8).toString('hex'), epoch, at: Date.now() };
    await this.#redis.set(this.#key('fence', migrationId), JSON.stringify(record), 'PX', options.ttlMs);
    await this.#publish({ type: 'fence', migrationId, epoch, fenceId: record.fenceId });
    return record;
  }

  /**
   * Lifts a fence (only `fenceId`'s, when given): held writes proceed. The compare and the delete
   * are one script on the server: a coordinator that lost its lease cannot read its own fence,
   * then delete the one its successor put there meanwhile. `options.epoch`: the epoch in force
   * after the switch (or its abort); a router still on an older one keeps holding writes until it
   * has loaded it, so a router whose reload failed or was slow never writes by the old placement.
   */
  async unfence(migrationId: string, fenceId?: string, options: { epoch?: number } = {}): Promise<void> {
    const key = this.#key('fence', migrationId);
    if (fenceId !== undefined) {
      const outcome = Number(await this.#redis.eval(UNFENCE_IF_OWN, 1, key, fenceId));
      if (outcome < 0) return; // another coordinator's fence: not ours to lift
    } else {
      await this.#redis.del(key);
    }
    await this.#publish({ type: 'unfence', migrationId, fenceId: fenceId ?? '*', ...(options.epoch === undefined ? {} : { epoch: options.epoch }) });
  }

  /** Tells routers that a migration's state changed in the control store (they reload it). */
  async announceEpoch(migrationId: string, epoch: number): Promise<void> {
    await this.#publish({ type: 'epoch', migrationId, epoch });
  }

  /**
   * Waits until every live router acknowledged `condition` for the migration, or the deadline.
   * A router whose lease lapses stops counting (it holds its writes by itself).
   */
  async waitForAcks(migrationId: string, condition: AckCondition, options: { timeoutMs: number; pollMs?: number }): Promise<AckWaitResult> {
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      const [routers, acks] = await Promise.all([this.liveRouters(), this.acks(migrationId)]);
      const acked: string[] = [];
      const missing: string[] = [];
      for (const router of routers) {
        const ack = acks.get(router.routerId);
        const good =
          ack !== undefined &&
          (condition.epoch === undefined || ack.epoch >= condition.epoch) &&
          (condition.fenceId === undefined || ack.fenceId === condition.fenceId);
        (good ? acked : missing).push(router.routerId);
      }
      if (missing.length === 0) return { ok: true, acked, missing };
      if (Date.now() >= deadline) return { ok: false, acked, missing };
      await sleep(options.pollMs ?? 25);
    }
  }

  /** Closes the subscriber connections this channel opened (not the command client). */
  async close(): Promise<void> {
    for (const subscriber of this.#subscribers) subscriber.disconnect();
    this.#subscribers.clear();
  }

  async #publish(message: RoutingMessage): Promise<void> {
    await this.#redis.publish(this.channelName, JSON.stringify(message));
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
