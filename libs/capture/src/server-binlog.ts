import { createHash } from 'node:crypto';
import { CleaveError } from '@cleave/core';
import { compareCoordinates } from '@cleave/control';

/** The one call these checks make (a mysql2 promise pool or connection fits). */
export interface SqlQueryable {
  query(sql: string): Promise<[unknown, unknown]>;
}

async function rows<T>(db: SqlQueryable, sql: string): Promise<T[]> {
  const [result] = await db.query(sql);
  return result as T[];
}

/** One binlog file the server still has, and its size in bytes. */
export interface BinlogFileSize {
  readonly file: string;
  readonly size: number;
}

/** The binlog files the server still has, oldest first, with their sizes (`SHOW BINARY LOGS`). */
export async function binlogFileSizes(db: SqlQueryable): Promise<BinlogFileSize[]> {
  return (await rows<{ Log_name: string; File_size: number | string }>(db, 'SHOW BINARY LOGS')).map((r) => ({ file: r.Log_name, size: Number(r.File_size) }));
}

/**
 * Bytes of binlog written after `at` in a listing of {@link binlogFileSizes}: the sizes of `at`'s
 * file and every later one, minus `at`'s offset, never negative (a listing older than `at`, even
 * than its file, gives 0). `null` when `at`'s file is no longer listed (purged: the stream reports
 * that itself).
 */
export function binlogBytesAfter(files: readonly BinlogFileSize[], at: { readonly file: string; readonly position: number }): number | null {
  const from = files.findIndex((f) => f.file === at.file);
  if (from < 0) {
    const last = files.at(-1);
    return last !== undefined && laterFile(at.file, last.file) ? 0 : null;
  }
  const written = files.slice(from).reduce((sum, f) => sum + f.size, 0);
  return Math.max(0, written - at.position);
}

/** `a` comes after `b` in one server's binlog series (`binlog.000003` after `binlog.000002`). */
function laterFile(a: string, b: string): boolean {
  try {
    return compareCoordinates({ file: a, position: 0 }, { file: b, position: 0 }) > 0;
  } catch {
    return false; // not one series: not comparable
  }
}

/**
 * How far a checkpoint is behind the server's binlog end, in bytes (what a MySQL replica reports
 * as Read_Master_Log_Pos against Exec_Master_Log_Pos): `null` when its file was purged.
 */
export async function binlogBytesBehind(db: SqlQueryable, at: { readonly file: string; readonly position: number }): Promise<number | null> {
  return binlogBytesAfter(await binlogFileSizes(db), at);
}

/** Server settings and privileges a capture stream needs, each with how to get it. */
export interface CaptureSupport {
  readonly server: string;
  readonly problems: readonly string[];
}

const PRIVILEGE = /^GRANT (.+?) ON (\S+) TO /;

/** The global privileges of the current user (from SHOW GRANTS), upper case. */
async function globalPrivileges(db: SqlQueryable): Promise<Set<string>> {
  const grants = await rows<Record<string, string>>(db, 'SHOW GRANTS FOR CURRENT_USER()');
  const found = new Set<string>();
  for (const row of grants) {
    const text = Object.values(row)[0] ?? '';
    const match = PRIVILEGE.exec(text);
    if (match === null || match[2] !== '*.*') continue;
    for (const p of match[1]!.split(',')) found.add(p.trim().toUpperCase());
  }
  return found;
}

/**
 * What stops a capture stream from reading this server's binlog: binlog off, a format other than
 * ROW, a row image without the whole key, missing REPLICATION SLAVE / REPLICATION CLIENT
 * (MariaDB: BINLOG MONITOR). An empty list: it can.
 */
export async function checkCaptureSupport(db: SqlQueryable, server: string): Promise<CaptureSupport> {
  const problems: string[] = [];
  const [settings] = await rows<{ log_bin: number | string; format: string | null; image: string | null; server_id: number | string }>(
    db,
    'SELECT @@log_bin AS log_bin, @@binlog_format AS format, @@binlog_row_image AS image, @@server_id AS server_id',
  );
  if (Number(settings?.log_bin ?? 0) !== 1) {
    problems.push(`binary logging is off on server ${server}: start it with log-bin (and binlog_format=ROW) in its configuration and restart it`);
  } else {
    if ((settings?.format ?? '').toUpperCase() !== 'ROW') {
      problems.push(`binlog_format is ${settings?.format ?? 'unset'} on server ${server}: set binlog_format=ROW in its configuration and SET GLOBAL binlog_format='ROW'`);
    }
    if (!['FULL', 'NOBLOB'].includes((settings?.image ?? 'FULL').toUpperCase())) {
      problems.push(`binlog_row_image is ${settings?.image ?? ''} on server ${server}: capture needs the whole key in every row image; set binlog_row_image=FULL (or NOBLOB)`);
    }
  }
  const privileges = await globalPrivileges(db);
  const all = privileges.has('ALL PRIVILEGES') || privileges.has('ALL');
  if (!all && !privileges.has('REPLICATION SLAVE')) {
    problems.push(`cleave's account on server ${server} lacks REPLICATION SLAVE: GRANT REPLICATION SLAVE ON *.* TO <cleave's account>`);
  }
  if (!all && !privileges.has('REPLICATION CLIENT') && !privileges.has('BINLOG MONITOR')) {
    problems.push(`cleave's account on server ${server} lacks REPLICATION CLIENT (MariaDB: BINLOG MONITOR): GRANT REPLICATION CLIENT ON *.* TO <cleave's account>`);
  }
  return { server, problems };
}

/** Throws `CAPTURE_UNAVAILABLE` listing every problem of {@link checkCaptureSupport}. */
export async function requireCaptureSupport(db: SqlQueryable, server: string): Promise<void> {
  const support = await checkCaptureSupport(db, server);
  if (support.problems.length === 0) return;
  throw new CleaveError('CAPTURE_UNAVAILABLE', `server ${server} cannot feed binlog change capture:\n  - ${support.problems.join('\n  - ')}`, {
    hint: 'Fix the settings above, or start with --no-capture: writes made outside @cleave/router are then caught only by verification passes, and a change after the last pass is lost at the switch.',
  });
}

/**
 * The replication server id a stream announces: derived from the migration and stream (so a
 * restarted stream keeps it), in a range far from the small ids servers are usually given, and
 * never the server's own.
 */
export function readerServerId(migrationId: string, stream: string, serverOwnId: number): number {
  const hash = createHash('sha256').update(`${migrationId}/${stream}`).digest().readUInt32BE(0);
  const id = 0x40000000 + (hash % 0x3fffffff);
  return id === serverOwnId ? id + 1 : id;
}
