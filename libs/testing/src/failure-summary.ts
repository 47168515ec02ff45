import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where each project's vitest writes its JSON results (vitest.shared.ts), read by the summary `npm test` prints last. */
export const TEST_RESULTS_DIR = fileURLToPath(new URL('../../../.cleave/test-results/', import.meta.url));

/** The part of vitest's JSON report the summary reads. */
interface JsonReport {
  testResults: {
    name: string;
    status: string;
    message?: string;
    assertionResults: { fullName: string; status: string; failureMessages: string[] }[];
  }[];
}

const ERROR_LINES_PER_TEST = 12;
// eslint-disable-next-line no-control-regex -- vitest colours its messages
const ANSI = /\u001b\[[0-9;]*m/g;

/** The message and the test's own stack frames: vitest's and node's frames say nothing of the cause. */
function firstLines(text: string, count: number): string {
  return text
    .replace(ANSI, '')
    .split('\n')
    .filter((line) => !/^\s+at .*(node_modules|node:internal|<anonymous>)/.test(line))
    .slice(0, count)
    .map((line) => `      ${line}`)
    .join('\n');
}

/** Failed tests (and files that failed to load) of every project report in `dir`, as printable text. */
export function summariseFailures(dir: string): string {
  const reports = existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith('.json')) : [];
  const lines: string[] = [];
  for (const file of reports.sort()) {
    const project = file.replace(/\.json$/, '');
    let report: JsonReport;
    try {
      report = JSON.parse(readFileSync(join(dir, file), 'utf8')) as JsonReport;
    } catch (error) {
      lines.push(`  ${project}: its report ${file} could not be read (${(error as Error).message})`);
      continue;
    }
    for (const suite of report.testResults) {
      const failed = suite.assertionResults.filter((test) => test.status === 'failed');
      if (suite.status !== 'failed' && failed.length === 0) continue;
      lines.push(`  ${project} ${relative(process.cwd(), suite.name)}`);
      if (failed.length === 0) lines.push(firstLines(suite.message ?? 'failed without a failed test', ERROR_LINES_PER_TEST));
      for (const test of failed) {
        lines.push(`    ✗ ${test.fullName}`);
        lines.push(firstLines(test.failureMessages.join('\n'), ERROR_LINES_PER_TEST));
      }
    }
  }
  const header = '\nFailures (the first lines of each; the full output is above):\n';
  if (lines.length === 0) {
    return `${header}  no failed test in the test reports: a lint, typecheck or build task failed, or a test run ended before its report (see nx's "Failed tasks" above)\n`;
  }
  return `${header}${lines.join('\n')}\n`;
}
