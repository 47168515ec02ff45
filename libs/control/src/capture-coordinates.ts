import { CleaveError, movedTables, tablePlacement, type Plan } from '@cleave/core';
import type { BinlogCoordinate } from './capture-streams.js';
import { rowsOf, type Queryable } from './queryable.js';

/** The forward stream reads the source's binlog; a reverse stream reads one target server's. */
export const FORWARD_STREAM = 'forward';
export const reverseStream = (server: string): string => `reverse:${server}`;

/** The stream names a phase runs: forward while the source is the primary, reverse after the writes switch. */
export function streamsForPhase(plan: Plan, phase: string): string[] {
  if (phase === 'dual_write' || phase === 'verified' || phase === 'reads_switched') return [FORWARD_STREAM];
  if (phase === 'writes_switched') return targetServers(plan).map(reverseStream);
  return [];
}

/** The servers that hold targets of a plan, each once. */
export function targetServers(plan: Plan): string[] {
  return [...new Set(movedTables(plan).flatMap((t) => tablePlacement(plan, t)?.targets.map((e) => e.server) ?? []))];
}

/** The server whose binlog a stream reads. */
export function streamServer(plan: Plan, stream: string): string {
  if (stream === FORWARD_STREAM) return plan.source.server;
  if (stream.startsWith('reverse:')) return stream.slice('reverse:'.length);
  throw new CleaveError('INVALID_ARGUMENT', `unknown capture stream ${stream}: expected ${FORWARD_STREAM} or reverse:<server>`);
}

const NUMBERED = /^(.*)\.(\d+)$/;

/** `binlog.000002:381`. */
export function formatCoordinate(at: BinlogCoordinate): string {
  return `${at.file}:${at.position}`;
}

/**
 * Orders two coordinates of one server's binlog: by the file's sequence number (`binlog.000002`
 * after `binlog.000001`), then by offset.
 */
export function compareCoordinates(a: BinlogCoordinate, b: BinlogCoordinate): number {
  if (a.file !== b.file) {
    const x = NUMBERED.exec(a.file);
    const y = NUMBERED.exec(b.file);
    if (x === null || y === null || x[1] !== y[1]) {
      throw new CleaveError('INVALID_ARGUMENT', `binlog files ${a.file} and ${b.file} are not of one series: compare coordinates of one server only`);
    }
    return Number(x[2]) - Number(y[2]);
  }
  return a.position - b.position;
}

/**
 * The server's binlog end now (`SHOW MASTER STATUS`, MySQL 8.4's `SHOW BINARY LOG STATUS`), with
 * MariaDB's `@@gtid_binlog_pos`: every transaction committed before the call is before it.
 */
export async function currentCoordinate(db: Queryable, server: string): Promise<BinlogCoordinate> {
  let status: Array<{ File: string; Position: number | string }>;
  try {
    status = await rowsOf(db, 'SHOW MASTER STATUS');
  } catch {
    status = await rowsOf(db, 'SHOW BINARY LOG STATUS');
  }
  const first = status[0];
  if (first === undefined) {
    throw new CleaveError('CAPTURE_UNAVAILABLE', `server ${server} writes no binary log (SHOW MASTER STATUS is empty)`, {
      hint: 'Start it with log-bin and binlog_format=ROW, or start the migration with --no-capture.',
    });
  }
  let gtid: string | null = null;
  try {
    gtid = (await rowsOf<{ g: string | null }>(db, 'SELECT @@gtid_binlog_pos AS g'))[0]?.g ?? null;
  } catch {
    gtid = null; // MySQL: file and offset are the position
  }
  return { file: first.File, position: Number(first.Position), gtid: gtid === '' ? null : gtid };
}
