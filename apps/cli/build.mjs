// Builds the `cleave` command as JavaScript (dist/cleave.js and the chunks it loads): the CLI and
// every @cleave/* library it uses, bundled from their TypeScript sources; third-party packages
// stay imports, resolved from node_modules at run time. Starting it costs no TypeScript transpile,
// and each command's code (with the clients it imports) is a chunk loaded when it runs.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
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
  entryPoints: { cleave: path.join(here, 'src', 'main.ts') },
  outdir: tmp,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
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
// Moved into place, the chunks (named by their content's hash) first and the entry last: a
// `cleave` started meanwhile never imports a half-written file or a chunk not there yet. Chunks no
// build uses any more are removed after.
const chunks = path.join(dist, 'chunks');
mkdirSync(chunks, { recursive: true });
const built = new Set(readdirSync(path.join(tmp, 'chunks')));
for (const file of built) renameSync(path.join(tmp, 'chunks', file), path.join(chunks, file));
renameSync(path.join(tmp, 'cleave.js.map'), `${out}.map`);
renameSync(path.join(tmp, 'cleave.js'), out);
rmSync(tmp, { recursive: true, force: true });
for (const file of existsSync(chunks) ? readdirSync(chunks) : []) if (!built.has(file)) rmSync(path.join(chunks, file), { force: true });
