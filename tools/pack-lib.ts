/**
 * Packs workspace libs as npm tarballs that work outside this repository.
 *
 *   tsx tools/pack-lib.ts --out <dir> core mysql control router
 *
 * In the workspace a lib's package.json `exports` point at ./src/index.ts (run through tsx and
 * vitest). For each named lib this stages its built dist/ (build it first:
 * `npx nx run @cleave/router:build`) with a rewritten package.json (exports -> ./dist/index.js,
 * types ./dist/index.d.ts, not private, workspace dependencies pinned to the packed versions, no
 * scripts/devDependencies), runs `npm pack` into --out, and prints one JSON line:
 * `{ "tarballs": { "@cleave/core": "<absolute path>", ... } }`.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface LibPackage {
  name: string;
  version: string;
  description?: string;
  type?: string;
  private?: boolean;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  [field: string]: unknown;
}

/** The package.json a packed lib ships with. */
export function packedManifest(pkg: LibPackage, versions: ReadonlyMap<string, string>): Record<string, unknown> {
  const pin = (deps: Record<string, string> | undefined) => {
    if (deps === undefined) return undefined;
    const out: Record<string, string> = {};
    for (const [name, range] of Object.entries(deps)) {
      if (!name.startsWith('@cleave/')) {
        out[name] = range;
        continue;
      }
      const version = versions.get(name);
      if (version === undefined) throw new Error(`${pkg.name} depends on ${name}, which is not being packed: add it to the list`);
      out[name] = version;
    }
    return out;
  };
  return {
    name: pkg.name,
    version: pkg.version,
    ...(pkg.description === undefined ? {} : { description: pkg.description }),
    type: 'module',
    private: false,
    license: 'UNLICENSED',
    main: './dist/index.js',
    types: './dist/index.d.ts',
    exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
    files: ['dist'],
    engines: { node: '>=20.19' },
    ...(pkg.dependencies === undefined ? {} : { dependencies: pin(pkg.dependencies) }),
    ...(pkg.peerDependencies === undefined ? {} : { peerDependencies: pin(pkg.peerDependencies) }),
  };
}

/** Packs the libs (folder names under libs/) into `outDir`; returns package name -> tarball path. */
export function packLibs(libs: readonly string[], outDir: string): Record<string, string> {
  mkdirSync(outDir, { recursive: true });
  const packages = libs.map((lib) => {
    const dir = path.join(ROOT, 'libs', lib);
    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as LibPackage;
    if (!existsSync(path.join(dir, 'dist', 'index.js')) || !existsSync(path.join(dir, 'dist', 'index.d.ts'))) {
      throw new Error(`libs/${lib}/dist is not built: run \`npx nx run ${pkg.name}:build\` first`);
    }
    return { lib, dir, pkg };
  });
  const versions = new Map(packages.map(({ pkg }) => [pkg.name, pkg.version]));
  const stageRoot = mkdtempSync(path.join(os.tmpdir(), 'cleave-pack-'));
  const tarballs: Record<string, string> = {};
  try {
    for (const { lib, dir, pkg } of packages) {
      const stage = path.join(stageRoot, lib);
      mkdirSync(stage, { recursive: true });
      cpSync(path.join(dir, 'dist'), path.join(stage, 'dist'), { recursive: true, filter: (src) => !/\.test\.(js|d\.ts)(\.map)?$/.test(src) });
      writeFileSync(path.join(stage, 'package.json'), `${JSON.stringify(packedManifest(pkg, versions), null, 2)}\n`);
      const out = execFileSync('npm', ['pack', '--json', '--pack-destination', outDir], { cwd: stage, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      const [info] = JSON.parse(out) as Array<{ filename: string }>;
      tarballs[pkg.name] = path.join(outDir, info!.filename);
    }
  } finally {
    rmSync(stageRoot, { recursive: true, force: true });
  }
  return tarballs;
}

function main(argv: readonly string[]): void {
  const at = argv.indexOf('--out');
  const outDir = at >= 0 ? argv[at + 1] : undefined;
  const libs = argv.filter((_a, i) => i !== at && i !== at + 1);
  if (outDir === undefined || libs.length === 0) {
    console.error('usage: tsx tools/pack-lib.ts --out <dir> <lib> [<lib> ...]   (e.g. core mysql control router)');
    process.exit(2);
  }
  console.log(JSON.stringify({ tarballs: packLibs(libs, path.resolve(outDir)) }));
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
