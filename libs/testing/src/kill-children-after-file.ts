import { afterAll } from 'vitest';
import { killTrackedChildren } from './test-processes.js';

// A vitest setup file: registered before the test file's own hooks, this afterAll runs after
// them, and kills whatever the file's tests started and did not stop (a timed-out test never
// reaches its `finally`).
afterAll(() => {
  const killed = killTrackedChildren();
  if (killed > 0) process.stderr.write(`killed ${killed} process(es) this test file started and did not stop\n`);
});
