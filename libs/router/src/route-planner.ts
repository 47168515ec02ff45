import type { RootOperationNode } from 'kysely';
import type { MigrationSide } from '@cleave/core';
import { updatedColumns, type QueryAnalysis, type TableName } from './query-analysis.js';
import { mentionsTable, parseRawSql } from './raw-sql.js';
import { RouterError } from './router-error.js';
import { shardKeyValue, sideEndpoints, type CoveredTable, type RoutingTable } from './routing-table.js';
import { statementKeyValues } from './write-keys.js';
import { fanoutMerge, type FanoutMerge } from './fanout-merge.js';

/** Where one statement runs. */
export interface Route {
  readonly server: string;
  /** More than one server: a shard read fanned out, its answers merged by `merge`. */
  readonly fanout: readonly string[];
  /** How a fanned-out read's per-shard answers merge (set with `fanout`). */
  readonly merge?: FanoutMerge;
  /** The written covered table, when the router applies the write's rows to its shadow itself. */
  readonly dual: { readonly covered: CoveredTable; readonly primary: MigrationSide; readonly shadow: MigrationSide } | undefined;
  /** Migrations whose writes this statement is (gated by fences). */
  readonly gate: readonly string[];
  /** For reads: the covered table and the side read (shadow-read candidates). */
  readonly read: { readonly covered: CoveredTable; readonly side: MigrationSide } | undefined;
  readonly side: 'source' | 'target' | 'home' | 'fanout';
}

/** The server of every table no migration covers, and its database (unqualified names mean it). */
export interface Home {
  readonly server: string;
  readonly database: string;
}

/**
 * Decides where statements run: a pure function of the routing table, the query analysis and
 * the statement (no servers, no I/O). Refusals are thrown as `RouterError`s, after `refused`
 * heard of them (the router counts them).
 *
 * Routes of statements that name no sharded table depend only on the analysis (cached per SQL
 * text) and the routing table (replaced on every reload), so they are cached on both: a routed
 * read or write then allocates nothing here.
 */
export class RoutePlanner {
  readonly #home: Home;
  readonly #refused: (error: RouterError) => void;
  readonly #routes = new WeakMap<QueryAnalysis, { table: RoutingTable; routes: [Route | undefined, Route | undefined] }>();

  constructor(home: Home, refused: (error: RouterError) => void = () => undefined) {
    this.#home = home;
    this.#refused = refused;
  }

  /** Where `node` runs under `table`. `inTransaction`: reads of covered tables go to the primary. */
  route(table: RoutingTable, input: QueryAnalysis, node: RootOperationNode, sql: string, inTransaction: boolean): Route {
    const cached = this.#routes.get(input);
    const key = inTransaction ? 1 : 0;
    if (cached !== undefined && cached.table === table && cached.routes[key] !== undefined) return cached.routes[key];
    const route = this.#plan(table, input, node, sql, inTransaction);
    if (!input.raw && input.rawFragments === '' && input.tables.every((name) => table.lookup(name, this.#home.database)?.move.kind !== 'shard')) {
      const entry = cached !== undefined && cached.table === table ? cached : { table, routes: [undefined, undefined] as [Route | undefined, Route | undefined] };
      entry.routes[key] = Object.freeze(route);
      this.#routes.set(input, entry);
    }
    return route;
  }

  #plan(table: RoutingTable, input: QueryAnalysis, node: RootOperationNode, sql: string, inTransaction: boolean): Route {
    const home = this.#home.database;
    let analysis = input;
    if (analysis.rawFragments !== '' && table.covered().some((c) => mentionsTable(analysis.rawFragments, c.table))) {
      // Raw fragments inside a built query name a migrated table: find all tables with the parser.
      const parsed = parseRawSql(sql);
      if (parsed === null) analysis = { ...analysis, unparsed: true };
      else analysis = { ...analysis, tables: [...analysis.tables, ...parsed.tables.filter((t) => !analysis.tables.some((a) => a.table === t.table && a.schema === t.schema))] };
    }
    if (analysis.unparsed) {
      const hit = table.covered().filter((c) => mentionsTable(sql, c.table));
      if (hit.length > 0) {
        throw this.#refuse(
          new RouterError('raw-sql-unroutable', `raw SQL that the router cannot parse names migrated table(s) ${hit.map((c) => c.table).join(', ')}: refusing rather than guessing where it goes`, {
            hint: 'Write the statement with the query builder, or as one plain statement the MariaDB grammar accepts.',
          }),
        );
      }
      return { server: this.#home.server, fanout: [], dual: undefined, gate: [], read: undefined, side: 'home' };
    }
    this.#refuseUncarriable(analysis, table);
    const isWrite = analysis.kind === 'insert' || analysis.kind === 'update' || analysis.kind === 'delete' || (analysis.raw && analysis.kind === 'other');
    const placements: Array<{ name: TableName; servers: string[]; covered: CoveredTable | undefined }> = [];
    let dual: Route['dual'];
    let read: Route['read'];
    const gate = new Set<string>();
    let fanoutAllowed = false;
    for (const name of analysis.tables) {
      const covered = table.lookup(name, home);
      if (covered === undefined) {
        placements.push({ name, servers: [this.#home.server], covered });
        continue;
      }
      const routing = covered.routing;
      const written = analysis.written !== undefined && analysis.written.table === name.table && (analysis.written.schema ?? home) === (name.schema ?? home);
      const side: MigrationSide = isWrite || inTransaction ? routing.primary : routing.reads;
      const keys = covered.move.kind === 'shard' && covered.migration.phase !== 'planned' ? this.#shardKeys(covered, analysis, node, written) : undefined;
      const servers = sideEndpoints(covered, side, side === 'target' ? keys : undefined).map((e) => e.server);
      if (side === 'target' && covered.move.kind === 'shard' && keys === undefined && !isWrite) fanoutAllowed = true;
      placements.push({ name, servers, covered });
      if (written) {
        if (covered.migration.phase !== 'finalized') gate.add(covered.migration.id);
        if (routing.shadow !== null && covered.shadowWrites) {
          if (analysis.raw) {
            throw this.#refuse(
              new RouterError('unsupported-write', `raw SQL writes to ${covered.table} cannot be dual-written (phase ${covered.migration.phase}); use the query builder`, {
                hint: 'The router finds the touched rows from the query builder’s operation nodes.',
              }),
            );
          }
          dual = { covered, primary: routing.primary, shadow: routing.shadow };
        }
      } else if (!isWrite && !inTransaction && read === undefined) {
        read = { covered, side };
      }
    }
    if (isWrite && analysis.written !== undefined && placements.length === 0) placements.push({ name: analysis.written, servers: [this.#home.server], covered: undefined });
    const all = [...new Set(placements.flatMap((p) => p.servers))];
    if (all.length === 0) return { server: this.#home.server, fanout: [], dual, gate: [...gate], read, side: 'home' };
    if (all.length > 1) {
      const single = placements.length === 1 && fanoutAllowed;
      const merge = single ? fanoutMerge(node) : undefined;
      if (merge !== undefined) {
        return { server: all[0]!, fanout: all, merge, dual: undefined, gate: [], read: undefined, side: 'fanout' };
      }
      if (single) {
        throw this.#refuse(
          new RouterError('shard-fanout-unsupported', `a read of sharded table ${placements[0]!.name.table} without its shard key goes to ${all.join(', ')}, and its per-shard answers cannot be merged exactly (the router merges plain columns, ORDER BY selected columns with a LIMIT, and COUNT/SUM/MIN/MAX without GROUP BY or DISTINCT)`, {
            hint: 'Give the shard key (= or IN), or reduce the read to one of those shapes and finish it (GROUP BY, DISTINCT, OFFSET, expressions) in the service.',
          }),
        );
      }
      const where = placements.map((p) => `${p.name.table} -> ${p.servers.join('+')}`).join(', ');
      throw this.#refuse(
        new RouterError(inTransaction ? 'cross-server-transaction' : 'cross-server-query', `the query's tables live on different servers in the current phase (${where}): a cross-server join cannot run`, {
          hint: 'Split the query per server and join in the service (the plan listed it under brokenStatements).',
        }),
      );
    }
    const covered = placements.find((p) => p.covered !== undefined)?.covered;
    const side = covered === undefined ? 'home' : isWrite || inTransaction ? covered.routing.primary : covered.routing.reads;
    return { server: all[0]!, fanout: [], dual, gate: [...gate], read, side };
  }

  /**
   * The shard key values a statement on a sharded table gives (`undefined`: not all of them, or
   * none; raw SQL gives none); refuses the writes that cannot be placed on one shard.
   */
  #shardKeys(covered: CoveredTable, analysis: QueryAnalysis, node: RootOperationNode, written: boolean): string[] | undefined {
    const move = covered.move;
    if (move.kind !== 'shard') return undefined;
    const values = analysis.raw ? undefined : statementKeyValues(node, move.column);
    let keys = values?.map((v) => shardKeyValue(move.type, v)).filter((v): v is string => v !== undefined);
    if (keys !== undefined && keys.length !== values?.length) keys = undefined;
    if (written && keys === undefined && analysis.raw) {
      throw this.#refuse(
        new RouterError('shard-key-missing', `a raw SQL write to sharded table ${covered.table}: the router reads shard key values (${move.column}) only from query-builder statements, so it cannot tell which shard the rows belong to`, {
          hint: `Write it with the query builder, giving ${move.column} in the inserted values or as = / IN in the WHERE.`,
        }),
      );
    }
    if (written && keys === undefined) {
      throw this.#refuse(
        new RouterError('shard-key-missing', `a write to sharded table ${covered.table} must give its shard key ${move.column} (in the inserted values, or as = / IN in the WHERE)`, {
          hint: `Add ${move.column} to the statement; without it the router cannot tell which shard the rows belong to.`,
        }),
      );
    }
    if (written && updatedColumns(node).includes(move.column)) {
      throw this.#refuse(
        new RouterError('unsupported-write', `${node.kind === 'InsertQueryNode' ? 'an INSERT … ON DUPLICATE KEY UPDATE' : 'an UPDATE'} of sharded table ${covered.table} that sets its shard key ${move.column} could move rows to another shard, where neither shard's copy nor verification would follow them`, {
          hint: `Delete the row and insert it with the new ${move.column} (two statements), or leave ${move.column} unchanged.`,
        }),
      );
    }
    return keys;
  }

  /**
   * Refuses what cannot be carried to both sides of a migration in flight: statements that are
   * neither reads nor row writes (DDL, TRUNCATE, RENAME, DROP, ...) naming a moved table, and
   * multi-table UPDATE/DELETE touching one (the router gates and copies one written table).
   */
  #refuseUncarriable(analysis: QueryAnalysis, table: RoutingTable): void {
    const moving = (phases: readonly string[]) =>
      analysis.tables.map((name) => table.lookup(name, this.#home.database)).filter((c): c is CoveredTable => c !== undefined && !phases.includes(c.migration.phase));
    if (analysis.kind === 'other') {
      const hit = moving(['finalized'])[0];
      if (hit !== undefined) {
        throw this.#refuse(
          new RouterError('unsupported-statement', `${describeStatement(analysis.statement)} names ${hit.table}, which migration ${hit.migration.name} is moving (phase ${hit.migration.phase}): only reads and row writes are carried to both sides`, {
            hint: 'Change the schema of a moved table before `cleave start` or after `cleave finalize` (or `cleave cancel`); until then the copy, capture and verification rely on both sides having the same definition.',
          }),
        );
      }
    }
    if (analysis.multiTableWrite) {
      const hit = moving(['planned', 'finalized'])[0];
      if (hit !== undefined) {
        throw this.#refuse(
          new RouterError('unsupported-write', `a multi-table ${analysis.kind.toUpperCase()} writes ${hit.table}, which migration ${hit.migration.name} is moving (phase ${hit.migration.phase}): the router holds and copies the rows of one written table per statement`, {
            hint: `Write ${hit.table} in a statement of its own.`,
          }),
        );
      }
    }
  }

  #refuse(error: RouterError): RouterError {
    this.#refused(error);
    return error;
  }
}

/** A statement kind as people name it: `AlterTableNode` -> `ALTER TABLE`, `truncate` -> `TRUNCATE`. */
function describeStatement(statement: string): string {
  const words = statement.replace(/Node$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();
  return `${/^[AEIOU]/.test(words) ? 'an' : 'a'} ${words} statement`;
}
