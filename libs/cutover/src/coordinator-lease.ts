import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { CleaveError } from '@cleave/core';

/** The one Redis command the lease needs (an ioredis client fits). */
export interface LeaseRedis {
  eval(script: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>;
}

/** Construction settings of {@link CoordinatorLeases}. */
export interface CoordinatorLeasesConfig {
  readonly redis: LeaseRedis;
  /** Key prefix (tests use a unique one). @defaultValue 'cleave:' */
  readonly prefix?: string;
  /** How long a lease lasts without renewal, ms (renewed every third of it). @defaultValue 5000 */
  readonly ttlMs?: number;
  /** Who we are (shown to whoever waits for the lease). @defaultValue host-pid-random */
  readonly holder?: string;
}

// KEYS: lease, token counter. ARGV: holder, ttl, floor. Returns {token, holder}: ours when token > 0.
// The floor (the highest token the control store has seen) keeps tokens increasing even when
// Redis lost the counter.
const ACQUIRE = `
local v = redis.call('GET', KEYS[1])
if v then
  local sep = string.find(v, ':', 1, true)
  local holder = string.sub(v, sep + 1)
  if holder == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return {tonumber(string.sub(v, 1, sep - 1)), holder}
  end
  return {0, holder}
end
local token = redis.call('INCR', KEYS[2])
local floor = tonumber(ARGV[3]) or 0
if token <= floor then
  token = floor + 1
  redis.call('SET', KEYS[2], token)
end
redis.call('SET', KEYS[1], token .. ':' .. ARGV[1], 'PX', ARGV[2])
return {token, ARGV[1]}`;
// KEYS: lease. ARGV: value, ttl.
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A held lease: the one coordinator of a migration. `token` is the fencing token (strictly
 * increasing per migration). The lease alone cannot stop a holder that was paused past its TTL
 * between `check()` and a write, so the token travels with every write: the control store keeps
 * the highest token it has seen and refuses a lower one in the same transaction as the write
 * (`STALE_COORDINATOR`, see `ControlStore.claimCoordinator`). `check()` renews the lease and
 * throws `CONFLICT` once it is lost: an early, cheap test before each step, not the guarantee.
 */
export class CoordinatorLease {
  readonly migrationId: string;
  readonly token: number;
  readonly holder: string;
  readonly #leases: CoordinatorLeases;
  readonly #timer: NodeJS.Timeout;
  #lost = false;
  #released = false;

  /** @internal */
  constructor(leases: CoordinatorLeases, migrationId: string, token: number, holder: string, renewEveryMs: number) {
    this.#leases = leases;
    this.migrationId = migrationId;
    this.token = token;
    this.holder = holder;
    this.#timer = setInterval(() => void this.check().catch(() => undefined), renewEveryMs);
    this.#timer.unref?.();
  }

  get lost(): boolean {
    return this.#lost;
  }

  /** Renews the lease; throws `CONFLICT` when another coordinator has it (or it lapsed). */
  async check(): Promise<void> {
    if (this.#released) throw new CleaveError('INTERNAL', `the coordinator lease of migration ${this.migrationId} was released`);
    if (!this.#lost && !(await this.#leases.renew(this))) this.#lost = true;
    if (this.#lost) {
      clearInterval(this.#timer);
      throw new CleaveError('CONFLICT', `lost the coordinator lease of migration ${this.migrationId} (token ${this.token}): another coordinator took over`, {
        hint: 'Nothing more was changed by this coordinator; see `cleave status <id>`.',
      });
    }
  }

  /** Gives the lease up (idempotent). */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    clearInterval(this.#timer);
    if (!this.#lost) await this.#leases.release(this);
  }
}

/**
 * One coordinator at a time per migration: a lease in Redis (`<prefix>coordinator:<id>`) with a
 * fencing token (`<prefix>coordinator-token:<id>`, INCR). A coordinator that dies loses the
 * lease after `ttlMs`; the next one gets a higher token and recovers the interrupted change
 * from the control store.
 *
 * @example
 * const lease = await leases.acquire(migration.id, { waitMs: 10_000 });
 * try { ... await lease.check(); ... } finally { await lease.release(); }
 */
export class CoordinatorLeases {
  readonly #redis: LeaseRedis;
  readonly #prefix: string;
  readonly ttlMs: number;
  readonly holder: string;

  constructor(config: CoordinatorLeasesConfig) {
    this.#redis = config.redis;
    this.#prefix = config.prefix ?? 'cleave:';
    this.ttlMs = config.ttlMs ?? 5_000;
    if (!Number.isInteger(this.ttlMs) || this.ttlMs < 300) throw new CleaveError('CONFIG_INVALID', `coordinator lease ttlMs must be an integer >= 300, got ${this.ttlMs}`);
    this.holder = config.holder ?? `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  }

  #key(migrationId: string): string {
    return `${this.#prefix}coordinator:${migrationId}`;
  }

  /**
   * Tries once; `null` when another coordinator holds it. `minToken`: the new token is above it
   * (pass the highest token the control store has seen, in case Redis lost its counter).
   */
  async tryAcquire(migrationId: string, minToken = 0): Promise<CoordinatorLease | null> {
    const [token] = (await this.#redis.eval(ACQUIRE, 2, this.#key(migrationId), `${this.#prefix}coordinator-token:${migrationId}`, this.holder, this.ttlMs, minToken)) as [
      number,
      string,
    ];
    if (Number(token) <= 0) return null;
    return new CoordinatorLease(this, migrationId, Number(token), this.holder, Math.max(100, Math.floor(this.ttlMs / 3)));
  }

  /** Waits up to `waitMs` for the lease; throws `CONFLICT` naming the holder when it stays taken. */
  async acquire(migrationId: string, options: { waitMs?: number; minToken?: number } = {}): Promise<CoordinatorLease> {
    const deadline = Date.now() + (options.waitMs ?? 0);
    for (;;) {
      const lease = await this.tryAcquire(migrationId, options.minToken ?? 0);
      if (lease !== null) return lease;
      if (Date.now() >= deadline) {
        const holder = await this.currentHolder(migrationId);
        throw new CleaveError('CONFLICT', `another coordinator (${holder ?? 'unknown'}) is working on migration ${migrationId}`, {
          hint: 'Wait for it to finish, or, if it died, retry after its lease expires.',
        });
      }
      await sleep(Math.min(200, Math.max(20, this.ttlMs / 10)));
    }
  }

  /** Who holds the migration's lease now, or null. */
  async currentHolder(migrationId: string): Promise<string | null> {
    const value = (await this.#redis.eval(`return redis.call('GET', KEYS[1])`, 1, this.#key(migrationId))) as string | null;
    return value === null ? null : value.slice(value.indexOf(':') + 1);
  }

  /** @internal */
  async renew(lease: CoordinatorLease): Promise<boolean> {
    return Number(await this.#redis.eval(RENEW, 1, this.#key(lease.migrationId), `${lease.token}:${lease.holder}`, this.ttlMs)) === 1;
  }

  /** @internal */
  async release(lease: CoordinatorLease): Promise<void> {
    await this.#redis.eval(RELEASE, 1, this.#key(lease.migrationId), `${lease.token}:${lease.holder}`);
  }
}
