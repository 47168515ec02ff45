// Builds the `cleave` command as one JavaScript file (dist/cleave.js): the CLI and every @cleave/*
// library it uses, bundled from their TypeScript sources; third-party packages stay imports,
// resolved from node_modules at run time. Starting it costs no TypeScript transpile.
import { mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, 'dist', 'cleave.js');
const external = {
  name: 'third-party-external',
  setup(b) {
    // Bare imports that are not @cleave/* stay imports (node_modules); @cleave/* are bundled.
    b.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith('@cleave/') ? undefined : { path: args.path, external: true }));
  },
};
const dist = path.dirname(out);
mkdirSync(dist, { recursive: true });
const tmp = mkdtempSync(path.join(dist, '.build-'));
await build({
  entryPoints: [path.join(here, 'src', 'main.ts')],
  outfile: path.join(tmp, 'cleave.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked', // cleave.js.map: --debug stack traces name the TypeScript sources
  // The libs' TypeScript sources (their package.json exports' @cleave/source condition, as
  // SOURCE_CONDITION in @cleave/core names it), not their dist/ builds.
  conditions: ['@cleave/source'],
  plugins: [external],
  logLevel: 'warning',
});
// Renamed into place (the map first): a `cleave` started meanwhile never imports a half-written file.
renameSync(path.join(tmp, 'cleave.js.map'), `${out}.map`);
renameSync(path.join(tmp, 'cleave.js'), out);
rmSync(tmp, { recursive: true, force: true });
