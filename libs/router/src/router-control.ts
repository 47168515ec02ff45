import os from 'node:os';
import { randomBytes } from 'node:crypto';
import type { FenceRecord, RoutingChannel, RoutingMessage } from '@cleave/control';
import { HeldWriteTally, type ClosedFence } from './held-write-tally.js';
import { RoutingTable, type RoutedMigration } from './routing-table.js';
import { ShadowReadTally } from './shadow-read-tally.js';
import type { RouterLog } from './router-config.js';
import { StoreRegistration, canRegister } from './store-registration.js';
import { withTimeout } from './with-timeout.js';

/** Where the router reads the migrations from: a `ControlStore` fits. */
export interface MigrationSource {
  listMigrations(): Promise<readonly RoutedMigration[]>;
}

export interface RouterControlConfig {
  readonly store: MigrationSource;
  readonly channel: RoutingChannel | undefined;
  readonly routerId: string;
  readonly service: string;
  readonly leaseTtlMs: number;
  readonly pollMs: number;
  readonly log: RouterLog;
  /** Called whenever writes may have become allowed (fence lifted, epoch applied, lease regained). */
  readonly onChange: () => void;
  /** Resolves once no write of the migration is in flight. */
  readonly idle: (migrationId: string) => Promise<void>;
  /** Failed shadow writes of the migration not yet in the failure store (reported with each ack). */
  readonly pendingFailures: (migrationId: string) => number;
  /** What the writes of a migration still in flight wait for (logged when a fence's drain is slow). */
  readonly drainReport: (migrationId: string) => Record<string, unknown>;
  /** Milliseconds after a fence before a slow drain is logged. */
  readonly slowDrainLogMs: number;
}

/** A fresh router id: host, pid and random bytes. */
export function newRouterId(): string {
  return `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/**
 * The router's side of the control plane: loads the routing state from the control store,
 * holds a lease in Redis (heartbeat), follows fences and epochs (pushed over pub/sub, and polled
 * as a fallback), and acknowledges the epoch it applied and the fences it holds.
 *
 * Safety rules: writes to a migration's tables are allowed only while the lease is current, the
 * state was reloaded since the lease was (re)gained, and no fence covers the applied epoch.
 *
 * Reports: the shadow-read counters that changed are published with the heartbeat (and at stop);
 * when a fence is lifted, how long writes were held for it.
 */
export class RouterControl {
  readonly #config: RouterControlConfig;
  #table = new RoutingTable([]);
  readonly #fences = new Map<string, FenceRecord>();
  readonly #ackedFence = new Map<string, string>();
  readonly #overlapsLogged = new Set<string>();
  /** The pending shadow failures each migration's last ack reported (re-acked when that changes). */
  readonly #ackedPending = new Map<string, number>();
  /** Fences lifted at an epoch this router has not loaded yet: migration id -> that epoch. */
  readonly #liftPending = new Map<string, number>();
  #leaseUntil = 0;
  #resync = true;
  #timers: NodeJS.Timeout[] = [];
  #unsubscribe: (() => Promise<void>) | undefined;
  #closed = false;
  #registration: StoreRegistration | undefined;
  #reloading: Promise<void> | undefined;
  #lastError: string | null = null;
  /** Shadow reads compared by this router (the shadow reader counts here). */
  readonly shadowReads = new ShadowReadTally();
  readonly #held = new HeldWriteTally();

  constructor(config: RouterControlConfig) {
    this.#config = config;
  }

  get table(): RoutingTable {
    return this.#table;
  }

  /** Whether the lease is current (always true without a channel). */
  get leaseValid(): boolean {
    return this.#config.channel === undefined || (performance.now() < this.#leaseUntil && !this.#resync);
  }

  /** Milliseconds the lease stays current without another heartbeat (0 when lapsed; Infinity without a channel). */
  leaseRemainingMs(): number {
    if (this.#config.channel === undefined) return Number.POSITIVE_INFINITY;
    return this.leaseValid ? Math.max(0, this.#leaseUntil - performance.now()) : 0;
  }

  /** Fences currently known, by migration id. */
  get fences(): ReadonlyMap<string, FenceRecord> {
    return this.#fences;
  }

  get lastError(): string | null {
    return this.#lastError;
  }

  /**
   * Why this router must not write a migration's tables whatever its lease says, or null: the
   * migration's fences go out on a routing channel this router does not listen to (another key
   * prefix, or none), so it would never be held by a switch.
   */
  controlMismatch(migrationId: string): string | null {
    const expected = this.#table.migrations.find((m) => m.id === migrationId)?.routingPrefix;
    if (expected === undefined || expected === null) return null;
    const own = this.#config.channel?.prefix;
    if (own === expected) return null;
    const name = this.#table.migrations.find((m) => m.id === migrationId)?.name ?? migrationId;
    return own === undefined
      ? `migration ${name} is fenced on the routing channel with prefix "${expected}", and this router has no routing channel: a switch would not hold its writes`
      : `migration ${name} is fenced on the routing channel with prefix "${expected}", and this router listens on "${own}": a switch would not hold its writes`;
  }

  /** Whether writes to a migration's tables may run now. */
  writeAllowed(migrationId: string): boolean {
    if (!this.leaseValid) return false;
    return !this.#fenced(migrationId);
  }

  #fenced(migrationId: string): boolean {
    const fence = this.#fences.get(migrationId);
    if (fence === undefined) return false;
    return fence.epoch >= this.#appliedEpoch(migrationId);
  }

  async start(): Promise<void> {
    const { channel } = this.#config;
    // Subscribed before the first load: a switch between the two is not missed until the next poll.
    if (channel !== undefined) this.#unsubscribe = await channel.subscribe((message) => this.#onMessage(message));
    await this.#reload();
    // Registered in the control store too: a coordinator counts this router whatever Redis it uses.
    if (canRegister(this.#config.store)) {
      this.#registration = new StoreRegistration(this.#config.store, { routerId: this.#config.routerId, service: this.#config.service, routingPrefix: channel?.prefix ?? null }, this.#config.log);
      await this.#registration.start();
    }
    if (channel !== undefined) {
      await this.#heartbeat();
      await this.#pollFences();
      this.#resync = false;
      for (const m of this.#table.migrations) await this.#ack(m.id);
      this.#every(Math.max(50, Math.floor(this.#config.leaseTtlMs / 3)), () => this.#heartbeat());
    }
    this.#every(this.#config.pollMs, () => this.#poll());
    this.#config.onChange();
  }

  /** A write to these migrations ran after being held `ms` (by a fence or a lapsed lease). */
  recordHeld(migrationIds: readonly string[], ms: number): void {
    this.#held.record(migrationIds, ms);
  }

  async stop(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    await this.#unsubscribe?.().catch(() => undefined);
    await this.#publishShadowReads();
    await this.#config.channel?.deregisterRouter(this.#config.routerId).catch(() => undefined);
    await this.#registration?.stop();
  }

  #every(ms: number, fn: () => Promise<void>): void {
    let running = false;
    const timer = setInterval(() => {
      if (running || this.#closed) return;
      running = true;
      void fn().finally(() => (running = false));
    }, ms);
    timer.unref?.();
    this.#timers.push(timer);
  }

  async #heartbeat(): Promise<void> {
    const { channel, leaseTtlMs } = this.#config;
    if (channel === undefined) return;
    const sentAt = performance.now();
    // A lease that lapsed (Redis unreachable, or this process paused past it) may have let the
    // coordinator fence and flip without this router: reload the state before writing again.
    if (sentAt >= this.#leaseUntil && this.#timers.length > 0) this.#resync = true;
    try {
      await withTimeout(
        channel.registerRouter({ routerId: this.#config.routerId, service: this.#config.service, host: os.hostname(), pid: process.pid, startedAt: Date.now() }, leaseTtlMs),
        Math.max(50, Math.floor(leaseTtlMs / 3)),
        'lease heartbeat',
      );
    } catch (error) {
      this.#error('lease heartbeat failed', error);
      if (performance.now() >= this.#leaseUntil) this.#resync = true;
      return;
    }
    // Counted from when the heartbeat was sent, with a 10% margin: the lease ends here before it ends in Redis.
    this.#leaseUntil = sentAt + leaseTtlMs * 0.9;
    if (this.#resync && this.#timers.length > 0) {
      try {
        await this.#reload();
        await this.#pollFences();
        this.#resync = false;
        this.#config.log({ level: 'info', message: 'control plane lease regained; routing state reloaded' });
        for (const m of this.#table.migrations) await this.#ack(m.id);
        this.#config.onChange();
      } catch (error) {
        this.#error('reloading routing state after the lease lapsed failed', error);
      }
    }
    // A coordinator reads pending failures from the last ack: keep it true as they reach the store.
    for (const m of this.#table.migrations) if (this.#config.pendingFailures(m.id) !== (this.#ackedPending.get(m.id) ?? 0)) await this.#ack(m.id);
    await this.#publishShadowReads();
  }

  /** Publishes the shadow-read counters that changed since the last publish. */
  async #publishShadowReads(): Promise<void> {
    const { channel, routerId } = this.#config;
    if (channel === undefined) return;
    for (const report of this.shadowReads.take()) {
      try {
        await withTimeout(
          channel.reportShadowReads(report.migrationId, { routerId, epochs: report.epochs, at: Date.now() }, report.mismatches.map((m) => ({ ...m, routerId }))),
          Math.max(100, this.#config.leaseTtlMs / 3),
          'publishing shadow-read counters',
        );
      } catch (error) {
        this.shadowReads.giveBack(report);
        this.#error('publishing shadow-read counters failed', error);
      }
    }
  }

  /** Reports the held writes of a fence that ended (best effort: a lost report only leaves the switch's record without it). */
  #reportHeld(closed: ClosedFence | undefined): void {
    const { channel } = this.#config;
    if (channel === undefined || closed === undefined) return;
    void channel.reportHeldWrites(closed.migrationId, closed.fenceId, this.#config.routerId, closed.report).catch((error: unknown) => this.#error('reporting held writes failed', error));
  }

  async #poll(): Promise<void> {
    try {
      await this.#reload();
      await this.#pollFences();
    } catch (error) {
      this.#error('polling routing state failed', error);
    }
  }

  async #pollFences(): Promise<void> {
    const { channel } = this.#config;
    if (channel === undefined) return;
    const ids = this.#table.migrations.map((m) => m.id);
    const current = await withTimeout(channel.fences(ids), Math.max(100, this.#config.leaseTtlMs / 3), 'reading fences');
    for (const id of ids) {
      const fence = current.get(id);
      const known = this.#fences.get(id);
      if (fence === undefined) {
        // Gone without its message (lost, or this router was cut off): the epoch it was lifted at is unknown.
        if (known !== undefined) await this.#lift(id, known.fenceId, this.#liftPending.get(id));
      } else if (known?.fenceId !== fence.fenceId) {
        this.#applyFence(id, fence);
      }
    }
  }

  /** Loads until the migration's epoch is at least `epoch` (a load already running may predate it). */
  async #catchUp(migrationId: string, epoch: number): Promise<void> {
    try {
      await this.#reloading?.catch(() => undefined);
      if (this.#appliedEpoch(migrationId) < epoch) await this.#reload();
    } catch (error) {
      this.#error('reloading routing state failed', error);
    }
  }

  #appliedEpoch(migrationId: string): number {
    return this.#table.migrations.find((m) => m.id === migrationId)?.epoch ?? 0;
  }

  /**
   * Lifts a fence for this router, but only once it routes by the epoch in force: a router whose
   * reload failed or was slow would otherwise write by the placement the switch replaced. Without
   * the epoch (a lost unfence message) it reloads first: the flip precedes the unfence, so a load
   * after the lift sees the switch's epoch. Until then the fence stays and writes stay held (they
   * time out rather than run at the old epoch); the next poll tries again.
   */
  async #lift(migrationId: string, fenceId: string, epoch: number | undefined): Promise<void> {
    let loaded = true;
    if (epoch === undefined || this.#appliedEpoch(migrationId) < epoch) {
      try {
        await this.#reloading?.catch(() => undefined); // begun before the lift: it may predate the flip
        await this.#reload();
      } catch (error) {
        loaded = false;
        this.#error('reloading routing state before lifting a fence failed; writes stay held', error);
      }
    }
    if (this.#fences.get(migrationId)?.fenceId !== fenceId) return; // another fence meanwhile
    if (!loaded || (epoch !== undefined && this.#appliedEpoch(migrationId) < epoch)) {
      if (epoch !== undefined) this.#liftPending.set(migrationId, epoch);
      this.#config.log({ level: 'warn', message: 'fence lifted, but this router has not loaded the epoch in force: writes stay held until it has', migrationId, epoch: epoch ?? null, applied: this.#appliedEpoch(migrationId) });
      return;
    }
    this.#liftPending.delete(migrationId);
    this.#fences.delete(migrationId);
    void this.#ack(migrationId);
    this.#config.onChange(); // releases the held writes (counted for the fence)
    this.#reportHeld(this.#held.close(migrationId));
  }

  #onMessage(message: RoutingMessage): void {
    switch (message.type) {
      case 'fence':
        this.#applyFence(message.migrationId, { fenceId: message.fenceId, epoch: message.epoch, at: Date.now() });
        break;
      case 'unfence': {
        const known = this.#fences.get(message.migrationId);
        if (known !== undefined && (message.fenceId === '*' || known.fenceId === message.fenceId)) {
          void this.#lift(message.migrationId, known.fenceId, message.epoch);
        }
        break;
      }
      case 'epoch': {
        if (message.epoch > this.#appliedEpoch(message.migrationId)) void this.#catchUp(message.migrationId, message.epoch);
        break;
      }
      default:
        break;
    }
  }

  #applyFence(migrationId: string, fence: FenceRecord): void {
    this.#fences.set(migrationId, fence);
    this.#reportHeld(this.#held.open(migrationId, fence.fenceId));
    this.#config.log({ level: 'info', message: 'fence: holding new writes', migrationId, fenceId: fence.fenceId, epoch: fence.epoch });
    // Ack once the writes in flight when the fence arrived have finished.
    const arrived = performance.now();
    const slow = setTimeout(() => {
      this.#config.log({
        level: 'warn',
        message: 'fence: writes still in flight, not acknowledged yet',
        migrationId,
        fenceId: fence.fenceId,
        afterMs: Math.round(performance.now() - arrived),
        ...this.#config.drainReport(migrationId),
      });
    }, this.#config.slowDrainLogMs);
    slow.unref?.();
    void this.#config.idle(migrationId).then(() => {
      clearTimeout(slow);
      return this.#ack(migrationId);
    });
  }

  /** Reloads the migrations; acks changed epochs. Concurrent calls share one load. */
  #reload(): Promise<void> {
    this.#reloading ??= (async () => {
      try {
        const migrations = await withTimeout(this.#config.store.listMigrations(), 10_000, 'loading migrations');
        const before = new Map(this.#table.migrations.map((m) => [m.id, m.epoch]));
        // Never go back to an older epoch (a stale read of the store).
        const merged = migrations.map((m) => {
          const old = this.#table.migrations.find((o) => o.id === m.id);
          return old !== undefined && old.epoch > m.epoch ? old : m;
        });
        this.#table = new RoutingTable(merged);
        for (const o of this.#table.overlaps) {
          const said = `${o.table}:${o.followed}:${o.ignored}`;
          if (this.#overlapsLogged.has(said)) continue;
          this.#overlapsLogged.add(said);
          this.#config.log({ level: 'error', message: `two migrations cover ${o.table}: routing by ${o.followed}, ignoring ${o.ignored}`, table: o.table });
        }
        const changed = merged.filter((m) => before.get(m.id) !== m.epoch);
        if (changed.length > 0) {
          for (const m of changed) {
            this.#config.log({ level: 'info', message: 'routing epoch applied', migrationId: m.id, phase: m.phase, epoch: m.epoch });
            if (this.#timers.length > 0) void this.#ack(m.id);
          }
          this.#config.onChange();
        }
      } finally {
        this.#reloading = undefined;
      }
    })();
    return this.#reloading;
  }

  async #ack(migrationId: string): Promise<void> {
    const { channel } = this.#config;
    if (channel === undefined || this.#closed) return;
    const migration = this.#table.migrations.find((m) => m.id === migrationId);
    if (migration === undefined) return;
    const fence = this.#fences.get(migrationId);
    const holding = fence !== undefined && fence.epoch >= migration.epoch;
    try {
      const pendingFailures = this.#config.pendingFailures(migrationId);
      await channel.ack(migrationId, this.#config.routerId, { epoch: migration.epoch, fenceId: holding ? fence.fenceId : null, at: Date.now(), ...(pendingFailures > 0 ? { pendingFailures } : {}) });
      this.#ackedPending.set(migrationId, pendingFailures);
      if (holding) this.#ackedFence.set(migrationId, fence.fenceId);
    } catch (error) {
      this.#error('acknowledging failed', error);
    }
  }

  #error(message: string, error: unknown): void {
    this.#lastError = `${message}: ${(error as Error).message}`;
    this.#config.log({ level: 'warn', message, error: (error as Error).message });
  }
}
