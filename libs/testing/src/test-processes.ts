import type { ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

/**
 * Every process a test run starts carries this variable (set by the global setup, inherited by
 * the test files' processes and everything they spawn), so the run can find what it left behind
 * however a test ended (a timeout abandons the test's `finally`; a killed test process orphans
 * its children), and only that: a worker an operator runs on the same machine has no marker.
 */
export const TEST_RUN_VARIABLE = 'CLEAVE_TEST_RUN';

const children = new Set<ChildProcess>();

/** Kills (SIGKILL) every child this test process started that is still running. */
export function killTrackedChildren(): number {
  let killed = 0;
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      killed += 1;
    }
  }
  children.clear();
  return killed;
}

let exitHookInstalled = false;

/** Remembers a spawned child; it is killed when the test file ends or this process exits. */
export function trackChild(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => killTrackedChildren());
  }
}

/** The environment a test's child process gets: the given one plus this run's marker. */
export function markedEnv(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const run = process.env[TEST_RUN_VARIABLE];
  return run === undefined ? env : { ...env, [TEST_RUN_VARIABLE]: run };
}

/** The parent pid from /proc/<pid>/stat (the field after the parenthesised command, which may hold spaces). */
function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** A process still running that carries the run's marker. */
export interface SurvivingProcess {
  readonly pid: number;
  readonly command: string;
}

/**
 * Processes other than this one whose environment carries `run` (Linux /proc; elsewhere none are
 * found). `exceptChildrenOf`: leave out that process's direct children. From vitest's main
 * process those are its pool workers (possibly still exiting at teardown), while what the tests
 * started descends from the workers, or was orphaned by one.
 */
export function processesOfRun(run: string, options: { readonly exceptChildrenOf?: number } = {}): SurvivingProcess[] {
  const marker = `${TEST_RUN_VARIABLE}=${run}`;
  const found: SurvivingProcess[] = [];
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return found;
  }
  for (const name of pids) {
    const pid = Number(name);
    if (pid === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(marker)) continue;
      if (options.exceptChildrenOf !== undefined && parentOf(pid) === options.exceptChildrenOf) continue;
      found.push({ pid, command: readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim().slice(0, 200) });
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}
