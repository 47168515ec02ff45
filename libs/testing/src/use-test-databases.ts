import { afterAll, beforeAll } from 'vitest';
import { createTestDatabases, type TestDatabases } from './test-databases.js';

/**
 * Vitest helper: fresh databases for this test file, dropped after it.
 * @example
 * const dbs = useTestDatabases('catalog');
 * it('reads', async () => { const c = await dbs().admin('source'); ... });
 */
export function useTestDatabases(label = 't'): () => TestDatabases {
  let dbs: TestDatabases | undefined;
  beforeAll(async () => {
    dbs = await createTestDatabases(label);
  });
  afterAll(async () => {
    await dbs?.drop();
  });
  return () => {
    if (!dbs) throw new Error('useTestDatabases(): the databases exist only inside tests and hooks');
    return dbs;
  };
}
