import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const globalSetup = fileURLToPath(new URL('./libs/testing/src/global-setup.ts', import.meta.url));

/** One vitest config per project, all alike: real services come up once per run (global setup). */
export function defineProject(root: string) {
  return defineConfig({
    root,
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      globalSetup: [globalSetup],
      testTimeout: 60_000,
      hookTimeout: 120_000,
      passWithNoTests: true,
    },
  });
}
