import { MysqlPools, parseConnectionUrl, readCatalog, syncKeys, tableShape, type KeyTuple } from '@cleave/mysql';
import type { TestDatabases } from '@cleave/testing';

/**
 * Application writers with dual-write semantics, as @cleave/router will apply them: each write
 * commits on the source (the primary), then the touched keys are synced to the target by key
 * (lock the target row, read the primary, apply). Inserts, updates, deletes and key updates on
 * the `sessions` table, spread over the whole key space so they hit chunks being copied.
 */
export async function startDualWriters(dbs: TestDatabases, targetServer: 'target1' | 'target2', writers: number) {
  const pools = new MysqlPools({ maxConnectionsPerServer: 2 * writers + 2 });
  const source = pools.pool(parseConnectionUrl(dbs.source.url).withDatabase(undefined), { connectionLimit: writers + 1 }).promise;
  const target = pools.pool(parseConnectionUrl(dbs[targetServer].url).withDatabase(undefined), { connectionLimit: writers + 1 }).promise;
  const catalog = await readCatalog(source, dbs.name, { tables: ['sessions'] });
  const shape = tableShape(catalog.tables[0]!, dbs.name);
  const t = `\`${dbs.name}\`.sessions`;
  const [[{ maxId }]] = (await source.query(`SELECT MAX(id) AS maxId FROM ${t}`)) as unknown as [[{ maxId: string }]];
  const max = Number(maxId);
  let running = true;
  const counts = { inserts: 0, updates: 0, deletes: 0, keyUpdates: 0, shadowApplied: 0 };
  const apply = async (keys: KeyTuple[]) => {
    await syncKeys({ source, target, sourceShape: shape, targetTable: { database: dbs.name, table: 'sessions' }, keys });
    counts.shadowApplied += keys.length;
  };
  const loop = async (w: number) => {
    let i = 0;
    while (running) {
      i++;
      const id = 1 + Math.floor(Math.random() * max);
      const op = (i + w) % 4;
      if (op === 0) {
        const [r] = (await source.query(
          `INSERT INTO ${t} (user_id, token_hash, ip, user_agent, created_at, expires_at) VALUES (?, UNHEX(SHA2(RAND(), 256)), X'0A000001', 'writer', NOW(6), NOW(6) + INTERVAL 1 DAY)`,
          [1 + (id % 1000)],
        )) as unknown as [{ insertId: number }];
        await apply([[String(r.insertId)]]);
        counts.inserts++;
      } else if (op === 1) {
        await source.query(`UPDATE ${t} SET revoked_at = NOW(6), user_agent = CONCAT('upd ', RAND()) WHERE id = ?`, [id]);
        await apply([[String(id)]]);
        counts.updates++;
      } else if (op === 2) {
        await source.query(`DELETE FROM ${t} WHERE id = ?`, [id]);
        await apply([[String(id)]]);
        counts.deletes++;
      } else {
        // A key update may collide with an id an insert took: that write fails on the primary
        // (nothing committed, so nothing to shadow), as it would in the application.
        const newId = 10_000_000 + w * 1_000_000 + i;
        const updated = await source.query(`UPDATE ${t} SET id = ? WHERE id = ?`, [newId, id]).then(
          ([r]) => (r as { affectedRows: number }).affectedRows,
          (error: { code?: string }) => {
            if (error.code === 'ER_DUP_ENTRY') return 0;
            throw error;
          },
        );
        if (updated) {
          await apply([[String(id)], [String(newId)]]);
          counts.keyUpdates++;
        }
      }
    }
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
