import { CleaveError, movedTables, tablePlacement, type Plan, type PlanEndpoint } from '@cleave/core';
import { FORWARD_STREAM, streamServer } from '@cleave/control';
import { findTable, tableShape, type Catalog, type CatalogForeignKey, type TableShape } from '@cleave/mysql';
import type { DecodedRow } from './row-keys.js';

/** A moved table as one stream sees it: where its rows are read and where they go. */
export interface WatchedTable {
  readonly table: string;
  /** The primary side this stream reads (the binlog's server). */
  readonly primary: PlanEndpoint;
  readonly shape: TableShape;
  /** The shadow that holds a row (`undefined`: the row belongs to no shard range). */
  shadowOf(row: DecodedRow): PlanEndpoint | undefined;
  /** Every shadow a row of the table may be on. */
  readonly shadows: readonly PlanEndpoint[];
  /** Whether the shard column is part of the key (then a row leaving a range is a key leaving it). */
  readonly shardColumnInKey: boolean;
}

/** A foreign key whose cascading action InnoDB applies without logging it. */
export interface CascadeLink {
  readonly parentTable: string;
  readonly child: WatchedTable;
  readonly foreignKey: CatalogForeignKey;
}

/** Everything a stream needs to know about the tables it reads. */
export interface StreamPlan {
  readonly stream: string;
  readonly server: string;
  /** database -> tables, the binlog filter (moved tables and the parents of cascading keys). */
  readonly filter: Readonly<Record<string, readonly string[]>>;
  /** By `database.table`. */
  readonly watched: ReadonlyMap<string, WatchedTable>;
  /** By parent `database.table`. */
  readonly cascades: ReadonlyMap<string, readonly CascadeLink[]>;
  /**
   * The temporal types among the columns whose decoded values the stream reads (keys, shard
   * columns, the columns of cascading foreign keys): the decoder gives these as the server's text;
   * every other temporal column may come as a cheaper Date that nothing reads.
   */
  readonly temporalTypesRead: readonly TemporalType[];
}

/** The temporal types whose decoded form (text or Date) a binlog decoder lets its caller choose. */
export type TemporalType = 'DATE' | 'DATETIME' | 'TIMESTAMP';

const TEMPORAL_TYPES: Readonly<Record<string, TemporalType>> = { date: 'DATE', datetime: 'DATETIME', timestamp: 'TIMESTAMP' };

/** The temporal types of `columns` of a table. */
function temporalTypesOf(shape: TableShape, columns: readonly string[]): TemporalType[] {
  return columns.flatMap((name) => {
    const type = TEMPORAL_TYPES[shape.catalog.columns.find((c) => c.name === name)?.dataType ?? ''];
    return type === undefined ? [] : [type];
  });
}

const CASCADING = new Set(['CASCADE', 'SET NULL', 'SET DEFAULT']);

/**
 * What `stream` of a migration watches, from the plan and the catalogs of the databases its
 * binlog server holds (`catalogs`: database -> catalog, read from that server).
 */
export function streamPlan(plan: Plan, stream: string, catalogs: ReadonlyMap<string, Catalog>): StreamPlan {
  const server = streamServer(plan, stream);
  const watched = new Map<string, WatchedTable>();
  const temporal = new Set<TemporalType>();
  for (const table of movedTables(plan)) {
    const place = tablePlacement(plan, table);
    if (place === undefined) continue;
    const primaries = stream === FORWARD_STREAM ? [place.source] : place.targets.filter((t) => t.server === server);
    for (const primary of dedupe(primaries)) {
      const catalogTable = findTable(mustCatalog(catalogs, primary.database, server), table);
      if (catalogTable === undefined) throw new CleaveError('NOT_FOUND', `table ${primary.database}.${table} does not exist on server ${server}`);
      const shape = tableShape(catalogTable, primary.database);
      const shardColumn = place.shardColumn;
      for (const type of temporalTypesOf(shape, [...shape.keyShapeColumns.map((c) => c.name), ...(shardColumn === null ? [] : [shardColumn])])) temporal.add(type);
      watched.set(`${primary.database}.${table}`, {
        table,
        primary,
        shape,
        shadows: stream === FORWARD_STREAM ? place.targets : [place.source],
        shardColumnInKey: shardColumn === null || shape.keyColumns.includes(shardColumn),
        shadowOf:
          stream === FORWARD_STREAM
            ? (row) => place.targetOf(shardColumn === null ? undefined : (row[shardColumn] as never))
            : () => place.source,
      });
    }
  }
  const cascades = new Map<string, CascadeLink[]>();
  for (const child of watched.values()) {
    for (const fk of child.shape.catalog.foreignKeys) {
      if (!CASCADING.has(fk.onDelete) && !CASCADING.has(fk.onUpdate)) continue;
      const parent = `${fk.referencedSchema || child.primary.database}.${fk.referencedTable}`;
      cascades.set(parent, [...(cascades.get(parent) ?? []), { parentTable: parent, child, foreignKey: fk }]);
    }
  }
  // A foreign key's columns have the types of the parent's referenced columns (InnoDB requires it).
  for (const links of cascades.values()) for (const { child, foreignKey } of links) for (const type of temporalTypesOf(child.shape, foreignKey.columns)) temporal.add(type);
  const filter: Record<string, string[]> = {};
  for (const id of [...watched.keys(), ...cascades.keys()]) {
    const dot = id.indexOf('.');
    const db = id.slice(0, dot);
    filter[db] = [...new Set([...(filter[db] ?? []), id.slice(dot + 1)])];
  }
  return { stream, server, filter, watched, cascades, temporalTypesRead: [...temporal].sort() };
}

function dedupe(endpoints: readonly PlanEndpoint[]): PlanEndpoint[] {
  return [...new Map(endpoints.map((e) => [`${e.server}/${e.database}`, e])).values()];
}

function mustCatalog(catalogs: ReadonlyMap<string, Catalog>, database: string, server: string): Catalog {
  const catalog = catalogs.get(database);
  if (catalog === undefined) throw new CleaveError('INTERNAL', `no catalog of ${database} on server ${server} was read for the capture stream`);
  return catalog;
}

/** The databases a stream's server holds for a plan (the catalogs {@link streamPlan} needs). */
export function streamDatabases(plan: Plan, stream: string): string[] {
  if (stream === FORWARD_STREAM) return [plan.source.database];
  const server = streamServer(plan, stream);
  return [...new Set(movedTables(plan).flatMap((t) => tablePlacement(plan, t)?.targets.filter((e) => e.server === server).map((e) => e.database) ?? []))];
}
