import { sh } from './shell.js';
import type { MysqlEndpoint } from '@cleave/testing';

export interface SysbenchResult {
  readonly tps: number;
  readonly p95Ms: number;
  readonly errors: number;
}

const base = (e: MysqlEndpoint, db: string) =>
  `--mysql-host=${e.host} --mysql-port=${e.port} --mysql-user=${e.user} --mysql-password="$SB_PWD" --mysql-db=${db} --tables=4 --table-size=50000`;

export async function sysbenchPrepare(e: MysqlEndpoint, db: string): Promise<void> {
  const r = await sh(`sysbench oltp_read_write ${base(e, db)} prepare`, { SB_PWD: e.password });
  if (r.code !== 0) throw new Error(`sysbench prepare failed: ${r.stderr.slice(-400)}`);
}

/** A rate-limited oltp_read_write load (a foreground service), reporting tps and p95 latency. */
export async function sysbenchRun(e: MysqlEndpoint, db: string, seconds: number, rate: number): Promise<SysbenchResult> {
  const r = await sh(`sysbench oltp_read_write ${base(e, db)} --threads=4 --time=${seconds} --rate=${rate} --percentile=95 run`, { SB_PWD: e.password });
  if (r.code !== 0) throw new Error(`sysbench run failed: ${r.stderr.slice(-400)}`);
  const tps = Number(/transactions:\s+\d+\s+\(([\d.]+) per sec/.exec(r.stdout)?.[1] ?? NaN);
  const p95Ms = Number(/95th percentile:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? NaN);
  const errors = Number(/errors:\s+(\d+)/.exec(r.stdout)?.[1] ?? 0);
  return { tps, p95Ms, errors };
}
