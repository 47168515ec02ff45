import type mysql from 'mysql2/promise';
// The sync primitives as the router uses them for dual writes.
import { findTable, readCatalog, syncKeys, tableShape, type KeyTuple } from '@cleave/mysql';

export interface WritersConfig {
  readonly source: mysql.Pool;
  readonly target: mysql.Pool;
  readonly database: string;
  readonly table: string;
  /** Ids 1..rows exist at the start. */
  readonly rows: number;
  readonly writers: number;
}

export interface WriterStats {
  writes: number;
  updates: number;
  deletes: number;
  inserts: number;
  keyUpdates: number;
  nearCheckpoint: number;
}

/**
 * Application writers on the source with dual-write semantics: each write commits on the primary,
 * then the written keys are synced to the target (`syncKeys`, what the router does). Half of the
 * writes aim just past a checkpoint the copier reported: inside the chunk being copied.
 */
export function runWriters(config: WritersConfig) {
  const stats: WriterStats = { writes: 0, updates: 0, deletes: 0, inserts: 0, keyUpdates: 0, nearCheckpoint: 0 };
  const hot: number[] = [];
  let stopping = false;
  let nextId = config.rows + 10_000;
  const table = `\`${config.database}\`.\`${config.table}\``;
  const shape = readCatalog(config.source, config.database, { tables: [config.table] }).then((c) => tableShape(findTable(c, config.table)!, config.database));

  const pickId = (): number => {
    const near = hot.length > 0 && Math.random() < 0.6;
    if (near) {
      stats.nearCheckpoint += 1;
      return hot[Math.floor(Math.random() * hot.length)]! + 1 + Math.floor(Math.random() * 80);
    }
    return 1 + Math.floor(Math.random() * config.rows);
  };

  const dual = async (keys: number[]) => {
    await syncKeys({ source: config.source, target: config.target, sourceShape: await shape, targetTable: { database: config.database, table: config.table }, keys: keys.map((k): KeyTuple => [String(k)]) });
  };

  const one = async (): Promise<void> => {
    const id = pickId();
    const roll = Math.random();
    if (roll < 0.4) {
      await config.source.query(`UPDATE ${table} SET name = CONCAT('upd ', RAND()), balance = balance + 1, seen = NOW(6) WHERE id = ?`, [id]);
      stats.updates += 1;
      await dual([id]);
    } else if (roll < 0.6) {
      await config.source.query(`DELETE FROM ${table} WHERE id = ?`, [id]);
      stats.deletes += 1;
      await dual([id]);
    } else if (roll < 0.8) {
      const fresh = Math.random() < 0.5 ? id : (nextId += 1);
      await config.source.query(`INSERT IGNORE INTO ${table} (id, email, hash, created, settings) VALUES (?, CONCAT('new', ?, '-', RAND(), '@example.org'), x'0102', NOW(6), '{"new":true}')`, [fresh, fresh]);
      stats.inserts += 1;
      await dual([fresh]);
    } else {
      const to = Math.random() < 0.5 ? (nextId += 1) : pickId() + 100_000;
      await config.source.query(`UPDATE IGNORE ${table} SET id = ? WHERE id = ?`, [to, id]);
      stats.keyUpdates += 1;
      await dual([id, to]);
    }
    stats.writes += 1;
  };

  const loops = Array.from({ length: config.writers }, async () => {
    while (!stopping) await one();
  });

  return {
    /** The copier's latest checkpoint (an encoded key such as `["1234"]`). */
    aimAt(checkpoint: string | null) {
      if (checkpoint === null) return;
      const [id] = JSON.parse(checkpoint) as string[];
      hot.push(Number(id));
      if (hot.length > 8) hot.shift();
    },
    async stop() {
      stopping = true;
      await Promise.all(loops);
    },
    stats: () => ({ ...stats }),
  };
}
