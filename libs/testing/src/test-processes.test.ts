import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { spawnUntilReady } from './spawn-until-ready.js';
import { TEST_RUN_VARIABLE, killTrackedChildren, processesOfRun } from './test-processes.js';

const IDLE = ['-e', "console.log('ready'); setInterval(() => {}, 1000)"];

describe('processes a test run leaves behind', () => {
  it('spawnUntilReady marks its child with the run and tracks it: killTrackedChildren kills what is still running', async () => {
    const run = process.env[TEST_RUN_VARIABLE];
    expect(run, 'the global setup marks the run').toMatch(/^[0-9a-f]{16}$/);
    const child = await spawnUntilReady(process.execPath, IDLE, { ready: (out) => out.includes('ready') });
    expect(processesOfRun(run!).map((p) => p.pid)).toContain(child.child.pid);
    // The run's end leaves out vitest's pool workers, the direct children of its main process.
    expect(processesOfRun(run!, { exceptChildrenOf: process.pid }).map((p) => p.pid)).not.toContain(child.child.pid);
    expect(killTrackedChildren()).toBe(1);
    expect(await child.stop()).toBeNull(); // ended by SIGKILL, not by itself
    expect(processesOfRun(run!).map((p) => p.pid)).not.toContain(child.child.pid);
  });

  it("finds a grandchild orphaned by its parent's death by the run's marker alone", async () => {
    const run = randomBytes(8).toString('hex');
    // A parent that starts a detached grandchild, prints its pid and exits: the grandchild is an orphan.
    const parent = spawn(process.execPath, ['-e', `const c = require('node:child_process').spawn(process.execPath, ${JSON.stringify(IDLE)}, { detached: true, stdio: 'ignore' }); c.unref(); process.stdout.write(String(c.pid));`], {
      env: { ...process.env, [TEST_RUN_VARIABLE]: run },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    parent.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((resolve) => parent.once('close', resolve)); // 'close': its stdout read to the end
    const orphan = Number(out.trim());
    expect(orphan, `the pid the parent printed: ${JSON.stringify(out)}`).toBeGreaterThan(0);
    try {
      expect(processesOfRun(run).map((p) => p.pid)).toEqual([orphan]);
      expect(processesOfRun(run)[0]!.command).toContain('setInterval');
    } finally {
      process.kill(orphan, 'SIGKILL');
    }
  });
});
