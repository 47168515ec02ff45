import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plan } from '@cleave/core';
import { createSampleAccounts, useTestDatabases } from '@cleave/testing';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
/** The router and every lib it needs, in build order. */
const LIBS = ['core', 'mysql', 'control', 'router'] as const;

function run(command: string, args: readonly string[], cwd: string): string {
  try {
    return execFileSync(command, [...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.slice(0, 3).join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

/**
 * `npm pack` in the lib's folder, as a publisher runs it: its `prepack` builds dist/ against the
 * dist/ of the libs packed before it. The tarball is found in an empty destination folder:
 * `--json` output would be mixed with prepack's.
 */
function npmPack(lib: string, destination: string): string {
  mkdirSync(destination, { recursive: true });
  run('npm', ['pack', '--pack-destination', destination, '--loglevel=error'], path.join(ROOT, 'libs', lib));
  const tarballs = readdirSync(destination).filter((f) => f.endsWith('.tgz'));
  expect(tarballs, lib).toHaveLength(1);
  return path.join(destination, tarballs[0]!);
}

/** Every installed copy of `name` under a project's node_modules, nested ones included. */
function installedCopies(nodeModules: string, name: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      const full = path.join(dir, entry.name);
      if (entry.name.startsWith('@')) {
        for (const scoped of readdirSync(full, { withFileTypes: true })) if (scoped.isDirectory()) visit(path.join(full, scoped.name), `${entry.name}/${scoped.name}`);
      } else {
        visit(full, entry.name);
      }
    }
  };
  const visit = (pkgDir: string, pkgName: string) => {
    if (pkgName === name && existsSync(path.join(pkgDir, 'package.json'))) found.push(path.relative(nodeModules, pkgDir));
    walk(path.join(pkgDir, 'node_modules'));
  };
  walk(nodeModules);
  return found;
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

  it('npm pack of core/mysql/control/router installs into a fresh project with its own kysely/mysql2/ioredis, typechecks a service and runs a routed query', async () => {
    const tarballs = LIBS.map((lib) => npmPack(lib, path.join(dir, 'tarballs', lib)));
    for (const [i, lib] of LIBS.entries()) {
      const files = run('tar', ['tzf', tarballs[i]!], dir).split('\n');
      expect(files, lib).toEqual(expect.arrayContaining(['package/dist/index.js', 'package/dist/index.d.ts', 'package/package.json']));
      expect(files.filter((f) => /\.test\.|\.tsbuildinfo$/.test(f)), lib).toEqual([]);
    }

    const project = path.join(dir, 'service');
    mkdirSync(project);
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer-service', private: true, type: 'module' }, null, 2));
    writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, types: ['node'], outDir: 'out', skipLibCheck: false }, include: ['service.ts'] }, null, 2),
    );
    writeFileSync(path.join(project, 'service.ts'), SERVICE);
    // The service's own kysely, mysql2 and ioredis: the libs take them as peers, so these are the copies they use.
    run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs, 'kysely@0.28', 'mysql2@3.24', 'ioredis@5.11', '@types/node@20'], project);

    const nodeModules = path.join(project, 'node_modules');
    for (const shared of ['kysely', 'mysql2', 'ioredis']) expect(installedCopies(nodeModules, shared), shared).toEqual([shared]);
    const router = JSON.parse(readFileSync(path.join(nodeModules, '@cleave', 'router', 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(router.dependencies).toMatchObject({ '@cleave/core': '^0.1.0', '@cleave/mysql': '^0.1.0', '@cleave/control': '^0.1.0' });

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
  }, 900_000);
});
