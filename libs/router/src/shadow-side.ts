import type { MigrationSide } from '@cleave/core';
import { encodeShadowKeys } from '@cleave/control';
import { applyKeys, confirmApplies, prepareApply, readApplyImages, writeApplies, type AppliedKeys, type ApplyKeysArgs, type KeyTuple, type PendingConfirm, type PreparedApply, type RawRow, type SyncOptions, type TableShape, type TransactionalPool } from '@cleave/mysql';
import { ConfirmBatcher } from './confirm-batcher.js';
import type { FailureRecorder } from './failure-recorder.js';
import { LaneBatcher } from './lane-batcher.js';
import type { RouterLog } from './router-config.js';
import type { RouterMetrics } from './router-metrics.js';
import type { CoveredTable, Endpoint } from './routing-table.js';
import { withTimeout } from './with-timeout.js';

/**
 * Row images on the dual-write path are built here from plain column reads: a one-row image read
 * then costs the primary about a third of the server-built form's CPU (its CONCAT/HEX expression
 * is mostly parse and setup), and the primary is the server the migration exists to relieve.
 */
const SYNC_OPTIONS: SyncOptions = { imageLiterals: 'client' };

/** Shadow work of one statement, applied after the primary commit. */
export interface ShadowWork {
  readonly covered: CoveredTable;
  readonly primary: MigrationSide;
  readonly shadow: MigrationSide;
  /**
   * The migration's epoch and placement-guard epoch the write was routed under. The shadow write
   * carries the guard epoch (the shadow side refuses writes routed under an older placement), and
   * a failure is recorded with it (a repair never copies from a primary that has changed since).
   */
  readonly epoch: number;
  readonly guardEpoch: number | undefined;
  readonly primaryServer: string;
  readonly shape: TableShape;
  readonly keys: KeyTuple[];
  /** The rows' images as the primary committed them (INSERT … RETURNING), when known. */
  readonly images?: readonly RawRow[];
}

/** The shadow work of a dual write's route, before the primary ran (its keys and images come from it). */
export function shadowWork(
  dual: { readonly covered: CoveredTable; readonly primary: MigrationSide; readonly shadow: MigrationSide },
  primaryServer: string,
  shape: TableShape,
  keys: KeyTuple[],
  images?: readonly RawRow[],
): ShadowWork {
  const { migration } = dual.covered;
  return { covered: dual.covered, primary: dual.primary, shadow: dual.shadow, epoch: migration.epoch, guardEpoch: migration.guardEpoch, primaryServer, shape, keys, ...(images === undefined ? {} : { images }) };
}

/** The busy batching lanes of the shadow side (a slow fence drain names them). */
export interface ShadowLanes {
  readonly imageReads: ReturnType<LaneBatcher<ApplyKeysArgs, RawRow[]>['busyLanes']>;
  readonly applies: ReturnType<LaneBatcher<PreparedApply, AppliedKeys>['busyLanes']>;
  readonly confirms: ReturnType<ConfirmBatcher<PendingConfirm>['busyLanes']>;
}

/** Settings of {@link ShadowApplier}. */
export interface ShadowApplierConfig {
  /** A server's pool as the sync primitives take it. */
  readonly pool: (server: string) => TransactionalPool;
  /** Whether a server is MariaDB (the shadow write's SQL flavour). */
  readonly mariadb: (server: string) => boolean;
  readonly failures: FailureRecorder;
  readonly log: RouterLog;
  readonly metrics: RouterMetrics;
  /** Milliseconds the caller waits for a shadow apply before it is recorded as failed. */
  readonly timeoutMs: number;
  /** Milliseconds a shadow server that failed is skipped (applies recorded at once). */
  readonly retryAfterMs: number;
}

/**
 * The router's writer of the shadow side: after the primary committed, it brings the touched
 * rows to the other side (batched with concurrent writes' work), confirms them, and records what
 * it could not do for a worker to repair. It never fails the caller.
 */
export class ShadowApplier {
  readonly #config: ShadowApplierConfig;
  readonly #downUntil = new Map<string, number>();
  /** The image reads of dual writes, batched per primary table (a `UNION ALL` per batch). */
  readonly #imageReads = new LaneBatcher<ApplyKeysArgs, RawRow[]>(async (_lane, items) =>
    (await readApplyImages(items[0]!.source, items)).map((value) => ({ status: 'fulfilled', value }) as const),
  );
  /** The shadow writes of dual writes, batched per (primary table, shadow table). */
  readonly #applies = new LaneBatcher<PreparedApply, AppliedKeys>((_lane, items) => writeApplies(items));
  /** The confirms of shadow applies, batched per (primary table, shadow table) (see ConfirmBatcher). */
  readonly #confirms = new ConfirmBatcher<PendingConfirm>(confirmApplies);

  constructor(config: ShadowApplierConfig) {
    this.#config = config;
  }

  /**
   * Applies shadow work after the primary committed; never throws (failures are recorded).
   * Resolves when the caller may go on; `settled` once every sync finished (the confirms too: a
   * write stays in flight for fences until then). Reads the primary through its pool, batched
   * with the shadow work of concurrent writes: the image read, the shadow write and the confirm
   * each go in one statement per table for whatever queued while the last one ran.
   */
  async apply(work: ShadowWork): Promise<{ settled: Promise<unknown> }> {
    const syncs: Promise<unknown>[] = [];
    if (work.keys.length === 0) return { settled: Promise.resolve() };
    const { covered } = work;
    const { metrics } = this.#config;
    // Group keys by the shadow endpoint (shard targets by key).
    const groups = new Map<string, { endpoint: Endpoint; keys: KeyTuple[] }>();
    const add = (endpoint: Endpoint, key: KeyTuple) => {
      const id = `${endpoint.server}/${endpoint.database}`;
      const group = groups.get(id) ?? { endpoint, keys: [] };
      group.keys.push(key);
      groups.set(id, group);
    };
    const move = covered.move;
    for (const key of work.keys) {
      if (work.shadow === 'source') add(covered.source, key);
      else if (move.kind === 'tables') add(covered.placement.targets[0]!, key);
      else {
        const at = work.shape.keyColumns.indexOf(move.column);
        const part = at < 0 ? undefined : key[at];
        const endpoint = part === undefined ? undefined : covered.placement.targetOf(part);
        if (endpoint === undefined) {
          await this.#recordFailure(work, [key], new Error(`shard key ${move.column} is not part of the table's key; cannot place the row`));
          continue;
        }
        add(endpoint, key);
      }
    }
    for (const { endpoint, keys } of groups.values()) {
      const started = performance.now();
      const downUntil = this.#downUntil.get(endpoint.server) ?? 0;
      if (performance.now() < downUntil) {
        metrics.increment('cleave_router_shadow_applies_total', { result: 'skipped', path: 'apply' });
        await this.#recordFailure(work, keys, new Error(`shadow server ${endpoint.server} failed recently; apply skipped`));
        continue;
      }
      const timeoutMs = this.#config.timeoutMs;
      try {
        const primaryTable = tableLane(work.primaryServer, work.shape);
        const lane = pairLane(work.primaryServer, work.shape, endpoint);
        const primaryPool = this.#config.pool(work.primaryServer);
        const args: ApplyKeysArgs = {
          source: primaryPool,
          target: this.#config.pool(endpoint.server),
          sourceShape: work.shape,
          targetTable: { database: endpoint.database, table: covered.table },
          keys,
          options: work.guardEpoch === undefined ? SYNC_OPTIONS : { ...SYNC_OPTIONS, guard: { migrationId: covered.migration.id, epoch: work.guardEpoch } },
          targetFlavor: this.#config.mariadb(endpoint.server) ? 'mariadb' : 'mysql',
        };
        // Images known from the statement cover every key only when the keys all go to one place.
        const apply = this.#apply(primaryTable, lane, args, work.images !== undefined && groups.size === 1 ? work.images : undefined);
        // The confirm runs once the apply landed, however long it takes: an apply the caller
        // stopped waiting for still writes an image read earlier, which only the confirm's re-read
        // can catch as stale. It never fails the caller: a failure is recorded for repair.
        const confirm = apply.then(
          (applied) =>
            (applied.pending === undefined ? Promise.resolve(false) : this.#confirms.confirm(lane, primaryPool, applied.pending)).then(
              (raced) => {
                if (raced) metrics.increment('cleave_router_shadow_applies_total', { result: 'raced', path: 'apply' });
              },
              (error: unknown) => this.#recordFailure(work, keys, error),
            ),
          () => undefined, // the apply's own failure is recorded below
        );
        syncs.push(confirm);
        await withTimeout(apply, timeoutMs, 'shadow apply');
        // The caller waits for the confirm only where it could observe the shadow (its reads go
        // there); elsewhere the confirm finishes off its path, still counted as in flight, so a
        // fence waits for it.
        if (covered.routing.reads === work.shadow) await withTimeout(confirm, timeoutMs, 'shadow confirm').catch(() => undefined);
        this.#downUntil.delete(endpoint.server);
        metrics.increment('cleave_router_shadow_applies_total', { result: 'ok', path: 'apply' });
        metrics.observe('cleave_router_shadow_apply_ms', { result: 'ok', path: 'apply' }, performance.now() - started);
      } catch (error) {
        this.#downUntil.set(endpoint.server, performance.now() + this.#config.retryAfterMs);
        metrics.increment('cleave_router_shadow_applies_total', { result: 'failed', path: 'apply' });
        metrics.observe('cleave_router_shadow_apply_ms', { result: 'failed', path: 'apply' }, performance.now() - started);
        await this.#recordFailure(work, keys, error);
      }
    }
    return { settled: Promise.all(syncs) };
  }

  /** The batching lanes with work queued or running. */
  busyLanes(): ShadowLanes {
    return { imageReads: this.#imageReads.busyLanes(), applies: this.#applies.busyLanes(), confirms: this.#confirms.busyLanes() };
  }

  /**
   * One apply, batched: the keys' images (unless `known`) in the primary table's image-read lane,
   * then the write in the (primary table, shadow table) lane; the locked form alone where the
   * optimistic one does not fit (see `prepareApply`).
   */
  async #apply(primaryTable: string, lane: string, args: ApplyKeysArgs, known: readonly RawRow[] | undefined): Promise<AppliedKeys> {
    const images = known ?? (await this.#imageReads.submit(primaryTable, args));
    const prepared = prepareApply(args, images);
    return prepared === undefined ? applyKeys(args) : this.#applies.submit(lane, prepared);
  }

  async #recordFailure(work: ShadowWork, keys: readonly KeyTuple[], error: unknown): Promise<void> {
    const message = (error as Error).message ?? String(error);
    const { migration, table } = work.covered;
    this.#config.log({ level: 'warn', message: 'shadow write failed; recorded for repair', migrationId: migration.id, table, epoch: work.epoch, keys: keys.length, error: message });
    const { guardEpoch } = work;
    await this.#config.failures.record({
      migrationId: migration.id,
      table,
      keyValues: encodeShadowKeys(keys),
      error: message,
      ...(guardEpoch === undefined ? {} : { guardEpoch }),
      at: Date.now(),
    });
  }
}

/** The batching lane of a primary table (its image reads). */
function tableLane(server: string, shape: TableShape): string {
  return `${server}/${shape.database}.${shape.table}`;
}

/** The batching lane of a (primary table, shadow table) pair (its shadow writes and confirms). */
function pairLane(server: string, shape: TableShape, shadow: Endpoint): string {
  return `${tableLane(server, shape)}>${shadow.server}/${shadow.database}`;
}
