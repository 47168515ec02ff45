// `npm run services:up|down|status`: cleave's private MariaDB (source, target1, target2) and Redis;
// `up` also creates the least-privilege accounts of docs/production.md.
import { ensureLocalAccounts, LOCAL_ACCOUNTS, servicesConfig, servicesDown, servicesStatus, servicesUp } from '@cleave/testing';

const command = process.argv[2] ?? 'up';
const config = servicesConfig(process.env);
const log = (line: string) => console.log(line);

try {
  if (command === 'up') {
    await servicesUp(config, process.env, log);
    // The accounts docs/production.md prescribes, with exactly its grants (the admin account holds every privilege).
    await ensureLocalAccounts(config);
    log(`least-privilege accounts ${Object.values(LOCAL_ACCOUNTS).join(', ')} (docs/production.md's grants, the same password)`);
  }
  else if (command === 'down') await servicesDown(config, log);
  else if (command === 'status') for (const r of servicesStatus(config)) log(`${r.name.padEnd(16)} 127.0.0.1:${r.port}  ${r.state}${r.pid ? ` (pid ${r.pid})` : ''}`);
  else {
    console.error(`unknown command "${command}": use up, down or status`);
    process.exitCode = 2;
  }
} catch (error) {
  const cause = (error as Error).cause as Error | undefined;
  console.error(`services ${command} failed: ${(error as Error).message}${cause ? `\n  cause: ${cause.message}` : ""}`);
  process.exitCode = 1;
}
