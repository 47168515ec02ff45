import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SOURCE_CONDITION_FLAG } from '@cleave/core';
import { markedEnv, trackChild } from '@cleave/testing';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TSX = createRequire(import.meta.url).resolve('tsx');
const FUZZ = `${ROOT}tools/fuzz/router.ts`;
/** The run's own deadline: well under the test's timeout, so a hang fails with the fuzzer's output. */
const RUN_TIMEOUT_MS = 100_000;

// The seeded random-statement test (npm run fuzz:router) at a fixed seed: every statement is
// refused before it runs, or leaves the primary side equal to an unsplit reference copy and the
// shadow side equal to the primary; every read answers what the reference copy answers.
describe('fuzz:router: seeded random statements through the router in every phase', () => {
  it('misroutes nothing and leaves no side diverging (seed 17, 300 statements)', { timeout: 150_000 }, async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, [SOURCE_CONDITION_FLAG, '--import', TSX, FUZZ, '--seed', '17', '--statements', '300'], { cwd: ROOT, env: markedEnv({ ...process.env }), timeout: RUN_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (error, out, err) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout: out, stderr: err }),
      );
      trackChild(child);
    });
    const last = stdout.trim().split('\n').at(-1) ?? '';
    expect(last.startsWith('{'), `the fuzzer's last line is its JSON summary (exit ${code}); its log:\n${stderr.slice(-3000)}`).toBe(true);
    const summary = JSON.parse(last) as { statements: number; reads: number; writes: number; refused: number; misrouted: number; divergent: number; phases: string[]; examples: string[] };
    expect({ misrouted: summary.misrouted, divergent: summary.divergent, examples: summary.examples }).toEqual({ misrouted: 0, divergent: 0, examples: [] });
    expect(summary.statements).toBe(300);
    expect(summary.phases).toEqual(['planned', 'dual_write', 'verified', 'reads_switched', 'writes_switched', 'finalized']);
    // The grammar reached both sides of the contract: statements that ran, and refusals.
    expect(summary.reads).toBeGreaterThan(50);
    expect(summary.writes).toBeGreaterThan(100);
    expect(summary.refused).toBeGreaterThan(10);
    expect(code).toBe(0);
  });
});
