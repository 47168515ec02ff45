import { CleaveError } from '@cleave/core';
import { quoteIdentifier } from '@cleave/mysql';
import { rowsOf, type Queryable } from './queryable.js';

/** A binlog coordinate: the file and the byte offset to resume from, and the GTID there if known. */
export interface BinlogCoordinate {
  readonly file: string;
  readonly position: number;
  readonly gtid?: string | null;
}

export const CAPTURE_STREAM_STATES = ['active', 'failed', 'retired'] as const;
/** `active`: runs (or waits for a worker); `failed`: stopped on an error an operator must act on; `retired`: its direction no longer applies. */
export type CaptureStreamState = (typeof CAPTURE_STREAM_STATES)[number];

/** One capture stream of a migration as the control store holds it. */
export interface CaptureStreamRecord {
  readonly migrationId: string;
  /** `forward` (source binlog -> targets) or `reverse:<server>` (a target's binlog -> source). */
  readonly stream: string;
  /** The server whose binlog the stream reads. */
  readonly server: string;
  /** The migration epoch the stream was aimed at. */
  readonly epoch: number;
  /** Where it resumes: every change before it has been applied. */
  readonly checkpoint: BinlogCoordinate;
  readonly state: CaptureStreamState;
  readonly error: string | null;
  readonly owner: string | null;
  readonly token: number;
  readonly leaseUntil: Date | null;
  readonly changesApplied: number;
  /** Commit time (server clock) of the last transaction applied. */
  readonly lastEventAt: Date | null;
  /** How far behind the binlog the last checkpoint was, ms (apply time minus commit time). */
  readonly lagMs: number | null;
  /**
   * Bytes of the server's binlog after the checkpoint, as the stream last measured them (with a
   * checkpoint or a lease renewal; about a second old at most). null: not measured yet, or unknown.
   */
  readonly behindBytes: number | null;
  readonly checkpointedAt: Date | null;
  readonly updatedAt: Date;
}

/** A held stream lease: its token fences every checkpoint the holder writes. */
export interface CaptureLease {
  readonly migrationId: string;
  readonly stream: string;
  readonly owner: string;
  readonly token: number;
}

/** What a checkpoint records besides the position. */
export interface CaptureProgress {
  readonly changesApplied: number;
  readonly lastEventAt: Date | null;
  readonly lagMs: number | null;
  /** Bytes of binlog after `at` (null: unknown). Absent: the stored figure stays. */
  readonly behindBytes?: number | null;
}

interface StreamRow {
  migration_id: string;
  stream: string;
  server: string;
  epoch: string | number;
  binlog_file: string;
  binlog_pos: string | number;
  gtid: string | null;
  state: CaptureStreamState;
  error: string | null;
  owner: string | null;
  token: string | number;
  lease_until: Date | string | null;
  changes_applied: string | number;
  last_event_at: Date | string | null;
  lag_ms: string | number | null;
  behind_bytes: string | number | null;
  checkpointed_at: Date | string | null;
  updated_at: Date | string;
}

/** The control pool may return DATETIME as text (`dateStrings`): always a Date here, in UTC. */
function toDate(value: Date | string | null): Date | null {
  if (value === null) return null;
  return value instanceof Date ? value : new Date(`${value.replace(' ', 'T')}Z`);
}

function toRecord(row: StreamRow): CaptureStreamRecord {
  return {
    migrationId: row.migration_id,
    stream: row.stream,
    server: row.server,
    epoch: Number(row.epoch),
    checkpoint: { file: row.binlog_file, position: Number(row.binlog_pos), gtid: row.gtid },
    state: row.state,
    error: row.error,
    owner: row.owner,
    token: Number(row.token),
    leaseUntil: toDate(row.lease_until),
    changesApplied: Number(row.changes_applied),
    lastEventAt: toDate(row.last_event_at),
    lagMs: row.lag_ms === null ? null : Number(row.lag_ms),
    behindBytes: row.behind_bytes === null ? null : Number(row.behind_bytes),
    checkpointedAt: toDate(row.checkpointed_at),
    updatedAt: toDate(row.updated_at) ?? new Date(0),
  };
}

function affected(result: unknown): number {
  return Number((result as { affectedRows?: number }).affectedRows ?? 0);
}

/**
 * The capture streams of migrations, in the control store: their checkpoints and their leases.
 * The lease lives in the same row as the checkpoint, and the database's clock decides expiry, so
 * a holder paused past its lease cannot checkpoint over its successor: every write carries the
 * token and `WHERE token = ?` refuses a stale one.
 */
export class CaptureStreams {
  readonly #db: Queryable;
  readonly #table: string;
  /**
   * Where the streams' rows live. A stream reading the binlog of the control server sees its own
   * row change there, and so sees a switch's catch-up request ({@link requestCatchUp}) at once.
   */
  readonly location: { readonly database: string; readonly table: string };

  /** @internal Built by `ControlStore.captureStreams()`. */
  constructor(db: Queryable, location: { readonly database: string; readonly table: string }) {
    this.#db = db;
    this.location = location;
    this.#table = `${quoteIdentifier(location.database)}.${quoteIdentifier(location.table)}`;
  }

  /**
   * Creates the stream, or re-aims it (a switch, a reset): new position and epoch, state active,
   * and a new token, so that whoever runs it with the old aim is refused at its next checkpoint.
   */
  async aim(migrationId: string, stream: string, server: string, at: BinlogCoordinate, epoch: number): Promise<void> {
    await this.#db.query(
      `INSERT INTO ${this.#table} (migration_id, stream, server, epoch, binlog_file, binlog_pos, gtid, state, token, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'active', 1, NOW(6))
       ON DUPLICATE KEY UPDATE server = VALUES(server), epoch = VALUES(epoch), binlog_file = VALUES(binlog_file), binlog_pos = VALUES(binlog_pos),
         gtid = VALUES(gtid), state = 'active', error = NULL, owner = NULL, lease_until = NULL, token = token + 1, lag_ms = NULL, behind_bytes = NULL, updated_at = NOW(6)`,
      [migrationId, stream, server, epoch, at.file, at.position, at.gtid ?? null],
    );
  }

  /** Marks streams that no longer apply (their direction ended): a worker stops running them. */
  async retire(migrationId: string, streams: readonly string[]): Promise<void> {
    if (streams.length === 0) return;
    await this.#db.query(`UPDATE ${this.#table} SET state = 'retired', owner = NULL, lease_until = NULL, token = token + 1, updated_at = NOW(6) WHERE migration_id = ? AND stream IN (?)`, [
      migrationId,
      streams,
    ]);
  }

  async list(migrationId: string): Promise<CaptureStreamRecord[]> {
    const rows = await rowsOf<StreamRow>(this.#db, `SELECT * FROM ${this.#table} WHERE migration_id = ? ORDER BY stream`, [migrationId]);
    return rows.map(toRecord);
  }

  async get(migrationId: string, stream: string): Promise<CaptureStreamRecord | null> {
    const rows = await rowsOf<StreamRow>(this.#db, `SELECT * FROM ${this.#table} WHERE migration_id = ? AND stream = ?`, [migrationId, stream]);
    return rows[0] === undefined ? null : toRecord(rows[0]);
  }

  /**
   * Takes the stream's lease when it is active and free (no holder, or the holder's lease ran
   * out by the database's clock). Every grant gets a new token. `null` when someone else holds it.
   */
  async tryAcquire(migrationId: string, stream: string, owner: string, ttlMs: number): Promise<CaptureLease | null> {
    const [result] = await this.#db.query(
      `UPDATE ${this.#table} SET owner = ?, token = token + 1, lease_until = NOW(6) + INTERVAL ? MICROSECOND, updated_at = NOW(6)
       WHERE migration_id = ? AND stream = ? AND state = 'active' AND (owner IS NULL OR lease_until IS NULL OR lease_until < NOW(6))`,
      [owner, ttlMs * 1000, migrationId, stream],
    );
    if (affected(result) !== 1) return null;
    const rows = await rowsOf<{ token: string | number; owner: string }>(this.#db, `SELECT token, owner FROM ${this.#table} WHERE migration_id = ? AND stream = ?`, [migrationId, stream]);
    const row = rows[0];
    if (row === undefined || row.owner !== owner) return null;
    return { migrationId, stream, owner, token: Number(row.token) };
  }

  /**
   * Extends the lease; false once it was lost (another holder, a re-aim, or the stream failed).
   * `behindBytes`, when given, replaces the stored figure in the same write (an idle stream's).
   */
  async renew(lease: CaptureLease, ttlMs: number, behindBytes?: number | null): Promise<boolean> {
    const behind = behindBytes === undefined ? { set: '', args: [] } : { set: ', behind_bytes = ?', args: [behindBytes] };
    const [result] = await this.#db.query(
      `UPDATE ${this.#table} SET lease_until = NOW(6) + INTERVAL ? MICROSECOND${behind.set} WHERE migration_id = ? AND stream = ? AND token = ? AND state = 'active'`,
      [ttlMs * 1000, ...behind.args, lease.migrationId, lease.stream, lease.token],
    );
    return affected(result) === 1;
  }

  /**
   * Records that every change before `at` has been applied. Refused (`CONFLICT`) when the lease's
   * token is no longer the stream's: the caller must stop without applying anything more.
   */
  async checkpoint(lease: CaptureLease, at: BinlogCoordinate, progress: CaptureProgress, ttlMs: number): Promise<void> {
    const behind = progress.behindBytes === undefined ? { set: '', args: [] } : { set: ' behind_bytes = ?,', args: [progress.behindBytes] };
    const [result] = await this.#db.query(
      `UPDATE ${this.#table} SET binlog_file = ?, binlog_pos = ?, gtid = COALESCE(?, gtid), changes_applied = changes_applied + ?,
         last_event_at = COALESCE(?, last_event_at), lag_ms = ?,${behind.set} checkpointed_at = NOW(6), lease_until = NOW(6) + INTERVAL ? MICROSECOND, updated_at = NOW(6)
       WHERE migration_id = ? AND stream = ? AND token = ? AND state = 'active'`,
      [at.file, at.position, at.gtid ?? null, progress.changesApplied, progress.lastEventAt, progress.lagMs, ...behind.args, ttlMs * 1000, lease.migrationId, lease.stream, lease.token],
    );
    if (affected(result) !== 1) throw lostLease(lease);
  }

  /**
   * Asks the stream to checkpoint as soon as it has read this request (a switch waits for it with
   * writes held). The request is a change of the stream's row, which a stream reading the control
   * server's binlog finds in its order; elsewhere the stream's regular checkpoints answer.
   */
  async requestCatchUp(migrationId: string, stream: string): Promise<void> {
    await this.#db.query(`UPDATE ${this.#table} SET catch_up_seq = catch_up_seq + 1 WHERE migration_id = ? AND stream = ?`, [migrationId, stream]);
  }

  /** Stops the stream on an error an operator must act on (purged binlog, DDL): no worker restarts it. */
  async fail(lease: CaptureLease, error: string): Promise<void> {
    await this.#db.query(`UPDATE ${this.#table} SET state = 'failed', error = ?, owner = NULL, lease_until = NULL, updated_at = NOW(6) WHERE migration_id = ? AND stream = ? AND token = ?`, [
      error,
      lease.migrationId,
      lease.stream,
      lease.token,
    ]);
  }

  /** Gives the lease back (a graceful stop) so another worker can take it at once. */
  async release(lease: CaptureLease): Promise<void> {
    await this.#db.query(`UPDATE ${this.#table} SET owner = NULL, lease_until = NULL, updated_at = NOW(6) WHERE migration_id = ? AND stream = ? AND token = ?`, [
      lease.migrationId,
      lease.stream,
      lease.token,
    ]);
  }
}

function lostLease(lease: CaptureLease): CleaveError {
  return new CleaveError('CONFLICT', `capture stream ${lease.stream} of migration ${lease.migrationId}: lease (token ${lease.token}) lost to another worker or a re-aim`, {
    hint: 'Nothing more is applied by this holder; the current holder resumes from the checkpoint.',
  });
}
