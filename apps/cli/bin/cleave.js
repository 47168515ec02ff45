#!/usr/bin/env node
// The `cleave` command. Runs the built bundle (dist/cleave.js, `npm run build`) when it is there
// and no source of the CLI or of a library it bundles changed since it was built; otherwise the
// TypeScript sources through tsx, so a checkout being edited never runs stale code.
import { existsSync, readdirSync, statSync } from 'node:fs';
import module from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const cliRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bundle = path.join(cliRoot, 'dist', 'cleave.js');

/** Whether any .ts file under `dir` is newer than `since` (ms). */
function changedSince(dir, since) {
  if (!existsSync(dir)) return false;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (changedSince(full, since)) return true;
    } else if (entry.name.endsWith('.ts') && statSync(full).mtimeMs > since) {
      return true;
    }
  }
  return false;
}

function bundleIsFresh() {
  if (!existsSync(bundle)) return false;
  const builtAt = statSync(bundle).mtimeMs;
  const libs = path.resolve(cliRoot, '..', '..', 'libs');
  const sources = [path.join(cliRoot, 'src'), ...(existsSync(libs) ? readdirSync(libs).map((lib) => path.join(libs, lib, 'src')) : [])];
  return !sources.some((dir) => changedSince(dir, builtAt));
}

if (bundleIsFresh()) {
  await import(pathToFileURL(bundle).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  // The libs' sources, not their dist/ builds: this process was not started with
  // --conditions=@cleave/source (SOURCE_CONDITION in @cleave/core, which a test keeps equal), so a
  // resolve hook, run before tsx's, adds the condition.
  const hook = `export const resolve = (specifier, context, next) => next(specifier, { ...context, conditions: ['@cleave/source', ...context.conditions] });`;
  module.register(`data:text/javascript,${encodeURIComponent(hook)}`);
  await import('../src/main.ts');
}
