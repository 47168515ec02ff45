import { randomBytes } from 'node:crypto';
import { CleaveError, PHASE_ROUTING, canTransition, movedTables, type MigrationPhase, type Plan } from '@cleave/core';
import { quoteIdentifier } from '@cleave/mysql';
import { CONTROL_COLUMN_UPGRADES, CONTROL_SCHEMA_VERSION, CONTROL_TABLES } from './control-schema.js';
import { inTransaction, rowsOf, type Queryable, type TransactionalQueryable } from './queryable.js';
import type {
  BackfillTableRecord,
  BackfillTableState,
  MigrationEvent,
  MigrationEventKind,
  MigrationRecord,
  SegmentRecord,
  SegmentState,
  ShadowFailureRecord,
  ThrottleStat,
  VerificationRunRecord,
} from './records.js';
import { StaleCoordinatorError } from './stale-coordinator-error.js';
import { CaptureStreams, type BinlogCoordinate } from './capture-streams.js';
import { RouterRegistry } from './router-registry.js';
import { FORWARD_STREAM } from './capture-coordinates.js';

/** Construction settings of {@link ControlStore}. */
export interface ControlStoreConfig {
  /** A mysql2 promise pool (or anything with the same `query`/`getConnection`) on the control server. */
  readonly pool: TransactionalQueryable;
  /** The control database. @defaultValue 'cleave_control' */
  readonly database?: string;
}

/** Who changed something, and why: every change is recorded with both. */
export interface ChangeActor {
  readonly actor: string;
  readonly reason?: string;
}

/**
 * The fencing token of the coordinator making a change (from its lease). The store keeps the
 * highest token it has seen per migration and refuses, in the same transaction as the change, a
 * change carrying a lower one ({@link StaleCoordinatorError}).
 */
export interface CoordinatorFence {
  readonly token: number;
}

const now = () => new Date();

function parseJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

interface MigrationRow {
  id: string;
  name: string;
  plan: string;
  phase: MigrationPhase;
  epoch: string | number;
  capture: string | number;
  guard_epoch: string | number;
  routing_prefix: string | null;
  cancelled_at: Date | string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

const toDate = (v: Date | string | null): Date | null => (v === null ? null : v instanceof Date ? v : new Date(`${v.replace(' ', 'T')}Z`));

/** Those of `migrations` that move a table `plan` moves, out of the same source database. */
function overlappingMigrations(plan: Plan, migrations: readonly MigrationRecord[]): MigrationRecord[] {
  const tables = new Set(movedTables(plan));
  const sameSource = (m: MigrationRecord) => m.plan.source.server === plan.source.server && m.plan.source.database === plan.source.database;
  return migrations.filter((m) => sameSource(m) && movedTables(m.plan).some((t) => tables.has(t)));
}

/**
 * A plan moves a table that another migration (not finalized) already moves: routers would follow
 * only one of them, and the other's copy, dual writes and guards would fight it.
 */
export class MigrationOverlapError extends CleaveError {
  constructor(plan: Plan, overlap: readonly MigrationRecord[]) {
    const tables = new Set(movedTables(plan));
    const described = overlap.map((m) => `${m.name} (id ${m.id}, phase ${m.phase}: ${movedTables(m.plan).filter((t) => tables.has(t)).join(', ')})`);
    super('CONFLICT', `plan ${plan.name} moves tables of ${plan.source.server}/${plan.source.database} that another migration already moves: ${described.join('; ')}`, {
      hint: `Finish that migration first (\`cleave finalize ${overlap[0]?.name ?? '<name>'} --approve\`), or leave those tables out of this plan.`,
    });
  }
}

function toMigration(row: MigrationRow): MigrationRecord {
  return {
    id: row.id,
    name: row.name,
    plan: JSON.parse(row.plan) as Plan,
    phase: row.phase,
    epoch: Number(row.epoch),
    capture: Number(row.capture) === 1,
    guardEpoch: Number(row.guard_epoch),
    routingPrefix: row.routing_prefix ?? null,
    cancelledAt: toDate(row.cancelled_at ?? null),
    createdAt: toDate(row.created_at)!,
    updatedAt: toDate(row.updated_at)!,
  };
}

/** A new migration id (12 hex digits), for callers that prepare things under it before {@link ControlStore.createMigration}. */
export function newMigrationId(): string {
  return randomBytes(6).toString('hex');
}

const primaryMoves = (from: MigrationPhase, to: MigrationPhase) => PHASE_ROUTING[from].primary !== PHASE_ROUTING[to].primary;

function validFence(fence: CoordinatorFence): CoordinatorFence {
  if (!Number.isSafeInteger(fence.token) || fence.token < 1) {
    throw new CleaveError('INVALID_ARGUMENT', `a coordinator fencing token must be a positive integer, got ${String(fence.token)}; pass the token of the coordinator's lease`);
  }
  return fence;
}

/**
 * Durable migration state and its event log, in a control schema in MySQL. All writers go
 * through compare-and-set on (phase, epoch), so two coordinators cannot both move a migration.
 *
 * @example
 * const store = await ControlStore.open({ pool: pools.pool(controlUrl).promise });
 * const m = await store.createMigration(plan, { actor: 'cli:alice' });
 */
export class ControlStore {
  readonly #pool: TransactionalQueryable;
  readonly #db: string;
  readonly #dbName: string;

  private constructor(pool: TransactionalQueryable, database: string) {
    this.#pool = pool;
    this.#dbName = database;
    this.#db = quoteIdentifier(database);
  }

  /** Opens the store, creating the control database and tables when absent. */
  static async open(config: ControlStoreConfig): Promise<ControlStore> {
    const store = new ControlStore(config.pool, config.database ?? 'cleave_control');
    await store.#ensureSchema();
    return store;
  }

  async #ensureSchema(): Promise<void> {
    await this.#pool.query(`CREATE DATABASE IF NOT EXISTS ${this.#db} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    for (const ddl of CONTROL_TABLES) {
      await this.#pool.query(ddl.replace('CREATE TABLE IF NOT EXISTS ', `CREATE TABLE IF NOT EXISTS ${this.#db}.`));
    }
    // Control databases created by an older cleave: add the columns they lack (backward compatible).
    for (const upgrade of CONTROL_COLUMN_UPGRADES) {
      const present = await rowsOf<{ n: number | string }>(
        this.#pool,
        'SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?',
        [this.#dbName, upgrade.table, upgrade.column],
      );
      if (Number(present[0]?.n ?? 0) > 0) continue;
      try {
        await this.#pool.query(`ALTER TABLE ${this.#t(upgrade.table)} ADD COLUMN ${quoteIdentifier(upgrade.column)} ${upgrade.definition}`);
      } catch (error) {
        if ((error as { code?: string }).code !== 'ER_DUP_FIELDNAME') throw error; // another process added it meanwhile
      }
    }
    await this.#pool.query(`INSERT IGNORE INTO ${this.#db}.schema_version (version, applied_at) VALUES (?, ?)`, [CONTROL_SCHEMA_VERSION, now()]);
  }

  #t(table: string): string {
    return `${this.#db}.${table}`;
  }

  get #captureLocation(): { database: string; table: string } {
    return { database: this.#dbName, table: 'capture_streams' };
  }

  /** The migrations' binlog capture streams: checkpoints and leases. */
  captureStreams(): CaptureStreams {
    return new CaptureStreams(this.#pool, this.#captureLocation);
  }

  /** The routers registered in this store (their heartbeats). */
  routers(): RouterRegistry {
    return new RouterRegistry(this.#pool, { database: this.#dbName, table: 'routers' });
  }

  // ---- migrations -------------------------------------------------------------------------

  /** Registers a migration in phase `planned`, with an event. Names are unique. */
  /**
   * Registers a migration in `planned`. With `capture`, its forward capture stream is created in
   * the same transaction, aimed at `capture.from` (a binlog position taken before anything of the
   * migration exists): a migration marked as captured always has its stream. `routingPrefix`: the
   * routing channel's key prefix its fences will go out on (routers on another one refuse its writes).
   */
  async createMigration(plan: Plan, by: ChangeActor, options: { id?: string; capture?: { server: string; from: BinlogCoordinate }; routingPrefix?: string } = {}): Promise<MigrationRecord> {
    const id = options.id ?? newMigrationId();
    const at = now();
    const capture = options.capture;
    try {
      await inTransaction(this.#pool, async (tx) => {
        await tx.query(`INSERT INTO ${this.#t('migrations')} (id, name, plan, phase, epoch, capture, routing_prefix, created_at, updated_at) VALUES (?, ?, ?, 'planned', 1, ?, ?, ?, ?)`, [
          id,
          plan.name,
          JSON.stringify(plan),
          capture === undefined ? 0 : 1,
          options.routingPrefix ?? null,
          at,
          at,
        ]);
        await this.#insertEvent(tx, id, 'created', by, null, 'planned', { moves: plan.moves.length, capture: capture === undefined ? 'off' : 'binlog' });
        if (capture !== undefined) await new CaptureStreams(tx, this.#captureLocation).aim(id, FORWARD_STREAM, capture.server, capture.from, 1);
      });
    } catch (error) {
      if ((error as { code?: string }).code === 'ER_DUP_ENTRY') {
        throw new CleaveError('CONFLICT', `a migration named "${plan.name}" already exists`, {
          cause: error,
          hint: 'Give the plan another "name", or look at the existing one with `cleave status`.',
        });
      }
      throw error;
    }
    return this.getMigration(id);
  }

  /**
   * The migrations (not finalized, another name) that already move a table `plan` moves, out of the
   * same source database: `cleave start` refuses such a plan (see {@link MigrationOverlapError}).
   */
  async overlappingMigrations(plan: Plan): Promise<MigrationRecord[]> {
    return overlappingMigrations(plan, (await this.listMigrations()).filter((m) => m.phase !== 'finalized' && m.cancelledAt === null && m.name !== plan.name));
  }

  async getMigration(idOrName: string): Promise<MigrationRecord> {
    const rows = await rowsOf<MigrationRow>(this.#pool, `SELECT * FROM ${this.#t('migrations')} WHERE id = ? OR name = ? LIMIT 1`, [idOrName, idOrName]);
    const row = rows[0];
    if (!row) {
      throw new CleaveError('NOT_FOUND', `no migration with id or name "${idOrName}"`, { hint: 'Run `cleave status` to list migrations.' });
    }
    return toMigration(row);
  }

  async listMigrations(): Promise<MigrationRecord[]> {
    const rows = await rowsOf<MigrationRow>(this.#pool, `SELECT * FROM ${this.#t('migrations')} ORDER BY created_at, id`);
    return rows.map(toMigration);
  }

  /**
   * Moves a migration from `from` to `to` (a legal step of DESIGN's phase table) and bumps its
   * epoch, atomically with its event. Fails with `CONFLICT` when the phase or epoch moved meanwhile.
   * With a `fence` (a coordinator's change), the same UPDATE also requires the fence's token to be
   * at least the highest one seen for the migration (and records it); a lower one fails with
   * `STALE_COORDINATOR` and nothing is written.
   */
  async changePhase(
    id: string,
    change: { from: MigrationPhase; to: MigrationPhase; expectedEpoch?: number; details?: Record<string, unknown>; fence?: CoordinatorFence },
    by: ChangeActor,
  ): Promise<MigrationRecord> {
    if (!canTransition(change.from, change.to)) {
      throw new CleaveError('PHASE_TRANSITION_INVALID', `a migration cannot go from ${change.from} to ${change.to}`);
    }
    const fence = change.fence === undefined ? undefined : validFence(change.fence);
    await inTransaction(this.#pool, async (tx) => {
      const [result] = await tx.query(
        `UPDATE ${this.#t('migrations')} SET phase = ?,${primaryMoves(change.from, change.to) ? ' guard_epoch = epoch + 1,' : ''} epoch = epoch + 1, updated_at = ?${fence === undefined ? '' : ', coordinator_token = GREATEST(coordinator_token, ?)'}
          WHERE id = ? AND phase = ? AND cancelled_at IS NULL${change.expectedEpoch === undefined ? '' : ' AND epoch = ?'}${fence === undefined ? '' : ' AND coordinator_token <= ?'}`,
        [
          change.to,
          now(),
          ...(fence === undefined ? [] : [fence.token]),
          id,
          change.from,
          ...(change.expectedEpoch === undefined ? [] : [change.expectedEpoch]),
          ...(fence === undefined ? [] : [fence.token]),
        ],
      );
      if ((result as { affectedRows: number }).affectedRows !== 1) {
        if (fence !== undefined) {
          const seen = await this.#seenToken(tx, id, true);
          if (seen !== null && seen > fence.token) throw new StaleCoordinatorError(id, fence.token, seen);
        }
        const [current] = await rowsOf<{ cancelled_at: unknown }>(tx, `SELECT cancelled_at FROM ${this.#t('migrations')} WHERE id = ?`, [id]);
        if (current !== undefined && current.cancelled_at !== null) {
          throw new CleaveError('CONFLICT', `migration ${id} is cancelled: its phase no longer changes`, { hint: 'Start a new migration from the plan (`cleave start`).' });
        }
        throw new CleaveError('CONFLICT', `migration ${id} is no longer in phase ${change.from} (or its epoch moved): someone else changed it`, {
          hint: 'Run `cleave status <id>` and retry from the current phase.',
        });
      }
      await this.#insertEvent(tx, id, 'phase_change', by, change.from, change.to, change.details);
    });
    return this.getMigration(id);
  }

  /**
   * Marks a migration in `planned` cancelled, with its event (terminal: its phase no longer
   * changes, routers ignore it, another migration may take its tables). Idempotent.
   */
  async cancelMigration(id: string, by: ChangeActor, details: Record<string, unknown> = {}): Promise<MigrationRecord> {
    await inTransaction(this.#pool, async (tx) => {
      const [row] = await rowsOf<{ phase: MigrationPhase; cancelled_at: unknown }>(tx, `SELECT phase, cancelled_at FROM ${this.#t('migrations')} WHERE id = ? FOR UPDATE`, [id]);
      if (row === undefined) throw new CleaveError('NOT_FOUND', `no migration with id "${id}"`);
      if (row.cancelled_at !== null) return;
      if (row.phase !== 'planned') {
        throw new CleaveError('PHASE_TRANSITION_INVALID', `migration ${id} is in phase ${row.phase}: only a migration rolled back to planned can be cancelled`);
      }
      await tx.query(`UPDATE ${this.#t('migrations')} SET cancelled_at = ?, updated_at = ? WHERE id = ?`, [now(), now(), id]);
      await this.#insertEvent(tx, id, 'cancelled', by, null, null, details);
    });
    return this.getMigration(id);
  }

  // ---- coordinator fencing tokens -----------------------------------------------------------

  /**
   * Records a coordinator's fencing token as the migration's newest (a coordinator calls it right
   * after taking the lease, before reading anything it acts on): from then on every fenced change
   * of an older coordinator is refused. Fails with `STALE_COORDINATOR` when a higher token was
   * already seen, `NOT_FOUND` when there is no such migration.
   */
  async claimCoordinator(id: string, fence: CoordinatorFence): Promise<void> {
    await inTransaction(this.#pool, (tx) => this.#fence(tx, id, validFence(fence)));
  }

  /** The highest coordinator fencing token seen for a migration (0: none yet). */
  async coordinatorToken(id: string): Promise<number> {
    const seen = await this.#seenToken(this.#pool, id);
    if (seen === null) throw new CleaveError('NOT_FOUND', `no migration with id "${id}"`, { hint: 'Run `cleave status` to list migrations.' });
    return seen;
  }

  async #seenToken(db: Queryable, id: string, lock = false): Promise<number | null> {
    const rows = await rowsOf<{ coordinator_token: number | string }>(db, `SELECT coordinator_token FROM ${this.#t('migrations')} WHERE id = ?${lock ? ' FOR UPDATE' : ''}`, [id]);
    return rows[0] === undefined ? null : Number(rows[0].coordinator_token);
  }

  /** Inside a transaction: locks the migration row, refuses a stale token, records a newer one. */
  async #fence(tx: Queryable, id: string, fence: CoordinatorFence): Promise<void> {
    const seen = await this.#seenToken(tx, id, true);
    if (seen === null) throw new CleaveError('NOT_FOUND', `no migration with id "${id}"`, { hint: 'Run `cleave status` to list migrations.' });
    if (fence.token < seen) throw new StaleCoordinatorError(id, fence.token, seen);
    if (fence.token > seen) await tx.query(`UPDATE ${this.#t('migrations')} SET coordinator_token = ? WHERE id = ?`, [fence.token, id]);
  }

  // ---- events -----------------------------------------------------------------------------

  async #insertEvent(
    db: Queryable,
    id: string,
    kind: MigrationEventKind,
    by: ChangeActor,
    from: MigrationPhase | null,
    to: MigrationPhase | null,
    details?: Record<string, unknown>,
  ): Promise<void> {
    await db.query(
      `INSERT INTO ${this.#t('migration_events')} (migration_id, at, actor, kind, from_phase, to_phase, reason, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [id, now(), by.actor, kind, from, to, by.reason ?? null, details === undefined ? null : JSON.stringify(details)],
    );
  }

  /**
   * Appends an event (backfill started/finished, verification, refusal, abort, note). With a
   * `fence` (a coordinator's journal entry) the event is written only if the token is not stale,
   * in one transaction with the check (`STALE_COORDINATOR` otherwise, nothing written).
   */
  async appendEvent(id: string, kind: MigrationEventKind, by: ChangeActor, details?: Record<string, unknown>, fence?: CoordinatorFence): Promise<void> {
    if (fence === undefined) {
      await this.#insertEvent(this.#pool, id, kind, by, null, null, details);
      return;
    }
    const checked = validFence(fence);
    await inTransaction(this.#pool, async (tx) => {
      await this.#fence(tx, id, checked);
      await this.#insertEvent(tx, id, kind, by, null, null, details);
    });
  }

  async events(id: string): Promise<MigrationEvent[]> {
    const rows = await rowsOf<{
      id: string;
      at: Date | string;
      actor: string;
      kind: MigrationEventKind;
      from_phase: MigrationPhase | null;
      to_phase: MigrationPhase | null;
      reason: string | null;
      details: string | null;
    }>(this.#pool, `SELECT * FROM ${this.#t('migration_events')} WHERE migration_id = ? ORDER BY id`, [id]);
    return rows.map((r) => ({
      id: Number(r.id),
      at: toDate(r.at)!,
      actor: r.actor,
      kind: r.kind,
      from: r.from_phase,
      to: r.to_phase,
      reason: r.reason,
      details: parseJson<Record<string, unknown>>(r.details),
    }));
  }

  // ---- backfill ---------------------------------------------------------------------------

  /** Records a table of the backfill (idempotent: a second call keeps the existing state). */
  async registerBackfillTable(id: string, table: string, target: string, rowsEstimate: number): Promise<void> {
    await this.#pool.query(
      `INSERT IGNORE INTO ${this.#t('backfill_tables')} (migration_id, table_name, target, state, rows_estimate) VALUES (?, ?, ?, 'pending', ?)`,
      [id, table, target, rowsEstimate],
    );
  }

  async setBackfillTableState(id: string, table: string, state: BackfillTableState, error?: string): Promise<void> {
    const at = now();
    await this.#pool.query(
      `UPDATE ${this.#t('backfill_tables')} SET state = ?, error = ?,
         started_at = COALESCE(started_at, ?), finished_at = IF(? IN ('copied', 'failed'), ?, NULL)
       WHERE migration_id = ? AND table_name = ?`,
      [state, error ?? null, at, state, at, id, table],
    );
  }

  /**
   * Stores a table's segments once. A second call (a retried split job) keeps the segments
   * already stored and their checkpoints, so a retry never restarts copied work.
   */
  async saveSegments(id: string, table: string, segments: ReadonlyArray<{ lower: string | null; upper: string | null }>): Promise<void> {
    await inTransaction(this.#pool, async (tx) => {
      const [existing] = await tx.query(`SELECT COUNT(*) AS n FROM ${this.#t('backfill_segments')} WHERE migration_id = ? AND table_name = ? FOR UPDATE`, [id, table]);
      if (Number((existing as Array<{ n: number | string }>)[0]?.n ?? 0) > 0) return;
      const at = now();
      for (let i = 0; i < segments.length; i += 500) {
        const batch = segments.slice(i, i + 500);
        await tx.query(
          `INSERT INTO ${this.#t('backfill_segments')} (migration_id, table_name, segment_no, lower_key, upper_key, state, updated_at) VALUES ?`,
          [batch.map((s, j) => [id, table, i + j, s.lower, s.upper, 'pending', at])],
        );
      }
      await tx.query(`UPDATE ${this.#t('backfill_tables')} SET segments = ?, state = 'copying' WHERE migration_id = ? AND table_name = ?`, [segments.length, id, table]);
    });
  }

  async segments(id: string, table?: string): Promise<SegmentRecord[]> {
    const rows = await rowsOf<Record<string, unknown>>(
      this.#pool,
      `SELECT * FROM ${this.#t('backfill_segments')} WHERE migration_id = ?${table === undefined ? '' : ' AND table_name = ?'} ORDER BY table_name, segment_no`,
      table === undefined ? [id] : [id, table],
    );
    return rows.map((r) => ({
      table: String(r['table_name']),
      segmentNo: Number(r['segment_no']),
      lower: (r['lower_key'] as string | null) ?? null,
      upper: (r['upper_key'] as string | null) ?? null,
      checkpoint: (r['checkpoint_key'] as string | null) ?? null,
      state: r['state'] as SegmentState,
      rowsCopied: Number(r['rows_copied']),
      chunks: Number(r['chunks']),
      chunkSize: Number(r['chunk_size']),
      copyMs: Number(r['copy_ms']),
      owner: (r['owner'] as string | null) ?? null,
      updatedAt: toDate(r['updated_at'] as Date | string)!,
    }));
  }

  /**
   * Records one committed chunk of a segment: the key it reached (the resume point), the rows it
   * copied and how long it took. Called after the target commit, so a crash in between only
   * makes the next worker copy that chunk again (copies are idempotent range syncs).
   */
  async checkpointSegment(
    id: string,
    table: string,
    segmentNo: number,
    progress: { checkpoint: string | null; rows: number; ms: number; chunkSize: number; owner: string; done: boolean },
  ): Promise<void> {
    await this.#pool.query(
      `UPDATE ${this.#t('backfill_segments')}
         SET checkpoint_key = ?, rows_copied = rows_copied + ?, chunks = chunks + 1, copy_ms = copy_ms + ?,
             chunk_size = ?, owner = ?, state = ?, updated_at = ?, started_at = COALESCE(started_at, ?)
       WHERE migration_id = ? AND table_name = ? AND segment_no = ?`,
      [progress.checkpoint, progress.rows, Math.round(progress.ms), progress.chunkSize, progress.owner, progress.done ? 'done' : 'copying', now(), new Date(Date.now() - progress.ms), id, table, segmentNo],
    );
  }

  async backfillTables(id: string): Promise<BackfillTableRecord[]> {
    const rows = await rowsOf<Record<string, unknown>>(
      this.#pool,
      `SELECT t.*, COALESCE(SUM(s.rows_copied), 0) AS rows_copied, COALESCE(SUM(s.state = 'done'), 0) AS segments_done,
              COALESCE(SUM(s.copy_ms), 0) AS copy_ms, MIN(s.started_at) AS copy_started_at
         FROM ${this.#t('backfill_tables')} t
         LEFT JOIN ${this.#t('backfill_segments')} s ON s.migration_id = t.migration_id AND s.table_name = t.table_name
        WHERE t.migration_id = ? GROUP BY t.migration_id, t.table_name ORDER BY t.table_name`,
      [id],
    );
    return rows.map((r) => ({
      table: String(r['table_name']),
      target: String(r['target']),
      state: r['state'] as BackfillTableState,
      rowsEstimate: Number(r['rows_estimate']),
      segments: Number(r['segments']),
      segmentsDone: Number(r['segments_done']),
      rowsCopied: Number(r['rows_copied']),
      copyMs: Number(r['copy_ms']),
      startedAt: toDate((r['started_at'] as Date | string | null) ?? null),
      copyStartedAt: toDate((r['copy_started_at'] as Date | string | null) ?? null),
      finishedAt: toDate((r['finished_at'] as Date | string | null) ?? null),
      error: (r['error'] as string | null) ?? null,
    }));
  }

  // ---- throttling -------------------------------------------------------------------------

  async addThrottled(id: string, reason: string, ms: number): Promise<void> {
    if (ms <= 0) return;
    await this.#pool.query(
      `INSERT INTO ${this.#t('throttle_stats')} (migration_id, reason, throttled_ms, last_at) VALUES (?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE throttled_ms = throttled_ms + VALUES(throttled_ms), last_at = VALUES(last_at)`,
      [id, reason.slice(0, 191), Math.round(ms), now()],
    );
  }

  async throttleStats(id: string): Promise<ThrottleStat[]> {
    const rows = await rowsOf<{ reason: string; throttled_ms: string | number; last_at: Date | string }>(
      this.#pool,
      `SELECT reason, throttled_ms, last_at FROM ${this.#t('throttle_stats')} WHERE migration_id = ? ORDER BY reason`,
      [id],
    );
    return rows.map((r) => ({ reason: r.reason, throttledMs: Number(r.throttled_ms), lastAt: toDate(r.last_at)! }));
  }

  // ---- verification -----------------------------------------------------------------------

  async startVerificationRun(id: string): Promise<number> {
    const [result] = await this.#pool.query(`INSERT INTO ${this.#t('verification_runs')} (migration_id, started_at) VALUES (?, ?)`, [id, now()]);
    return Number((result as { insertId: number }).insertId);
  }

  async finishVerificationRun(
    runId: number,
    report: { passes: number; chunks: number; rowsChecked: number; rowsDiffering: number; rowsRepaired: number; clean: boolean; details?: unknown },
  ): Promise<void> {
    await this.#pool.query(
      `UPDATE ${this.#t('verification_runs')} SET finished_at = ?, passes = ?, chunks = ?, rows_checked = ?, rows_differing = ?, rows_repaired = ?, clean = ?, details = ? WHERE id = ?`,
      [now(), report.passes, report.chunks, report.rowsChecked, report.rowsDiffering, report.rowsRepaired, report.clean ? 1 : 0, JSON.stringify(report.details ?? null), runId],
    );
  }

  async verificationRuns(id: string): Promise<VerificationRunRecord[]> {
    const rows = await rowsOf<Record<string, unknown>>(this.#pool, `SELECT * FROM ${this.#t('verification_runs')} WHERE migration_id = ? ORDER BY id`, [id]);
    return rows.map((r) => ({
      id: Number(r['id']),
      startedAt: toDate(r['started_at'] as Date | string)!,
      finishedAt: toDate((r['finished_at'] as Date | string | null) ?? null),
      passes: Number(r['passes']),
      chunks: Number(r['chunks']),
      rowsChecked: Number(r['rows_checked']),
      rowsDiffering: Number(r['rows_differing']),
      rowsRepaired: Number(r['rows_repaired']),
      clean: r['clean'] === null ? null : Number(r['clean']) === 1,
      details: parseJson<unknown>((r['details'] as string | null) ?? null),
    }));
  }

  // ---- shadow failures (recorded by routers, repaired by workers) --------------------------

  /**
   * Records a router's failed shadow write. `options.guardEpoch`: the placement the write was routed
   * under (its primary holds the write); a repair after the primary moved must not copy the other way.
   */
  async recordShadowFailure(id: string, table: string, keyValues: string, error: string, options: { guardEpoch?: number } = {}): Promise<void> {
    await this.#pool.query(
      `INSERT INTO ${this.#t('shadow_failures')} (migration_id, table_name, key_values, error, guard_epoch, recorded_at) VALUES (?, ?, ?, ?, ?, ?)`,
      [id, table, keyValues, error.slice(0, 2000), options.guardEpoch ?? null, now()],
    );
  }

  async openShadowFailures(id: string, limit = 1000): Promise<ShadowFailureRecord[]> {
    const rows = await rowsOf<Record<string, unknown>>(
      this.#pool,
      `SELECT * FROM ${this.#t('shadow_failures')} WHERE migration_id = ? AND repaired_at IS NULL ORDER BY id LIMIT ?`,
      [id, limit],
    );
    return rows.map((r) => ({
      id: Number(r['id']),
      table: String(r['table_name']),
      keyValues: String(r['key_values']),
      error: (r['error'] as string | null) ?? null,
      guardEpoch: r['guard_epoch'] === null || r['guard_epoch'] === undefined ? null : Number(r['guard_epoch']),
      recordedAt: toDate(r['recorded_at'] as Date | string)!,
    }));
  }

  async markShadowFailuresRepaired(ids: readonly number[]): Promise<void> {
    if (ids.length === 0) return;
    await this.#pool.query(`UPDATE ${this.#t('shadow_failures')} SET repaired_at = ? WHERE id IN (?)`, [now(), ids]);
  }
}
