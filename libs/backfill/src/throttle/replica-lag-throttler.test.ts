import { describe, expect, it } from 'vitest';
import { ReplicaLagThrottler } from './replica-lag-throttler.js';

/** A replica that answers SHOW statements like MariaDB 10.11 or MySQL 8 would (the real-server case is in throttlers.test.ts). */
function replica(flavor: 'mariadb' | 'mysql', rows: Array<Record<string, unknown>>) {
  const asked: string[] = [];
  return {
    asked,
    db: {
      query(sql: string): Promise<[unknown, unknown]> {
        asked.push(sql);
        if (flavor === 'mysql' && sql === 'SHOW ALL SLAVES STATUS') {
          return Promise.reject(Object.assign(new Error('You have an error in your SQL syntax'), { errno: 1064 }));
        }
        return Promise.resolve([rows, []]);
      },
    },
  };
}

const mariadbRow = (lag: number | null, io = 'Yes', sql = 'Yes', error = '') => ({
  Connection_name: '',
  Slave_IO_Running: io,
  Slave_SQL_Running: sql,
  Seconds_Behind_Master: lag,
  Last_SQL_Error: error,
});
const mysqlRow = (lag: number | null) => ({ Channel_Name: '', Replica_IO_Running: 'Yes', Replica_SQL_Running: 'Yes', Seconds_Behind_Source: lag });

describe('ReplicaLagThrottler', () => {
  it('passes while every replica is within the max lag, and names the laggard otherwise', async () => {
    const a = replica('mariadb', [mariadbRow(1)]);
    const b = replica('mariadb', [mariadbRow(12)]);
    const t = new ReplicaLagThrottler({ replicas: [{ name: 'r1', db: a.db }, { name: 'r2', db: b.db }], maxLagSeconds: 5 });
    await expect(t.check()).resolves.toEqual({ throttle: true, reason: 'replica r2 lag 12 s > max 5 s' });
  });

  it('throttles on stopped replication with the error the replica reports', async () => {
    const r = replica('mariadb', [mariadbRow(null, 'Yes', 'No', 'Duplicate entry')]);
    const t = new ReplicaLagThrottler({ replicas: [{ name: 'r1', db: r.db }], maxLagSeconds: 5 });
    await expect(t.check()).resolves.toEqual({
      throttle: true,
      reason: 'replica r1 is not replicating (IO thread: Yes, SQL thread: No, last error: Duplicate entry): its lag is unknown',
    });
  });

  it('understands MySQL 8 (SHOW REPLICA STATUS, *_Source columns) and remembers the statement', async () => {
    const r = replica('mysql', [mysqlRow(0)]);
    const t = new ReplicaLagThrottler({ replicas: [{ name: 'm1', db: r.db }], maxLagSeconds: 0 });
    await expect(t.check()).resolves.toEqual({ throttle: false });
    await t.check();
    expect(r.asked).toEqual(['SHOW ALL SLAVES STATUS', 'SHOW REPLICA STATUS', 'SHOW REPLICA STATUS']);
  });

  it('names the connection of a multi-source replica', async () => {
    const r = replica('mariadb', [{ ...mariadbRow(0) }, { ...mariadbRow(30), Connection_name: 'other' }]);
    const t = new ReplicaLagThrottler({ replicas: [{ name: 'r1', db: r.db }], maxLagSeconds: 5 });
    await expect(t.check()).resolves.toEqual({ throttle: true, reason: 'replica r1 (connection "other") lag 30 s > max 5 s' });
  });

  it('needs at least one replica', () => {
    expect(() => new ReplicaLagThrottler({ replicas: [], maxLagSeconds: 1 })).toThrow('needs at least one replica');
  });
});
