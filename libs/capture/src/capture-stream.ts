import { CleaveError, isCleaveError } from '@cleave/core';
import { formatCoordinate, type BinlogCoordinate, type CaptureLease, type CaptureStreams, type MigrationRecord } from '@cleave/control';
import type { Pool } from 'mysql2/promise';
import { isGuardRefusal, MysqlPools, readCatalog, SyncSession, type Catalog, type ConnectionUrl, type TransactionalPool } from '@cleave/mysql';
import { BinlogEnd } from './binlog-end.js';
import { BinlogReader, purgedError, type BinlogChange } from './binlog-reader.js';
import { cascadedKeys, firesCascade, type ParentChange } from './cascades.js';
import { tablesNamedBy } from './ddl-guard.js';
import { ApplyLanes, type KeyGroup } from './apply-lanes.js';
import { rowKey, type DecodedRow } from './row-keys.js';
import { binlogFileSizes, readerServerId } from './server-binlog.js';
import { streamDatabases, streamPlan, type StreamPlan, type WatchedTable } from './stream-plan.js';

/** A pool of a primary the stream reads rows from (a mysql2 promise pool). */
export type CapturePool = Pool;

/** What one stream reports as it goes (metrics, logs). */
export interface CaptureProgressEvent {
  readonly migrationId: string;
  readonly stream: string;
  readonly applied: number;
  readonly at: BinlogCoordinate;
  readonly lagMs: number | null;
  /** Bytes of the server's binlog after the checkpoint (a lower bound, at most about a second old); null: unknown. */
  readonly behindBytes: number | null;
}

/** Settings of {@link runCaptureStream}. */
export interface CaptureStreamConfig {
  readonly migration: MigrationRecord;
  readonly stream: string;
  readonly streams: CaptureStreams;
  /** Who runs it (shown as the lease holder). */
  readonly owner: string;
  readonly servers: (name: string) => CapturePool;
  readonly urls: (name: string) => ConnectionUrl;
  readonly signal: AbortSignal;
  /** Lease length; renewed with every checkpoint and at a third of it when idle. @defaultValue 10000 */
  readonly leaseTtlMs?: number;
  /** Keys one sync applies at most (per table and shadow). @defaultValue 2000 */
  readonly maxBatchKeys?: number;
  readonly log?: (level: 'info' | 'warn' | 'error', message: string, details?: Record<string, unknown>) => void;
  readonly onProgress?: (event: CaptureProgressEvent) => void;
}

/** How a stream run ended. */
export type CaptureStreamEnd = 'busy' | 'stopped' | 'lost' | 'failed';

const RETRY_MS = [100, 250, 500, 1_000, 2_000, 5_000];
/**
 * How often a stream checkpoints when its position moved but it applied nothing. A switch waits,
 * with writes held, for the checkpoint to pass the binlog end: a stream that reads the control
 * server's binlog gets the switch's request there and checkpoints at once, so it idles at the
 * slow pace (its own checkpoints are transactions in that binlog); any other (a reverse stream
 * reading a target's binlog) answers within the fast one, which bounds that wait. Under load a
 * stream checkpoints whenever a sync lands anyway; the fast pace adds at most 50 small writes a
 * second to the control store, only while its position moves without changes to apply.
 */
const IDLE_CHECKPOINT_MS = { requestsSeen: 1_000, otherwise: 20 } as const;
/**
 * How often a stream that sees the switches' requests checkpoints while it applies keys. Each
 * checkpoint is a write to the control store and, when that lives on the primary, an event the
 * stream then reads back: under load, one per sync that lands cost the primary about 200 writes a
 * second, and the stream as many round trips. A switch does not wait for this pace (it asks, and
 * the stream checkpoints at once); a killed stream re-applies at most this much.
 */
const LOADED_CHECKPOINT_MS = 100;
/** The stream's own connections to a shadow server at most (one sync runs per (table, shadow) pair). */
const SYNC_CONNECTIONS_PER_SHADOW = 4;
/**
 * The least time between the starts of two syncs of one (table, shadow) pair (see
 * {@link ApplyLanes}): a busy table's changes go in fewer, larger syncs.
 */
const SYNC_SPACING_MS = 10;
/** Commits read past the last checkpoint before the stream waits for its syncs to land. */
const MAX_COMMITS_AHEAD = 100_000;

/**
 * Runs one capture stream until the signal stops it, its lease is lost (another worker, a
 * switch that re-aimed or retired it), or it fails on something an operator must fix (a purged
 * checkpoint, DDL on a moved table: the stream is then marked failed with the reason).
 *
 * It reads the binlog of the stream's server from the checkpoint, takes the keys of changed rows
 * of moved tables (before and after key of an update; the child rows a cascading foreign key
 * changed, found on the shadow), and brings those keys to the shadow (read the primary, then
 * upsert or delete; under the shadow rows' lock while the shadow serves reads), each (table, shadow)
 * pair on its own (see {@link ApplyLanes}), de-duplicated per sync. Values never come from the
 * binlog. It checkpoints the end of the last whole transaction all of whose keys are applied, so
 * a killed stream resumes with nothing missed (a transaction may be applied twice, which a sync
 * makes harmless).
 */
export async function runCaptureStream(config: CaptureStreamConfig): Promise<CaptureStreamEnd> {
  const ttl = config.leaseTtlMs ?? 10_000;
  const { migration, stream } = config;
  const lease = await config.streams.tryAcquire(migration.id, stream, config.owner, ttl);
  if (lease === null) return 'busy';
  const log = config.log ?? (() => undefined);
  let reader: BinlogReader | undefined;
  let binlogEnd: BinlogEnd | undefined;
  try {
    const record = await config.streams.get(migration.id, stream);
    if (record === null) return 'lost';
    const server = record.server;
    const primaryPool = config.servers(server);
    const catalogs = new Map<string, Catalog>();
    for (const database of streamDatabases(migration.plan, stream)) catalogs.set(database, await readCatalog(primaryPool, database));
    const plan = streamPlan(migration.plan, stream, catalogs);
    const files = await binlogFileSizes(primaryPool);
    if (!files.some((f) => f.file === record.checkpoint.file)) throw purgedError(server, formatCoordinate(record.checkpoint));
    binlogEnd = new BinlogEnd(primaryPool, files);
    const [ids] = await primaryPool.query('SELECT @@server_id AS id');
    reader = new BinlogReader({
      url: config.urls(server),
      serverId: readerServerId(migration.id, stream, Number((ids as Array<{ id: number }>)[0]?.id ?? 0)),
      from: record.checkpoint,
      // Its own row too: a switch's catch-up request arrives there when the control store lives on this server.
      tables: { ...plan.filter, [config.streams.location.database]: [...(plan.filter[config.streams.location.database] ?? []), config.streams.location.table] },
      // Of its own row it reads no temporal value.
      temporalAsText: plan.temporalTypesRead,
    });
    await reader.start();
    log('info', `capture stream ${stream} of ${migration.name} reading ${server} from ${formatCoordinate(record.checkpoint)}`, { token: lease.token });
    return await new StreamLoop(config, lease, plan, reader, ttl, binlogEnd, record.checkpoint).run();
  } catch (error) {
    if (isCleaveError(error, 'CONFLICT')) return 'lost';
    if (isCleaveError(error, 'CAPTURE_POSITION_PURGED') || isCleaveError(error, 'CAPTURE_DDL')) {
      log('error', `capture stream ${stream} of ${migration.name} stopped: ${error.message}`, { hint: error.hint });
      await config.streams.fail(lease, `${error.message}. ${error.hint ?? ''}`.trim());
      return 'failed';
    }
    await config.streams.release(lease).catch(() => undefined);
    throw error;
  } finally {
    await reader?.stop();
    await binlogEnd?.settle();
  }
}

/** A commit read from the binlog: its number in the stream's reading order, where it ends, when it was made. */
interface ReadCommit {
  readonly seq: number;
  readonly at: BinlogCoordinate;
  readonly timestamp: number;
}

class StreamLoop {
  readonly #lanes: ApplyLanes;
  readonly #parents: Array<{ parent: string; change: ParentChange; seq: number }> = [];
  /** Commits read and not yet checkpointed, oldest first (a checkpoint names the last one whose keys are all applied). */
  readonly #commits: ReadCommit[] = [];
  /** Commits read so far: a row change read now belongs to transaction `#readSeq + 1`. */
  #readSeq = 0;
  #checkpointedSeq = 0;
  /** The position the stream's record holds (its last checkpoint, queued or written). */
  #recorded: BinlogCoordinate;
  #lastCheckpointAt = 0;
  /** Keys applied since the last checkpoint (reported with it). */
  #appliedSinceCheckpoint = 0;
  /** The stream saw its own row change in its binlog: catch-up requests reach it there. */
  #seesOwnRow = false;
  /** A switch asked for a checkpoint: taken at the next commit (the request's own). */
  #catchUpRequested = false;
  /**
   * The checkpoint being written, off the loop's path: the stream reads and applies the next
   * changes meanwhile (a checkpoint names only changes already applied). Requests that come while
   * one is written are folded into one more write, of the position reached by then.
   */
  #checkpointing: Promise<void> | undefined;
  #checkpointAgain = false;
  #forceCheckpoint = false;
  #checkpointTimer: NodeJS.Timeout | undefined;
  /** The run is over: no checkpoint is written by a timer any more. */
  #ended = false;
  /** A failed sync or checkpoint (a lost lease, a refused sync) stops the loop at its next turn. */
  #failure: unknown;
  /** The shadow side refuses writes without the migration's guard epoch: every sync carries it. */
  readonly #guard: { readonly migrationId: string; readonly epoch: number };
  /**
   * The stream's own connections to each shadow server, each set up once for its syncs (see
   * {@link SyncSession}); ended with the run. They run statement batches: a sync's guard check goes
   * with its lock, and the commit with the writes of a sync that inserts nothing (two round trips
   * to the shadow instead of four); every value in a sync's SQL is a validated or hex literal. No
   * call-site stack per query: a sync's error is reported with what the stream was syncing.
   */
  readonly #syncPools = new MysqlPools({
    maxConnectionsPerServer: SYNC_CONNECTIONS_PER_SHADOW,
    defaultConnectionLimit: SYNC_CONNECTIONS_PER_SHADOW,
    statementBatches: true,
    callSiteStacks: false,
  });
  readonly #sessions = new Map<string, SyncSession>();
  readonly #ownRow: string;

  constructor(
    readonly config: CaptureStreamConfig,
    readonly lease: CaptureLease,
    readonly plan: StreamPlan,
    readonly reader: BinlogReader,
    readonly ttl: number,
    /** The server's binlog end, re-read about once a second off the loop's path: how far behind a checkpoint is. */
    readonly binlogEnd: BinlogEnd,
    from: BinlogCoordinate,
  ) {
    this.#recorded = from;
    this.#guard = { migrationId: lease.migrationId, epoch: config.migration.guardEpoch };
    this.#ownRow = `${config.streams.location.database}.${config.streams.location.table}`;
    // No lease round trip before a sync: a sync is idempotent, the placement guard refuses one that
    // acts on a placement a switch replaced (GUARD_REFUSED), and a holder that lost its lease is
    // stopped at its next checkpoint (refused by token). The checkpoints extend the lease.
    this.#lanes = new ApplyLanes({
      apply: (group) => this.#sync(group),
      applied: (count) => {
        this.#appliedSinceCheckpoint += count;
        void this.#checkpoint(false);
      },
      failed: (error) => {
        this.#failure ??= error;
      },
      maxKeys: config.maxBatchKeys ?? 2_000,
      spacingMs: SYNC_SPACING_MS,
    });
  }

  #idleCheckpointMs(): number {
    return this.#seesOwnRow ? IDLE_CHECKPOINT_MS.requestsSeen : IDLE_CHECKPOINT_MS.otherwise;
  }

  /** How long after the last checkpoint the next is due: sooner when keys were applied since. */
  #checkpointPaceMs(applied: number): number {
    const idle = this.#idleCheckpointMs();
    return applied > 0 ? Math.min(idle, LOADED_CHECKPOINT_MS) : idle;
  }

  /** A checkpoint of keys applied that is not due yet is written when it is (one timer at a time). */
  #checkpointLater(ms: number): void {
    if (this.#checkpointTimer !== undefined || this.#ended) return;
    this.#checkpointTimer = setTimeout(() => {
      this.#checkpointTimer = undefined;
      if (!this.#ended) void this.#checkpoint(false);
    }, ms);
  }

  async run(): Promise<CaptureStreamEnd> {
    this.#lastCheckpointAt = Date.now();
    try {
      // Per change, the common path allocates no promise: a change already read is taken
      // synchronously, and only waits (back pressure, a drain, an empty buffer) await.
      while (!this.config.signal.aborted) {
        this.#throwIfFailed();
        if (this.#lanes.pressed()) await this.#lanes.backPressure();
        // A sync that keeps failing (a shadow outage, retried) while other tables' transactions stream
        // in: stop reading until it lands rather than remember an unbounded list of commits.
        if (this.#commits.length > MAX_COMMITS_AHEAD) await this.#lanes.drained();
        const change = this.reader.poll() ?? (await this.reader.next(this.#idleCheckpointMs()));
        if (change !== undefined) {
          const taking = this.#take(change);
          if (taking !== undefined) await taking;
        }
        if (this.#parents.length > 0) await this.#collectCascades();
        const now = Date.now();
        this.binlogEnd.refresh(now);
        // Without keys too: the position moves (other tables' transactions, idle time) and a switch waits for it.
        if (now - this.#lastCheckpointAt >= this.#idleCheckpointMs()) void this.#checkpoint(false);
      }
      await this.#drain();
    } finally {
      // Nothing of this run writes after it ended (a sync or a checkpoint after the lease's release).
      this.#lanes.stop();
      await this.#lanes.drained();
      this.#ended = true;
      clearTimeout(this.#checkpointTimer);
      await this.#checkpointing;
      await this.#syncPools.end();
    }
    await this.config.streams.release(this.lease);
    return 'stopped';
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** Applies every key read so far and writes the checkpoint of the last commit read before going on. */
  async #drain(): Promise<void> {
    if (this.#parents.length > 0) await this.#collectCascades();
    await this.#lanes.drained();
    this.#throwIfFailed();
    await this.#checkpoint(true);
    this.#throwIfFailed();
  }

  /** Takes one change; returns a promise only when it has to wait (a catch-up's drain, DDL on a moved table). */
  #take(change: BinlogChange): Promise<void> | undefined {
    if (change.kind === 'commit') {
      this.#noteCommit(change.at, change.timestamp);
      if (this.#catchUpRequested) {
        this.#catchUpRequested = false;
        return this.#drain();
      }
      return undefined;
    }
    if (change.kind === 'statement') {
      const named = tablesNamedBy(change.statement, change.database, this.plan.watched.keys());
      if (named.length > 0) return this.#stopOnDdl(change, named);
      this.#noteCommit(change.at, change.timestamp); // DDL has no commit marker of its own
      return undefined;
    }
    const id = `${change.database}.${change.table}`;
    if (id === this.#ownRow) {
      this.#noteOwnRow(change.rows);
      return;
    }
    const seq = this.#readSeq + 1;
    const watched = this.plan.watched.get(id);
    if (watched !== undefined) for (const row of change.rows) this.#addRow(watched, row.before, row.after, seq);
    const links = this.plan.cascades.get(id);
    if (links !== undefined) {
      for (const row of change.rows) if (row.before !== undefined) this.#parents.push({ parent: id, change: { before: row.before, ...(row.after === undefined ? {} : { after: row.after }) }, seq });
    }
  }

  /** Applies what came before a statement on a moved table, then stops the stream naming it. */
  async #stopOnDdl(change: Extract<BinlogChange, { kind: 'statement' }>, named: readonly string[]): Promise<never> {
    await this.#drain();
    throw new CleaveError('CAPTURE_DDL', `capture stream ${this.plan.stream} read a statement on moved table ${named.join(', ')} at ${formatCoordinate(change.at)}: ${change.statement.slice(0, 300)}`, {
      hint: 'Apply the same change to the table on the other side, then run `cleave capture-reset <id>` and `cleave verify <id> --repair`. Schema changes of moved tables wait until the migration is finalized or cancelled.',
    });
  }

  #noteCommit(at: BinlogCoordinate, timestamp: number): void {
    this.#readSeq += 1;
    // Every key read so far applied: no earlier commit can be the one to checkpoint any more.
    if (this.#parents.length === 0 && this.#lanes.oldestUnapplied() === undefined) this.#commits.length = 0;
    this.#commits.push({ seq: this.#readSeq, at, timestamp });
  }

  #noteOwnRow(rows: ReadonlyArray<{ readonly before?: DecodedRow; readonly after?: DecodedRow }>): void {
    for (const { before, after } of rows) {
      if (after?.['migration_id'] !== this.lease.migrationId || after['stream'] !== this.lease.stream) continue;
      this.#seesOwnRow = true;
      if (before !== undefined && String(before['catch_up_seq']) !== String(after['catch_up_seq'])) this.#catchUpRequested = true;
    }
  }

  #addRow(watched: WatchedTable, before: DecodedRow | undefined, after: DecodedRow | undefined, seq: number): void {
    const afterShadow = after === undefined ? undefined : watched.shadowOf(after);
    if (after !== undefined && afterShadow !== undefined) this.#lanes.add(watched, afterShadow, rowKey(watched.shape, after), seq);
    if (before !== undefined) {
      const beforeShadow = watched.shadowOf(before);
      // A row whose shard column left its range while the key stayed cannot be deleted from the old
      // shard by a sync of its key (the primary still has the key); verification of that range finds it.
      if (beforeShadow !== undefined && (after === undefined || beforeShadow === afterShadow || watched.shardColumnInKey)) {
        this.#lanes.add(watched, beforeShadow, rowKey(watched.shape, before), seq);
      }
    }
  }

  /** The last commit read all of whose keys (and every earlier one's) are applied. */
  #safeCommit(): ReadCommit | undefined {
    const oldest = Math.min(this.#lanes.oldestUnapplied() ?? Number.POSITIVE_INFINITY, this.#parents[0]?.seq ?? Number.POSITIVE_INFINITY);
    let safe: ReadCommit | undefined;
    for (const commit of this.#commits) {
      if (commit.seq >= oldest) break;
      safe = commit;
    }
    return safe;
  }

  /**
   * Checkpoints the last commit whose keys are all applied when it moved (at once when `force`d;
   * else at most every {@link LOADED_CHECKPOINT_MS} after keys were applied, at the idle pace
   * otherwise), or renews the lease when nothing moved for a third of it. Off the loop's path: a
   * request while a checkpoint is written is folded into one more write, of the position reached
   * by then.
   */
  #checkpoint(force: boolean): Promise<void> {
    if (force) this.#forceCheckpoint = true;
    if (this.#checkpointing !== undefined) {
      this.#checkpointAgain = true;
      return this.#checkpointing;
    }
    const writing = (async () => {
      try {
        do {
          this.#checkpointAgain = false;
          await this.#writeCheckpoint();
        } while (this.#checkpointAgain && this.#failure === undefined);
      } catch (error) {
        this.#failure ??= error;
      } finally {
        // In the same turn as the last check of #checkpointAgain: a request can never land after
        // that check and still find this write under way (it would be folded into nothing).
        this.#checkpointing = undefined;
      }
    })();
    this.#checkpointing = writing;
    return writing;
  }

  async #writeCheckpoint(): Promise<void> {
    const force = this.#forceCheckpoint;
    this.#forceCheckpoint = false;
    const commit = this.#safeCommit();
    const now = Date.now();
    const moved = commit !== undefined && commit.seq > this.#checkpointedSeq;
    const applied = this.#appliedSinceCheckpoint;
    const wait = this.#lastCheckpointAt + this.#checkpointPaceMs(applied) - now;
    const due = force || wait <= 0;
    if (moved && !due && applied > 0) this.#checkpointLater(wait);
    if (moved && due) {
      const lagMs = Math.max(0, now - commit.timestamp);
      // When the control store lives on this server, its own checkpoints are in this binlog too: a
      // caught-up stream may read a few hundred bytes behind (the checkpoints after its position).
      const behindBytes = this.binlogEnd.behind(commit.at);
      this.#appliedSinceCheckpoint -= applied;
      this.#checkpointedSeq = commit.seq;
      this.#commits.splice(0, this.#commits.findIndex((c) => c.seq === commit.seq) + 1);
      this.#recorded = commit.at;
      this.#lastCheckpointAt = now;
      await this.config.streams.checkpoint(this.lease, commit.at, { changesApplied: applied, lastEventAt: new Date(commit.timestamp), lagMs, behindBytes }, this.ttl);
      this.config.onProgress?.({ migrationId: this.lease.migrationId, stream: this.lease.stream, applied, at: commit.at, lagMs, behindBytes });
    } else if (now - this.#lastCheckpointAt >= this.ttl / 3) {
      this.#lastCheckpointAt = now;
      // With the lease, how far behind the recorded position is: it grows while the binlog does and the position stays.
      const behindBytes = this.binlogEnd.behind(this.#recorded);
      if (!(await this.config.streams.renew(this.lease, this.ttl, behindBytes))) throw new CleaveError('CONFLICT', `capture stream ${this.lease.stream}: lease lost`);
      if (!moved && commit !== undefined) this.config.onProgress?.({ migrationId: this.lease.migrationId, stream: this.lease.stream, applied: 0, at: commit.at, lagMs: 0, behindBytes });
    }
  }

  /**
   * One (table, shadow) pair's keys on the stream's own connections to that shadow: the primary's
   * rows, then one round trip to the shadow while nobody reads it, the locked sync while someone
   * does (`SyncSession.syncCapturedKeys`).
   */
  async #sync(group: KeyGroup): Promise<number> {
    const keys = [...group.keys.values()];
    const server = group.shadow.server;
    let session = this.#sessions.get(server);
    if (session === undefined) {
      session = new SyncSession(this.#syncPools.promisePool(this.config.urls(server)) as unknown as TransactionalPool, this.#guard);
      this.#sessions.set(server, session);
    }
    const pairSession = session;
    await this.#withRetry(`sync ${keys.length} keys of ${group.watched.table} to ${group.shadow.server}`, () =>
      pairSession.syncCapturedKeys({
        source: this.config.servers(group.watched.primary.server),
        sourceShape: group.watched.shape,
        targetTable: { database: group.shadow.database, table: group.watched.table },
        keys,
        // The shadow side refuses writes without the migration's guard epoch.
        // Locking read of the primary: a transaction's events arrive before its commit is visible.
        options: { imageLiterals: 'client', guard: this.#guard, lockSourceRows: true },
      }),
    );
    return keys.length;
  }

  /**
   * The child rows a parent's change cascaded to (InnoDB does not log them), found on the shadow:
   * only once every earlier change landed there.
   */
  async #collectCascades(): Promise<void> {
    await this.#lanes.drained();
    this.#throwIfFailed();
    // Kept in #parents until their child keys are in the lanes: they hold the checkpoint back meanwhile.
    const parents = [...this.#parents];
    for (const { parent, change, seq } of parents) {
      for (const link of this.plan.cascades.get(parent) ?? []) {
        if (!firesCascade(link, change)) continue;
        for (const shadow of link.child.shadows) {
          const keys = await this.#withRetry(`find cascaded rows of ${link.child.table}`, () => cascadedKeys(link, change, shadow, this.config.servers(shadow.server)));
          for (const key of keys) this.#lanes.add(link.child, shadow, key, seq);
        }
      }
    }
    this.#parents.splice(0, parents.length);
  }

  /** Retries what a shadow or primary outage fails; the stream falls behind instead of losing a change. */
  async #withRetry<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await fn();
      } catch (error) {
        if (this.config.signal.aborted && attempt > 0) throw new CleaveError('ABORTED', `capture stream stopped while it could not ${what}`, { cause: error });
        if (isGuardRefusal(error)) {
          // A switch moved the primary since this run began: a new run takes the new epoch.
          throw new CleaveError('CONFLICT', `capture stream ${this.lease.stream}: the shadow refused its write under guard epoch ${this.config.migration.guardEpoch} (a switch moved the primary)`, { cause: error });
        }
        if (isCleaveError(error) && error.code !== 'CONNECTION_FAILED') throw error;
        const delay = RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]!;
        this.config.log?.('warn', `capture stream ${this.lease.stream} could not ${what}: ${(error as Error).message}; retrying in ${delay} ms`);
        await new Promise((resolve) => setTimeout(resolve, delay));
        if (attempt % 5 === 4 && !(await this.config.streams.renew(this.lease, this.ttl).catch(() => true))) {
          throw new CleaveError('CONFLICT', `capture stream ${this.lease.stream}: lease lost`);
        }
      }
    }
  }
}
