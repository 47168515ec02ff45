/**
 * Inside this repository every @cleave/* lib runs from its TypeScript sources; a packed lib
 * (`npm pack`) ships only its build. Each published lib's package.json `exports` lists
 * `"@cleave/source": "./src/index.ts"` before `"types"` / `"default"` (dist/), so whatever enables
 * this condition gets the sources: tsc (tsconfig.base.json `customConditions`), vitest
 * (vitest.shared.ts), the CLI's esbuild bundle, and every Node process that runs TypeScript through
 * tsx, which passes SOURCE_CONDITION_FLAG. A consumer of the packages never sets it.
 */
export const SOURCE_CONDITION = '@cleave/source';

/** The Node flag (also accepted by the tsx command) that resolves @cleave/* libs to their sources. */
export const SOURCE_CONDITION_FLAG = `--conditions=${SOURCE_CONDITION}`;
