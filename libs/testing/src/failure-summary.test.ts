import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { summariseFailures } from './failure-summary.js';

const dirs: string[] = [];
function reportsDir(reports: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'cleave-results-'));
  dirs.push(dir);
  for (const [project, report] of Object.entries(reports)) writeFileSync(join(dir, `${project}.json`), JSON.stringify(report));
  return dir;
}
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe("npm test's failure summary", () => {
  it('names each failed test with its message and own frames, not the passing ones or the runner frames', () => {
    const dir = reportsDir({
      cli: {
        testResults: [
          { name: `${process.cwd()}/apps/cli/test/a.test.ts`, status: 'passed', assertionResults: [{ fullName: 'passes', status: 'passed', failureMessages: [] }] },
          {
            name: `${process.cwd()}/apps/cli/test/b.test.ts`,
            status: 'failed',
            assertionResults: [
              {
                fullName: 'start waits for the routers',
                status: 'failed',
                failureMessages: ['\u001b[31mAssertionError: expected 3 to be 0\u001b[39m\n    at /repo/apps/cli/test/b.test.ts:9:1\n    at file:///repo/node_modules/@vitest/runner/dist/x.js:1:1'],
              },
            ],
          },
        ],
      },
      worker: { testResults: [{ name: '/w/test/c.test.ts', status: 'failed', message: 'Hook timed out in 120000ms', assertionResults: [] }] },
    });
    const summary = summariseFailures(dir);
    expect(summary).toContain('cli apps/cli/test/b.test.ts\n    ✗ start waits for the routers\n      AssertionError: expected 3 to be 0\n          at /repo/apps/cli/test/b.test.ts:9:1\n');
    expect(summary).not.toContain('node_modules');
    expect(summary).not.toContain('a.test.ts');
    expect(summary).toContain('worker');
    expect(summary).toContain('Hook timed out in 120000ms');
  });

  it('says when no report holds a failed test, and names an unreadable report', () => {
    expect(summariseFailures(reportsDir({ core: { testResults: [] } }))).toContain('no failed test in the test reports');
    const dir = reportsDir({});
    writeFileSync(join(dir, 'mysql.json'), '{"testResults": [');
    expect(summariseFailures(dir)).toContain('mysql: its report mysql.json could not be read');
  });
});
