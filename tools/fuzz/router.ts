// npm run fuzz:router [-- --seed N --statements M]
// Seeded random statements through @cleave/router over the sample schema, in every phase of a
// migration that moves four tables whole to target1, shards invoices over target1 and target2,
// and leaves user_settings and user_keys home. Each statement is either refused before it ran or
// run on an unsplit reference copy too; after it, the rows it could touch are compared (primary
// side against the reference copy, shadow side against the primary), and a read's answer against
// the same read on the reference copy. Progress on stderr; last line on stdout: JSON with
// statements, refused, misrouted (target 0), divergent (target 0); exit code 1 when either is not 0.
import { Command } from 'commander';
import { createTestDatabases, servicesConfig, servicesUp } from '@cleave/testing';
import { runRouterFuzz } from './lib/run-fuzz.js';

const opts = new Command('fuzz:router')
  .option('--seed <n>', 'seed of the statement generator', '1')
  .option('--statements <n>', 'statements over all phases', '600')
  .parse()
  .opts<{ seed: string; statements: string }>();
const log = (line: string) => process.stderr.write(`[fuzz] ${line}\n`);

const config = servicesConfig(process.env);
await servicesUp(config, process.env, log);
const dbs = await createTestDatabases('fuzz');
try {
  const summary = await runRouterFuzz(dbs, { seed: Number(opts.seed), statements: Number(opts.statements), log });
  for (const example of summary.examples) log(example);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.exitCode = summary.misrouted === 0 && summary.divergent === 0 ? 0 : 1;
} finally {
  await dbs.drop();
}
