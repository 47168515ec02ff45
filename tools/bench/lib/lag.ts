import { compareCoordinates, type BinlogCoordinate } from '@cleave/control';

// Replication lag from a heartbeat row, for bench:capture: the bench writes a new time into
// bench_heartbeat on the source every 100 ms, each side is read every few ms, and the lag of a
// heartbeat on a side is the time from the source acknowledging its write to the first read
// that shows it (or a later one) there. Plus how far a replica has executed the source's binlog.

/** A binlog position of one server. */
export type Coordinate = BinlogCoordinate;

interface Queryable {
  query(sql: string): Promise<[unknown, unknown]>;
}

const rowsOf = async <T>(db: Queryable, sql: string): Promise<T[]> => (await db.query(sql))[0] as T[];

/** How far a replica's SQL thread executed the source's binlog. */
export async function replicaExecuted(db: Queryable): Promise<Coordinate> {
  const [status] = await rowsOf<Record<string, string | number | null>>(db, 'SHOW SLAVE STATUS');
  if (status === undefined) throw new Error('the replica is not configured (SHOW SLAVE STATUS is empty)');
  return { file: String(status['Relay_Master_Log_File']), position: Number(status['Exec_Master_Log_Pos']) };
}

/** A DATETIME(6) literal of a wall-clock time in ms, as the server returns it with dateStrings. */
export function datetime6(ms: number): string {
  return `${new Date(ms).toISOString().replace('T', ' ').replace('Z', '')}000`;
}

interface Beat {
  readonly at: string;
  /** performance.now() when the source acknowledged the write. */
  ackedMs: number | undefined;
  /** The source's binlog end right after the acknowledgement. */
  coordinate: Coordinate | undefined;
}

/** The lag of one heartbeat on one side. */
export interface BeatLag {
  readonly ackedMs: number;
  readonly lagMs: number;
  /** Not seen by the time the measurement ended: the lag is at least lagMs. */
  readonly censored: boolean;
}

/** Heartbeats written and when each side first showed them. */
export class HeartbeatLag {
  readonly #beats: Beat[] = [];
  readonly #index = new Map<string, number>();
  /** side -> index of the newest beat seen, and when each beat was first seen. */
  readonly #sides = new Map<string, { newest: number; seenMs: Map<number, number> }>();

  /** A new heartbeat value (before its write is sent). */
  next(nowMs = Date.now()): { index: number; at: string } {
    const last = this.#beats.at(-1)?.at;
    let at = datetime6(nowMs);
    for (let bump = 1; last !== undefined && at <= last; bump += 1) at = datetime6(nowMs + bump);
    const index = this.#beats.length;
    this.#beats.push({ at, ackedMs: undefined, coordinate: undefined });
    this.#index.set(at, index);
    return { index, at };
  }

  acked(index: number, atMs: number, coordinate?: Coordinate): void {
    const beat = this.#beats[index]!;
    beat.ackedMs = atMs;
    if (coordinate !== undefined) beat.coordinate = coordinate;
  }

  /** A side showed heartbeat value `at` at `atMs` (a value the bench did not write counts as none). */
  sawValue(side: string, at: string | null | undefined, atMs: number): void {
    const index = at == null ? undefined : this.#index.get(at);
    if (index !== undefined) this.sawIndex(side, index, atMs);
  }

  /** A side's applied binlog position reached `coordinate` at `atMs`: it shows every beat before it. */
  sawCoordinate(side: string, coordinate: Coordinate, atMs: number): void {
    let newest = -1;
    for (let i = this.#beats.length - 1; i >= 0; i -= 1) {
      const c = this.#beats[i]!.coordinate;
      if (c !== undefined && compareCoordinates(c, coordinate) <= 0) {
        newest = i;
        break;
      }
    }
    if (newest >= 0) this.sawIndex(side, newest, atMs);
  }

  sawIndex(side: string, index: number, atMs: number): void {
    let state = this.#sides.get(side);
    if (state === undefined) {
      state = { newest: -1, seenMs: new Map() };
      this.#sides.set(side, state);
    }
    for (let i = state.newest + 1; i <= index; i += 1) state.seenMs.set(i, atMs);
    if (index > state.newest) state.newest = index;
  }

  /** Whether `side` showed a beat acknowledged at or after `afterMs`. */
  seenSince(side: string, afterMs: number): boolean {
    const state = this.#sides.get(side);
    if (state === undefined) return false;
    for (let i = state.newest; i >= 0; i -= 1) {
      const acked = this.#beats[i]!.ackedMs;
      if (acked !== undefined && acked >= afterMs) return true;
      if (acked !== undefined && acked < afterMs) return false;
    }
    return false;
  }

  /** The lag of every beat acknowledged in [fromMs, toMs] on `side`; unseen ones count until `nowMs`. */
  lags(side: string, fromMs: number, toMs: number, nowMs: number): BeatLag[] {
    const seen = this.#sides.get(side)?.seenMs ?? new Map<number, number>();
    const out: BeatLag[] = [];
    this.#beats.forEach((beat, i) => {
      const acked = beat.ackedMs;
      if (acked === undefined || acked < fromMs || acked > toMs) return;
      const at = seen.get(i);
      out.push(at === undefined ? { ackedMs: acked, lagMs: nowMs - acked, censored: true } : { ackedMs: acked, lagMs: Math.max(0, at - acked), censored: false });
    });
    return out;
  }
}

/** The q-th percentile (0..100) by nearest rank; NaN for none. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((q / 100) * sorted.length) - 1))]!;
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Least-squares slope of y over x (per unit of x); 0 for fewer than 2 points. */
export function slope(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
