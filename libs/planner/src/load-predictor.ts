import type { BrokenStatement } from '@cleave/core';
import type { TableGraph } from './table-graph.js';

/** A place a table (or part of it) is served from: `server/database`. */
export interface Endpoint {
  readonly server: string;
  readonly database: string;
}

/** Where each table of the planned database lives after the split. */
export interface Placement {
  readonly source: Endpoint;
  /** Endpoints of a table with the share of its rows (and load) each serves; absent: the source. */
  readonly tables: ReadonlyMap<string, readonly { readonly endpoint: Endpoint; readonly fraction: number; readonly label?: string }[]>;
}

/** Predicted load of one endpoint. */
export interface EndpointLoad {
  readonly endpoint: Endpoint;
  /** Tables (or `table [range]` for shard ranges) it serves. */
  readonly tables: readonly string[];
  readonly rows: number;
  readonly bytes: number;
  readonly executions: number;
  readonly timeMs: number;
  readonly executionsShare: number;
  /** `null` when the workload has no timing. */
  readonly timeShare: number | null;
  /**
   * Share of today's connections that would open a connection to this server (a connection that
   * touches tables on two servers counts for both); `null` unless the workload knows connections
   * (general log).
   */
  readonly connectionShare: number | null;
}

/** What {@link predictLoad} returns. */
export interface LoadPrediction {
  /** The source first, then the targets in placement order. */
  readonly endpoints: readonly EndpointLoad[];
  /** Share of the source's statement time (executions when untimed) that the split removes. */
  readonly sourceLoadRemovedShare: number;
  /** Sorted by executions (descending), then digest. */
  readonly brokenStatements: readonly BrokenStatement[];
}

const keyOf = (e: Endpoint) => `${e.server}/${e.database}`;

/**
 * Predicts each server's share of today's executions and time after the split: a statement
 * whose tables all land on one server runs there; a statement on a sharded table is spread over
 * its ranges by their share of rows; a statement whose tables land apart is reported as broken
 * and its load shared among its tables' servers. Statements without tables stay on the source.
 */
export function predictLoad(graph: TableGraph, placement: Placement): LoadPrediction {
  const acc = new Map<string, { endpoint: Endpoint; tables: Set<string>; rows: number; bytes: number; executions: number; timeMs: number; connections: Set<string> }>();
  const allConnections = new Set<string>();
  const slot = (e: Endpoint) => {
    const k = keyOf(e);
    let s = acc.get(k);
    if (s === undefined) {
      s = { endpoint: e, tables: new Set(), rows: 0, bytes: 0, executions: 0, timeMs: 0, connections: new Set() };
      acc.set(k, s);
    }
    return s;
  };
  const sourceSlot = slot(placement.source);
  const where = (table: string) => placement.tables.get(table) ?? [{ endpoint: placement.source, fraction: 1 }];
  for (const t of graph.tables) {
    if (t.external) continue;
    for (const p of where(t.name)) {
      const s = slot(p.endpoint);
      s.tables.add(p.label ?? t.name);
      s.rows += t.rows * p.fraction;
      s.bytes += t.bytes * p.fraction;
    }
  }
  for (const [, places] of [...placement.tables].sort(([a], [b]) => (a < b ? -1 : 1))) for (const p of places) slot(p.endpoint);
  const broken: BrokenStatement[] = [];
  for (const s of graph.statements) {
    const tables = s.analysis.tables;
    for (const c of s.connections ?? []) allConnections.add(c);
    if (tables.length === 0) {
      sourceSlot.executions += s.executions;
      sourceSlot.timeMs += s.timeMs;
      for (const c of s.connections ?? []) sourceSlot.connections.add(c);
      continue;
    }
    const servers = new Set<string>();
    for (const t of tables) for (const p of where(t)) servers.add(keyOf(p.endpoint));
    for (const t of tables) {
      for (const p of where(t)) {
        const x = slot(p.endpoint);
        x.executions += (s.executions / tables.length) * p.fraction;
        x.timeMs += (s.timeMs / tables.length) * p.fraction;
        for (const c of s.connections ?? []) x.connections.add(c);
      }
    }
    if (tables.length > 1 && servers.size > 1) {
      broken.push({ digest: s.digest, text: s.text, executions: s.executions, reason: 'cross-server-join', tables: [...tables] });
    }
  }
  for (const t of graph.transactions) {
    const servers = new Set<string>();
    for (const table of t.tables) for (const p of where(table)) servers.add(keyOf(p.endpoint));
    if (servers.size > 1) {
      broken.push({ digest: `txn-${t.digests.map((d) => d.slice(0, 8)).join('-')}`.slice(0, 120), text: t.text, executions: t.count, reason: 'cross-server-transaction', tables: [...t.tables] });
    }
  }
  broken.sort((a, b) => b.executions - a.executions || (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  const totalExecutions = graph.total.executions;
  const totalTime = graph.total.timeMs;
  const endpoints: EndpointLoad[] = [...acc.values()].map((s) => ({
    endpoint: s.endpoint,
    tables: [...s.tables].sort(),
    rows: Math.round(s.rows),
    bytes: Math.round(s.bytes),
    executions: s.executions,
    timeMs: s.timeMs,
    executionsShare: totalExecutions > 0 ? s.executions / totalExecutions : 0,
    timeShare: graph.timed && totalTime > 0 ? s.timeMs / totalTime : null,
    connectionShare: allConnections.size > 0 ? s.connections.size / allConnections.size : null,
  }));
  const source = endpoints[0]!;
  const removed = graph.timed ? 1 - (source.timeShare ?? 0) : totalExecutions > 0 ? 1 - source.executionsShare : 0;
  return { endpoints, sourceLoadRemovedShare: Math.min(1, Math.max(0, removed)), brokenStatements: broken };
}
