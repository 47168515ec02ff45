import { fail, pass, warn, type Precondition } from '../precondition.js';

/** Replication lag reported by each target server (when it is a replica) is within bounds. */
export const targetLagOk: Precondition = {
  name: 'target-lag-ok',
  description: 'no target server reports replication lag above the limit',
  async check(ctx) {
    if (ctx.servers === undefined) return warn('target servers were not reachable from this process: lag not checked');
    const servers = [...new Set(Object.values(ctx.migration.plan.targets).map((t) => t.server))].sort();
    const problems: string[] = [];
    for (const server of servers) {
      const [rows] = await ctx.servers(server).query('SHOW REPLICA STATUS');
      for (const row of rows as Array<Record<string, unknown>>) {
        const lag = row['Seconds_Behind_Master'] ?? row['Seconds_Behind_Source'];
        if (lag === null || lag === undefined) problems.push(`${server}: replication is not running`);
        else if (Number(lag) > ctx.settings.maxTargetLagSeconds) problems.push(`${server}: ${String(lag)} s behind (limit ${ctx.settings.maxTargetLagSeconds} s)`);
      }
    }
    if (problems.length > 0) return fail(problems.join('; '));
    return pass(`${servers.length} target servers within ${ctx.settings.maxTargetLagSeconds} s of lag`);
  },
};
