import { readdirSync } from 'node:fs';
import os from 'node:os';

/**
 * Lowers the CPU priority of this process to `nice` (0..19; 0 leaves it alone), so that a worker
 * sharing a host with a database (or with the services it serves) yields the CPU to them: the
 * copy's own CPU work then runs in the time they leave idle.
 *
 * On Linux a niceness belongs to a thread, and a process's threads exist from its start (V8 and
 * libuv helpers), so each thread in /proc/self/task is reniced; threads created later inherit it.
 * Elsewhere the process is reniced. Raising one's own niceness needs no privilege; a failure is
 * returned, not thrown (the worker runs at normal priority then).
 */
export function lowerProcessPriority(nice: number): { applied: boolean; error?: string } {
  if (nice <= 0) return { applied: false };
  try {
    let tasks: string[] = [];
    try {
      tasks = readdirSync('/proc/self/task');
    } catch {
      // not Linux: the process as a whole
    }
    if (tasks.length === 0) os.setPriority(0, Math.max(os.getPriority(0), nice));
    for (const task of tasks) {
      const tid = Number(task);
      try {
        if (os.getPriority(tid) < nice) os.setPriority(tid, nice);
      } catch {
        // a thread that ended meanwhile
      }
    }
    return { applied: true };
  } catch (error) {
    return { applied: false, error: (error as Error).message };
  }
}
