import { CleaveError } from '@cleave/core';
import type { MigrationEvent, MigrationRecord } from '@cleave/control';
import { quoteIdentifier } from '@cleave/mysql';
import { ARCHIVE_PREFIX } from './archive-name.js';
import type { ServerQueryable } from './cutover-store.js';
import type { ArchiveRename } from './switcher.js';

/** Per-call options of `Cutover.dropArchive`. */
export interface DropArchiveOptions {
  /** Needed to drop (irreversible). Without it the call throws {@link ArchiveDropApprovalRequiredError}. */
  readonly approve?: boolean;
  /** List what would be dropped; change nothing (no lease, no event). */
  readonly dryRun?: boolean;
  /** Why (recorded with the event). */
  readonly reason?: string;
}

/** An archived table finalize recorded that is not dropped, and why. */
export interface SkippedArchive extends ArchiveRename {
  readonly why: string;
}

/** What `Cutover.dropArchive` did (or, in a dry run, would do). */
export interface DropArchiveResult {
  readonly migrationId: string;
  readonly name: string;
  /** `dropped`: `tables` were dropped; `nothing-to-drop`: none is left (a re-run); `dry-run`: `tables` would be dropped. */
  readonly outcome: 'dropped' | 'nothing-to-drop' | 'dry-run';
  /** The archived tables dropped (or that a dry run would drop), sorted by server, database, name. */
  readonly tables: readonly ArchiveRename[];
  /** Archived by finalize and no longer on their server (dropped earlier). */
  readonly gone: readonly ArchiveRename[];
  /** Recorded tables that are never dropped, with why (not an archive of this migration, or ambiguous). */
  readonly skipped: readonly SkippedArchive[];
}

/** Dropping the archive was requested without approval; `tables` is what it would drop. */
export class ArchiveDropApprovalRequiredError extends CleaveError<'APPROVAL_REQUIRED'> {
  readonly migrationName: string;
  readonly tables: readonly ArchiveRename[];

  constructor(migrationName: string, tables: readonly ArchiveRename[]) {
    super(
      'APPROVAL_REQUIRED',
      `dropping the archive of migration ${migrationName} is IRREVERSIBLE: it would drop ${tables.map(describeArchive).join(', ')}; pass --approve to drop them`,
      { hint: `Run \`cleave drop-archive ${migrationName} --approve\` once nothing needs the old rows (\`--dry-run\` lists them).` },
    );
    this.migrationName = migrationName;
    this.tables = tables;
  }
}

/** `source:accounts._cleave_archived_split-mail_sessions` */
export function describeArchive(a: ArchiveRename): string {
  return `${a.server}:${a.database}.${a.archive}`;
}

const keyOf = (a: Pick<ArchiveRename, 'server' | 'database' | 'archive'>) => `${a.server}\u0000${a.database}\u0000${a.archive}`;

function isArchiveRename(v: unknown): v is ArchiveRename {
  const r = v as Record<string, unknown> | null;
  return typeof r === 'object' && r !== null && ['server', 'database', 'table', 'archive'].every((k) => typeof r[k] === 'string');
}

/** The renames finalize recorded in the event log (its `archive` record and its `done` summary). */
export function recordedArchives(events: readonly MigrationEvent[]): ArchiveRename[] {
  const seen = new Map<string, ArchiveRename>();
  for (const e of events) {
    const d = e.details;
    if (e.kind !== 'note' || d === null || d['to'] !== 'finalized' || (d['cutover'] !== 'archive' && d['cutover'] !== 'done')) continue;
    const archived = d['archived'];
    if (!Array.isArray(archived)) continue;
    for (const a of archived) if (isArchiveRename(a)) seen.set(keyOf(a), { server: a.server, database: a.database, table: a.table, archive: a.archive });
  }
  return [...seen.values()];
}

/**
 * Which archived tables of a finalized migration may be dropped: those finalize recorded (or,
 * for a finalize that recorded none, the names it renames to) that are exactly this migration's
 * archive names, not also the archive name of another migration, and exist on their server as
 * base tables. Anything else is never dropped.
 */
export async function droppableArchives(
  migration: MigrationRecord,
  expected: readonly ArchiveRename[],
  recorded: readonly ArchiveRename[],
  others: readonly ArchiveRename[],
  servers: (server: string) => ServerQueryable,
): Promise<{ present: ArchiveRename[]; gone: ArchiveRename[]; skipped: SkippedArchive[] }> {
  const mine = new Map(expected.map((a) => [keyOf(a), a]));
  const theirs = new Set(others.map(keyOf));
  const skipped: SkippedArchive[] = [];
  const candidates: ArchiveRename[] = [];
  for (const a of recorded.length > 0 ? recorded : expected) {
    const own = mine.get(keyOf(a));
    if (own === undefined || own.table !== a.table || !a.archive.startsWith(ARCHIVE_PREFIX)) {
      skipped.push({ ...a, why: `not an archive name of migration ${migration.name}` });
    } else if (theirs.has(keyOf(a))) {
      skipped.push({ ...a, why: 'another migration archives a table under the same name' });
    } else candidates.push(own);
  }
  const byLocation = new Map<string, { server: string; database: string; group: ArchiveRename[] }>();
  for (const a of candidates) {
    const at = `${a.server}\u0000${a.database}`;
    const entry = byLocation.get(at) ?? { server: a.server, database: a.database, group: [] };
    entry.group.push(a);
    byLocation.set(at, entry);
  }
  const present: ArchiveRename[] = [];
  const gone: ArchiveRename[] = [];
  for (const { server, database, group } of byLocation.values()) {
    const [rows] = await servers(server).query(
      `SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' AND TABLE_NAME IN (?)`,
      [database, group.map((a) => a.archive)],
    );
    const exists = new Set((rows as Array<{ t: string }>).map((r) => r.t));
    for (const a of group) (exists.has(a.archive) ? present : gone).push(a);
  }
  const order = (a: ArchiveRename, b: ArchiveRename) => keyOf(a).localeCompare(keyOf(b));
  return { present: present.sort(order), gone: gone.sort(order), skipped };
}

/** Drops one archived table (it was listed as present a moment ago; IF EXISTS for a concurrent re-run). */
export async function dropArchivedTable(db: ServerQueryable, a: ArchiveRename): Promise<void> {
  if (!a.archive.startsWith(ARCHIVE_PREFIX)) throw new CleaveError('INTERNAL', `refusing to drop ${describeArchive(a)}: not a cleave archive name`);
  await db.query(`DROP TABLE IF EXISTS ${quoteIdentifier(a.database)}.${quoteIdentifier(a.archive)}`);
}
