import { CleaveError, PHASE_ROUTING, rowPlacement, tablePlacement, type Plan, type PlanEndpoint } from '@cleave/core';
import { decodeShadowKeys, type ControlStore, type ShadowFailureRecord } from '@cleave/control';
import type { Pool } from 'mysql2/promise';
import { readCatalog, syncKeys, tableShape, type KeyTuple, type SyncOptions, type TableShape } from '@cleave/mysql';

/** What {@link repairShadowFailures} needs: the control store and the pool of each named server. */
export interface RepairShadowFailuresDeps {
  readonly store: ControlStore;
  /** A mysql2 promise pool per server name (the worker's budgeted pools). */
  readonly servers: (serverName: string) => Pool;
  /** Records per round read from the store. @defaultValue 500 */
  readonly batchSize?: number;
  /** Most rounds (failures recorded meanwhile are picked up by the next round). @defaultValue 20 */
  readonly maxRounds?: number;
  readonly syncOptions?: SyncOptions;
}

/** The outcome of {@link repairShadowFailures}. */
export interface ShadowRepairReport {
  /** Failure records marked repaired. */
  readonly repaired: number;
  /** Distinct keys synced from the primary to the shadow. */
  readonly keys: number;
  /** Records left open because their repair failed (see `errors`). */
  readonly failed: number;
  /** Records left open because the phase has no shadow side (planned, finalized). */
  readonly skipped: number;
  /**
   * Records left open because they were routed under an earlier placement (the write primary has
   * moved since): their write is on the side that is now the shadow, and copying from the primary
   * would overwrite it. They close once a clean verification pass started after them.
   */
  readonly stale: number;
  readonly errors: readonly string[];
}

function placement(plan: Plan, table: string): { source: PlanEndpoint; targetOf: (key: KeyTuple, shape: TableShape) => PlanEndpoint | undefined } | undefined {
  const place = tablePlacement(plan, table);
  if (place === undefined) return undefined;
  return {
    source: place.source,
    // A shard move routes by the shard column's value, which the key must carry.
    targetOf: (key, shape) => {
      if (place.shardColumn === null) return place.targetOf();
      const at = shape.keyColumns.indexOf(place.shardColumn);
      return at < 0 ? undefined : place.targetOf(key[at]);
    },
  };
}

/**
 * Repairs the shadow writes that routers recorded as failed (`ControlStore.recordShadowFailure`):
 * for each recorded key, the row is synced from the primary of the migration's current phase to
 * its shadow with the same locked sync a dual write uses (`syncKeys`: lock the shadow key, read the
 * primary, upsert or delete), then the record is marked repaired. A record whose repair fails stays
 * open for the next run. Idempotent: repairing a key twice is harmless.
 *
 * @example
 * ```ts
 * const report = await repairShadowFailures(migration.id, { store, servers: (name) => pools.pool(urls[name]).promise });
 * report.repaired; // records marked repaired
 * ```
 */
export async function repairShadowFailures(migrationId: string, deps: RepairShadowFailuresDeps): Promise<ShadowRepairReport> {
  const migration = await deps.store.getMigration(migrationId);
  const routing = PHASE_ROUTING[migration.phase];
  const batchSize = deps.batchSize ?? 500;
  const maxRounds = deps.maxRounds ?? 20;
  const shapes = new Map<string, Promise<TableShape>>();
  const shapeOf = (endpoint: PlanEndpoint, table: string): Promise<TableShape> => {
    const id = `${endpoint.server}/${endpoint.database}/${table}`;
    let shape = shapes.get(id);
    if (shape === undefined) {
      shape = (async () => {
        const catalog = await readCatalog(deps.servers(endpoint.server), endpoint.database, { tables: [table] });
        const found = catalog.tables[0];
        if (found === undefined) throw new CleaveError('NOT_FOUND', `table ${endpoint.database}.${table} does not exist on server ${endpoint.server}`);
        return tableShape(found, endpoint.database);
      })();
      shapes.set(id, shape);
    }
    return shape;
  };

  let repaired = 0;
  let failed = 0;
  let skipped = 0;
  let stale = 0;
  let keyCount = 0;
  const runs = await deps.store.verificationRuns(migrationId);
  // A clean pass that started after a record compared both sides of its rows and found them equal.
  const verifiedSince = (at: Date) => runs.some((r) => r.clean === true && r.startedAt.getTime() > at.getTime());
  const errors: string[] = [];
  const leftOpen = new Set<number>();
  for (let round = 0; round < maxRounds; round += 1) {
    const fetched = (await deps.store.openShadowFailures(migrationId, batchSize + leftOpen.size)).filter((r) => !leftOpen.has(r.id));
    const moved = fetched.filter((r) => r.guardEpoch !== null && r.guardEpoch !== migration.guardEpoch);
    const settled = moved.filter((r) => verifiedSince(r.recordedAt)).map((r) => r.id);
    if (settled.length > 0) await deps.store.markShadowFailuresRepaired(settled);
    repaired += settled.length;
    const unsettled = moved.filter((r) => !settled.includes(r.id));
    for (const r of unsettled) leftOpen.add(r.id);
    if (unsettled.length > 0) {
      stale += unsettled.length;
      errors.push(staleMessage(unsettled, migration.guardEpoch));
    }
    const open = fetched.filter((r) => !moved.includes(r));
    if (open.length === 0) {
      if (fetched.length === 0) break;
      continue;
    }
    if (routing.shadow === null) {
      skipped += open.length;
      break;
    }
    // Group by table, then by (primary endpoint, shadow endpoint).
    const byTable = new Map<string, typeof open>();
    for (const record of open) byTable.set(record.table, [...(byTable.get(record.table) ?? []), record]);
    for (const [table, records] of byTable) {
      const ids = records.map((r) => r.id);
      try {
        const place = placement(migration.plan, table);
        if (place === undefined) throw new CleaveError('NOT_FOUND', `migration ${migration.name} does not move table ${table}`);
        const sourceShape = await shapeOf(place.source, table);
        const groups = new Map<string, { primary: PlanEndpoint; shadow: PlanEndpoint; keys: KeyTuple[] }>();
        for (const record of records) {
          for (const key of decodeShadowKeys(record.keyValues)) {
            const target = place.targetOf(key, sourceShape);
            if (target === undefined) throw new CleaveError('INVALID_ARGUMENT', `key ${JSON.stringify(key)} of ${table} falls in no shard range`);
            const { primary, shadow: maybeShadow } = rowPlacement(migration.phase, place.source, target);
            const shadow = maybeShadow ?? place.source;
            const id = `${primary.server}/${primary.database}>${shadow.server}/${shadow.database}`;
            const group = groups.get(id) ?? { primary, shadow, keys: [] };
            group.keys.push(key);
            groups.set(id, group);
          }
        }
        for (const { primary, shadow, keys } of groups.values()) {
          await syncKeys({
            source: deps.servers(primary.server),
            target: deps.servers(shadow.server),
            sourceShape: await shapeOf(primary, table),
            targetTable: { database: shadow.database, table },
            keys,
            options: { ...deps.syncOptions, guard: { migrationId: migration.id, epoch: migration.guardEpoch } },
          });
          keyCount += keys.length;
        }
        await deps.store.markShadowFailuresRepaired(ids);
        repaired += ids.length;
      } catch (error) {
        failed += ids.length;
        ids.forEach((id) => leftOpen.add(id));
        errors.push(`${table}: ${(error as Error).message}`);
      }
    }
  }
  return { repaired, keys: keyCount, failed, skipped, stale, errors };
}

function staleMessage(records: readonly ShadowFailureRecord[], guardEpoch: number): string {
  const tables = [...new Set(records.map((r) => r.table))].sort().join(', ');
  const epochs = [...new Set(records.map((r) => r.guardEpoch))].sort().join(', ');
  return (
    `${records.length} failed shadow writes of ${tables} were routed under guard epoch ${epochs}, and the write primary has moved since (guard epoch ${guardEpoch}): ` +
    'their acknowledged values are on the side that is now the shadow, so they are not copied from the primary. Compare the rows (cleave verify), ' +
    'correct the primary by hand or accept its values (cleave verify --repair); a clean verification pass closes them.'
  );
}
