import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plan } from '@cleave/core';
import { createSampleAccounts, useTestDatabases } from '@cleave/testing';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

function run(command: string, args: readonly string[], cwd: string): string {
  try {
    return execFileSync(command, [...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.slice(0, 3).join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

/** What a service outside the monorepo writes: its own pools and Kysely, cleave's dialect. */
const SERVICE = `import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely } from 'kysely';
import { createPool } from 'mysql2';
import { CleaveDialect, RouterError, type RoutedMigration } from '@cleave/router';

interface DB {
  users: { id?: string; email: string; display_name: string; password_hash: Buffer; created_at: string };
}

const [sourceUrl, targetUrl, planJson] = process.argv.slice(2) as [string, string, string];
const source = createPool({ uri: sourceUrl, connectionLimit: 2 });
const target1 = createPool({ uri: targetUrl, connectionLimit: 2 });
const migration: RoutedMigration = { id: 'packed000001', name: 'packed', plan: JSON.parse(planJson) as RoutedMigration['plan'], phase: 'dual_write', epoch: 2 };
const dialect = new CleaveDialect({ servers: { source, target1 }, store: { listMigrations: async () => [migration] }, journalPath: join(tmpdir(), 'cleave-packed-' + process.pid + '.jsonl') });
const db = new Kysely<DB>({ dialect });
try {
  await db.insertInto('users').values({ email: 'packed@example.com', display_name: 'packed', password_hash: Buffer.from('x'), created_at: '2024-01-01 00:00:00' }).execute();
  const rows = await db.selectFrom('users').select(['id', 'email']).where('email', '=', 'packed@example.com').execute();
  console.log(JSON.stringify({ rows: rows.length, status: dialect.router.status().migrations, isError: RouterError.name }));
} finally {
  await db.destroy();
  source.end();
  target1.end();
}
`;

describe('@cleave/router is consumable outside the repo', () => {
  const dbs = useTestDatabases('rpack');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cleave-consumer-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('builds, packs with core/mysql/control, installs into a fresh project, typechecks a service and runs a routed query', async () => {
    run('npx', ['nx', 'run', '@cleave/router:build', '--outputStyle=static'], ROOT);
    const packed = JSON.parse(run('npx', ['tsx', 'tools/pack-lib.ts', '--out', path.join(dir, 'tarballs'), 'core', 'mysql', 'control', 'router'], ROOT).trim().split('\n').pop()!) as {
      tarballs: Record<string, string>;
    };
    const project = path.join(dir, 'service');
    run('mkdir', ['-p', project], dir);
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer-service', private: true, type: 'module' }, null, 2));
    writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, types: ['node'], outDir: 'out', skipLibCheck: false }, include: ['service.ts'] }, null, 2),
    );
    writeFileSync(path.join(project, 'service.ts'), SERVICE);
    run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...Object.values(packed.tarballs), 'kysely@0.28', 'mysql2@3.24', '@types/node@20'], project);
    // Typecheck (and emit) against the installed packages' declarations, library .d.ts included.
    run(process.execPath, [TSC, '-p', 'tsconfig.json'], project);

    for (const s of ['source', 'target1'] as const) await createSampleAccounts(await dbs().admin(s));
    const plan = {
      version: 1,
      name: 'packed',
      source: { server: 'source', database: dbs().name },
      targets: { t1: { server: 'target1', database: dbs().name } },
      moves: [{ kind: 'tables', tables: ['users'], to: 't1' }],
    } as Plan;
    const out = run(process.execPath, ['out/service.js', dbs().source.url, dbs().target1.url, JSON.stringify(plan)], project);
    expect(JSON.parse(out.trim().split('\n').pop()!)).toMatchObject({ rows: 1, status: [expect.objectContaining({ phase: 'dual_write' })], isError: 'RouterError' });
    for (const s of ['source', 'target1'] as const) {
      const [rows] = await (await dbs().admin(s)).query("SELECT email FROM users WHERE email = 'packed@example.com'");
      expect(rows, s).toHaveLength(1);
    }
  }, 300_000);
});
