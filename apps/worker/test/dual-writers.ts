import { MysqlPools, parseConnectionUrl, readCatalog, syncKeys, tableShape, type KeyTuple } from '@cleave/mysql';
import type { TestDatabases } from '@cleave/testing';

/**
 * Application writers with dual-write semantics, as @cleave/router applies them without binlog
 * capture: each write commits on the source (the primary), then the touched keys are synced to
 * the target by key (lock the target row, read the primary, apply). With `shadow: false` they
 * are writers outside the router: the source only. Inserts, updates, deletes and key updates on
 * the `sessions` table, spread over the whole key space so they hit chunks being copied.
 */
export async function startDualWriters(dbs: TestDatabases, targetServer: 'target1' | 'target2', writers: number, options: { shadow?: boolean; guard?: { migrationId: string; epoch: number } } = {}) {
  const shadow = options.shadow ?? true;
  const pools = new MysqlPools({ maxConnectionsPerServer: 2 * writers + 2 });
  const source = pools.pool(parseConnectionUrl(dbs.source.url).withDatabase(undefined), { connectionLimit: writers + 1 }).promise;
  const target = pools.pool(parseConnectionUrl(dbs[targetServer].url).withDatabase(undefined), { connectionLimit: writers + 1 }).promise;
  const catalog = await readCatalog(source, dbs.name, { tables: ['sessions'] });
  const shape = tableShape(catalog.tables[0]!, dbs.name);
  const t = `\`${dbs.name}\`.sessions`;
  const [[{ maxId }]] = (await source.query(`SELECT MAX(id) AS maxId FROM ${t}`)) as unknown as [[{ maxId: string }]];
  const max = Number(maxId);
  let running = true;
  const counts = { inserts: 0, updates: 0, deletes: 0, keyUpdates: 0, shadowApplied: 0, refused: 0 };
  const apply = async (keys: KeyTuple[]) => {
    if (!shadow) return;
    // As a router does: the target refuses writes without the migration's guard epoch.
    await syncKeys({ source, target, sourceShape: shape, targetTable: { database: dbs.name, table: 'sessions' }, keys, ...(options.guard === undefined ? {} : { options: { guard: options.guard } }) });
    counts.shadowApplied += keys.length;
  };
  // A write the primary refuses (a deadlock between these writers, a lock wait timeout, a key
  // update colliding with an id an insert took) committed nothing, so there is nothing to
  // shadow: the application would retry it. Shadow applies are never excused.
  const primary = async (sql: string, params: unknown[]): Promise<{ affectedRows: number; insertId: number } | null> => {
    try {
      const [r] = await source.query(sql, params);
      return r as { affectedRows: number; insertId: number };
    } catch (error) {
      const errno = (error as { errno?: number }).errno;
      if (errno === 1213 || errno === 1205 || errno === 1062) {
        counts.refused++;
        return null;
      }
      throw error;
    }
  };
  const step = async (w: number, i: number) => {
    const id = 1 + Math.floor(Math.random() * max);
    const op = (i + w) % 4;
    if (op === 0) {
      const r = await primary(
        `INSERT INTO ${t} (user_id, token_hash, ip, user_agent, created_at, expires_at) VALUES (?, UNHEX(SHA2(RAND(), 256)), X'0A000001', 'writer', NOW(6), NOW(6) + INTERVAL 1 DAY)`,
        [1 + (id % 1000)],
      );
      if (!r) return;
      await apply([[String(r.insertId)]]);
      counts.inserts++;
    } else if (op === 1) {
      if (!(await primary(`UPDATE ${t} SET revoked_at = NOW(6), user_agent = CONCAT('upd ', RAND()) WHERE id = ?`, [id]))) return;
      await apply([[String(id)]]);
      counts.updates++;
    } else if (op === 2) {
      if (!(await primary(`DELETE FROM ${t} WHERE id = ?`, [id]))) return;
      await apply([[String(id)]]);
      counts.deletes++;
    } else {
      const newId = 10_000_000 + w * 1_000_000 + i;
      const r = await primary(`UPDATE ${t} SET id = ? WHERE id = ?`, [newId, id]);
      if (!r?.affectedRows) return;
      await apply([[String(id)], [String(newId)]]);
      counts.keyUpdates++;
    }
  };
  const loop = async (w: number) => {
    let i = 0;
    while (running) await step(w, ++i);
  };
  const done = Promise.all(Array.from({ length: writers }, (_, w) => loop(w)));
  return {
    counts,
    async stop() {
      running = false;
      await done;
      await pools.end();
      return counts;
    },
  };
}
