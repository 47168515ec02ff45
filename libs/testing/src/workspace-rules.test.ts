import { beforeAll, describe, expect, it } from 'vitest';
import { createProjectGraphAsync } from '@nx/devkit';
import { ESLint } from 'eslint';
import path from 'node:path';
import { WORKSPACE_ROOT } from './services/services-config.js';

// DESIGN.md's dependency rules are enforced by lint; these cases prove a violation really fails.
async function lintAs(file: string, code: string) {
  const eslint = new ESLint({ cwd: WORKSPACE_ROOT });
  const [result] = await eslint.lintText(code, { filePath: path.join(WORKSPACE_ROOT, file) });
  return result!.messages.filter((m) => m.ruleId === '@nx/enforce-module-boundaries').map((m) => m.message);
}

describe('module boundaries', () => {
  // The rule reads nx's cached project graph; refresh it so new dependencies are known.
  beforeAll(async () => {
    await createProjectGraphAsync({ exitOnError: false });
  });

  it('a feature lib importing another feature lib fails lint', async () => {
    const messages = await lintAs('libs/planner/src/forbidden.ts', "import { x } from '@cleave/backfill';\nexport const y = x;\n");
    expect(messages).toEqual([expect.stringContaining('A project tagged with "type:feature" can only depend on libs tagged with "type:data-access", "type:util"')]);
  });

  it('the router importing bullmq fails lint', async () => {
    const messages = await lintAs('libs/router/src/forbidden.ts', "import { Queue } from 'bullmq';\nexport const q = Queue;\n");
    expect(messages).toEqual([expect.stringContaining('bullmq')]);
  });

  it('core depends on nothing of ours', async () => {
    const messages = await lintAs('libs/core/src/forbidden.ts', "import { x } from '@cleave/mysql';\nexport const y = x;\n");
    expect(messages).toHaveLength(1);
  });

  it('the allowed direction passes: a feature lib using core and mysql, an app using a feature lib', async () => {
    expect(await lintAs('libs/backfill/src/allowed.ts', "import { x } from '@cleave/core';\nimport { y } from '@cleave/mysql';\nexport const z = [x, y];\n")).toEqual([]);
    expect(await lintAs('apps/worker/src/allowed.ts', "import { x } from '@cleave/backfill';\nexport const z = x;\n")).toEqual([]);
  });

  it('production code may not import the testing lib, tests may', async () => {
    expect(await lintAs('libs/backfill/src/forbidden.ts', "import { uniqueName } from '@cleave/testing';\nexport const z = uniqueName;\n")).toHaveLength(1);
    expect(await lintAs('libs/backfill/src/ok.test.ts', "import { uniqueName } from '@cleave/testing';\nexport const z = uniqueName;\n")).toEqual([]);
  });
});
