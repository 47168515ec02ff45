import { CLEAVE_ACCOUNT_GRANTS, CleaveError, grantApplies, grantOn, grantStatement, type Plan } from '@cleave/core';
import { missingPrivileges, readAccountPrivileges } from '@cleave/mysql';
import type { CliContext } from './cli-context.js';

/** The roles each server plays in a plan, with the database it plays them on. */
function serverRoles(plan: Plan, control: { server: string; database: string }) {
  const roles = new Map<string, { databases: Set<string>; source: boolean; target: boolean; control: boolean }>();
  const of = (server: string) => {
    let r = roles.get(server);
    if (r === undefined) roles.set(server, (r = { databases: new Set(), source: false, target: false, control: false }));
    return r;
  };
  of(plan.source.server).source = true;
  of(plan.source.server).databases.add(plan.source.database);
  for (const t of Object.values(plan.targets)) {
    of(t.server).target = true;
    of(t.server).databases.add(t.database);
  }
  of(control.server).control = true;
  return roles;
}

/**
 * Checks, before `cleave start` changes anything, that cleave's account holds every grant of
 * docs/production.md on each server of the plan and on the control store's server; refuses with
 * the GRANT statements that are missing.
 */
export async function requireAccountPrivileges(ctx: CliContext, plan: Plan, options: { capture: boolean }): Promise<void> {
  const control = ctx.config.control;
  const missing: string[] = [];
  for (const [server, roles] of serverRoles(plan, control)) {
    const account = await readAccountPrivileges(ctx.pool(server).promise);
    for (const grant of CLEAVE_ACCOUNT_GRANTS) {
      if (!grantApplies(grant, roles) || (grant.onlyFor === 'capture' && !options.capture)) continue;
      const databases = grant.on === 'database' ? [...roles.databases] : grant.on === 'control' ? [control.database] : grant.on === 'performance_schema' ? ['performance_schema'] : [null];
      for (const database of databases) {
        const lacking = missingPrivileges(account, grant.privileges, database);
        if (lacking.length > 0) missing.push(`server ${server}: ${grantStatement(lacking, grantOn(grant.on, { database: database ?? '', control: control.database }), account.account)};`);
      }
    }
  }
  if (missing.length === 0) return;
  throw new CleaveError('PRECONDITION_FAILED', `cleave's account lacks grants it needs:\n  ${missing.join('\n  ')}`, {
    hint: 'Run the GRANT statements above as an administrator (docs/production.md lists each grant and why), then run cleave start again; nothing was changed.',
  });
}
