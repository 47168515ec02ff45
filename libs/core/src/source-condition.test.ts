import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CleaveError } from './index.js';
import { SOURCE_CONDITION, SOURCE_CONDITION_FLAG } from './source-condition.js';

// A variable specifier: the package imports itself by name, as any other project of the repo does.
const PACKAGE = '@cleave/core';
const SOURCE_INDEX = fileURLToPath(new URL('./index.ts', import.meta.url));
const TSX = createRequire(import.meta.url).resolve('tsx');
const TSX_CLI = createRequire(import.meta.url).resolve('tsx/cli');

/** Whether `@cleave/core` imported by name in a Node process started with `args` is the sources' module. */
function nodeLoadsSources(args: readonly string[]): string {
  const script = `const byName = await import('${PACKAGE}'); const bySource = await import(${JSON.stringify(SOURCE_INDEX)}); process.stdout.write(String(byName.CleaveError === bySource.CleaveError));`; // not console.log: FORCE_COLOR (set by nx) colours a logged boolean
  return execFileSync(process.execPath, [...args, '--input-type=module', '--eval', script], { encoding: 'utf8', timeout: 30_000 }).trim();
}

describe('the @cleave/source export condition', () => {
  it('is what the published libs list first in their package.json exports', () => {
    for (const lib of ['core', 'mysql', 'control', 'router']) {
      const pkg = JSON.parse(readFileSync(new URL(`../../${lib}/package.json`, import.meta.url), 'utf8')) as { exports: Record<string, Record<string, string>> };
      expect(Object.entries(pkg.exports['.']!), lib).toEqual([
        [SOURCE_CONDITION, './src/index.ts'],
        ['types', './dist/index.d.ts'],
        ['default', './dist/index.js'],
      ]);
    }
  });

  it('makes vitest load the sources: the package by name is the same module as src/index.ts', async () => {
    const byName = (await import(PACKAGE)) as { CleaveError: unknown };
    expect(byName.CleaveError).toBe(CleaveError);
  });

  it('makes a Node process load the sources: node --import tsx, and the tsx command', () => {
    expect(nodeLoadsSources([SOURCE_CONDITION_FLAG, '--import', TSX])).toBe('true');
    expect(nodeLoadsSources([TSX_CLI, SOURCE_CONDITION_FLAG])).toBe('true');
  }, 60_000);

  it('is the condition the CLI bin (running the sources) and its esbuild bundle ask for', () => {
    for (const file of ['apps/cli/bin/cleave.js', 'apps/cli/build.mjs']) {
      expect(readFileSync(new URL(`../../../${file}`, import.meta.url), 'utf8'), file).toContain(`'${SOURCE_CONDITION}'`);
    }
  });

  it('is passed by every root package.json script that runs TypeScript', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
    const typescript = Object.entries(pkg.scripts).filter(([, command]) => /(^|\s)tsx\s|--import tsx/.test(command));
    expect(typescript.length).toBeGreaterThan(5);
    for (const [name, command] of typescript) expect(command, name).toContain(SOURCE_CONDITION_FLAG);
  });
});
