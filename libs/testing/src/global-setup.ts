import { randomBytes } from 'node:crypto';
import { servicesConfig } from './services/services-config.js';
import { servicesUp } from './services/local-services.js';
import { TEST_RUN_VARIABLE, processesOfRun } from './test-processes.js';

/**
 * Vitest global setup: the real MariaDB instances and Redis are up before any test file runs.
 * Then every process the run starts is marked (see TEST_RUN_VARIABLE; the services started here
 * are not); at the end, a marked process still running is killed and fails the run, named.
 */
export default async function setup(): Promise<() => void> {
  await servicesUp(servicesConfig(process.env), process.env);
  const run = randomBytes(8).toString('hex');
  process.env[TEST_RUN_VARIABLE] = run;
  return () => {
    const survivors = processesOfRun(run, { exceptChildrenOf: process.pid });
    if (survivors.length === 0) return;
    for (const p of survivors) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // Exited meanwhile.
      }
    }
    // Vitest reports an error thrown here but still exits 0: the exit code is set as well.
    process.exitCode = 1;
    throw new Error(`${survivors.length} process(es) started by this test run were still running at its end (now killed):\n${survivors.map((p) => `  pid ${p.pid}: ${p.command}`).join('\n')}`);
  };
}
