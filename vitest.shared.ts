import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SOURCE_CONDITION } from './libs/core/src/source-condition.js';
import { TEST_RESULTS_DIR } from './libs/testing/src/failure-summary.js';

const globalSetup = fileURLToPath(new URL('./libs/testing/src/global-setup.ts', import.meta.url));
const killChildrenAfterFile = fileURLToPath(new URL('./libs/testing/src/kill-children-after-file.ts', import.meta.url));

/**
 * One vitest config per project, all alike: real services come up once per run (global setup);
 * @cleave/* libs resolve to their TypeScript sources (their exports' @cleave/source condition),
 * never to a dist/ that may be stale or not built yet. Besides the default report, each project
 * writes its results as JSON, so a failure is summarised after every project's interleaved output.
 */
export function defineProject(root: string) {
  return defineConfig({
    root,
    resolve: { conditions: [SOURCE_CONDITION, ...defaultClientConditions] },
    ssr: { resolve: { conditions: [SOURCE_CONDITION, ...defaultServerConditions] } },
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      globalSetup: [globalSetup],
      setupFiles: [killChildrenAfterFile],
      testTimeout: 60_000,
      hookTimeout: 120_000,
      passWithNoTests: true,
      reporters: ['default', ['json', { outputFile: `${TEST_RESULTS_DIR}${basename(root)}.json` }]],
    },
  });
}
