import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WORKER_NODE_FLAGS } from './worker-node-flags.js';
import { SOURCE_CONDITION_FLAG } from './source-condition.js';

describe('WORKER_NODE_FLAGS', () => {
  it('are the flags of the root package.json worker script (which cannot import them)', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['worker']).toBe(`node ${WORKER_NODE_FLAGS.join(' ')} ${SOURCE_CONDITION_FLAG} --import tsx apps/worker/src/main.ts`);
  });
});
