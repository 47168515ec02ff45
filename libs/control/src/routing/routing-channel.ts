import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { CleaveError } from '@cleave/core';
import { parseFenceRecord, parseRouterAck, parseRoutingMessage, type FenceRecord, type RouterAck, type RoutingMessage } from './routing-messages.js';

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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The routing control plane over Redis, used from both ends: routers register with a lease
 * (a key with a TTL that they refresh), learn fences, and acknowledge the epoch they applied; the
 * coordinator fences, announces epochs and waits for the acks of every live router.
 *
 * Keys (under `prefix`): `router:<id>` (lease, TTL), `routers` (set of ids), `acks:<migrationId>`
 * (hash router id -> ack), `fence:<migrationId>` (fence, TTL); channel `routing`.
 * Pub/sub messages are hints; the keys are the truth, so routers also poll them.
 *
 * @example
 * const channel = new RoutingChannel({ redis, prefix: 'cleave:' });
 * const fence = await channel.fence(migration.id, migration.epoch, { ttlMs: 30_000 });
 * const acked = await channel.waitForAcks(migration.id, { fenceId: fence.fenceId }, { timeoutMs: 5_000 });
 * if (!acked.ok) await channel.unfence(migration.id, fence.fenceId); // abort: keep the old epoch
 */
export class RoutingChannel {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #subscribers = new Set<Redis>();

  constructor(config: RoutingChannelConfig) {
    this.#redis = config.redis;
    this.#prefix = config.prefix ?? 'cleave:';
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
    const subscriber = this.#redis.duplicate();
    this.#subscribers.add(subscriber);
    subscriber.on('error', () => undefined); // reconnects by itself; the poller covers the gap
    subscriber.on('message', (channel: string, text: string) => {
      if (channel !== this.channelName) return;
      const message = parseRoutingMessage(text);
      if (message !== null) listener(message);
    });
    await subscriber.subscribe(this.channelName);
    return async () => {
      this.#subscribers.delete(subscriber);
      subscriber.disconnect();
    };
  }

  // ---- coordinator side --------------------------------------------------------------------

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

  /** Lifts a fence (only `fenceId`'s, when given): held writes proceed. */
  async unfence(migrationId: string, fenceId?: string): Promise<void> {
    const key = this.#key('fence', migrationId);
    if (fenceId !== undefined) {
      const current = parseFenceRecord(safeJson((await this.#redis.get(key)) ?? 'null'));
      if (current !== null && current.fenceId !== fenceId) return;
    }
    await this.#redis.del(key);
    await this.#publish({ type: 'unfence', migrationId, fenceId: fenceId ?? '*' });
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
