import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { WORKSPACE_ROOT } from './services/services-config.js';

// The product's documents state what is true now: their links resolve, the commands they show
// exist, and they carry no history of the project itself (that lives in git). No servers needed.

interface Line {
  readonly file: string;
  readonly number: number;
  readonly text: string;
  readonly inCode: boolean;
}

/** README.md, CHANGELOG.md and every docs/*.md, relative to the workspace root. */
function documents(): string[] {
  const docs = readdirSync(path.join(WORKSPACE_ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`);
  return ['README.md', 'CHANGELOG.md', ...docs].filter((file) => existsSync(path.join(WORKSPACE_ROOT, file)));
}

/** The lines of a document, each marked as inside a fenced code block or not. */
function linesOf(file: string): Line[] {
  let inCode = false;
  return readFileSync(path.join(WORKSPACE_ROOT, file), 'utf8')
    .split('\n')
    .map((text, i) => {
      const fence = /^\s*(```|~~~)/.test(text);
      if (fence) inCode = !inCode;
      return { file, number: i + 1, text, inCode: inCode || fence };
    });
}

const where = (line: Line, what: string) => `${line.file}:${line.number}: ${what}`;

/** Relative link targets of a prose line: inline links and images, and reference definitions. */
function linkTargets(text: string): string[] {
  const prose = text.replace(/`[^`]*`/g, '');
  const targets = [...prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
  const definition = /^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(prose);
  if (definition) targets.push(definition[1]!);
  return targets.filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('#'));
}

/** Words of the project's own history, in any document. */
const HISTORY: readonly { pattern: RegExp; why: string }[] = [
  { pattern: /\bsession \d/i, why: 'a numbered work session' },
  { pattern: /\btoday\b/i, why: '"today"' },
  { pattern: /\bthis VM\b/i, why: '"this VM"' },
  { pattern: /\b(?:run|attempt|take|try) #\d+/i, why: 'a numbered run label' },
  { pattern: /\b(?:session|run|attempt)s? \d+(?:(?:, | and )\d+)*:/i, why: 'a numbered run label' },
  { pattern: /\btried on the way\b/i, why: 'a diary of what was tried' },
  { pattern: /\bissue note\b/i, why: "an instruction to the document's authors" },
  { pattern: /\ban open problem\b/i, why: 'an open-problem diary entry' },
];

/** A dated run (a calendar date) is history outside the documents that exist to record dates. */
const DATE = /\b20\d\d-[01]\d-[0-3]\d\b/;
const DATES_ALLOWED = new Set(['docs/benchmarks.md', 'CHANGELOG.md']);

/** The CLI's commands and, per command, the options it declares, read from program.ts as text. */
function cliCommands(): { commands: Map<string, Set<string>>; globalOptions: Set<string> } {
  const source = readFileSync(path.join(WORKSPACE_ROOT, 'apps/cli/src/program.ts'), 'utf8');
  const optionsIn = (text: string) => new Set([...text.matchAll(/(?:option|Option)\(\s*'([^']*)'/g)].flatMap((m) => [...m[1]!.matchAll(/(?:^|[\s,])(--?[a-z][a-z-]*)/g)].map((f) => f[1]!)));
  const parts = source.split(/\.command\('/);
  const commands = new Map<string, Set<string>>();
  for (const part of parts.slice(1)) {
    const name = /^([a-z][a-z-]*)/.exec(part)?.[1];
    if (name !== undefined) commands.set(name, optionsIn(part));
  }
  const globalOptions = optionsIn(parts[0]!);
  for (const always of ['--help', '-h']) globalOptions.add(always);
  return { commands, globalOptions };
}

describe('documents', () => {
  const files = documents();

  it('include the README, the changelog and the design', () => {
    expect(files).toEqual(expect.arrayContaining(['README.md', 'CHANGELOG.md', 'docs/DESIGN.md', 'docs/benchmarks.md']));
  });

  it('every relative link resolves to an existing file', () => {
    const broken: string[] = [];
    for (const file of files) {
      for (const line of linesOf(file)) {
        if (line.inCode) continue;
        for (const target of linkTargets(line.text)) {
          const relative = decodeURIComponent(target.split('#')[0]!);
          if (relative === '') continue;
          if (!existsSync(path.resolve(WORKSPACE_ROOT, path.dirname(file), relative))) broken.push(where(line, `link to ${target} does not resolve`));
        }
      }
    }
    expect(broken, broken.join('\n')).toEqual([]);
  });

  it("carry no words of the project's own history, and dates only where runs are recorded", () => {
    const found: string[] = [];
    for (const file of files) {
      for (const line of linesOf(file)) {
        for (const { pattern, why } of HISTORY) {
          const match = pattern.exec(line.text);
          if (match) found.push(where(line, `${why}: "${match[0]}" in: ${line.text.trim()}`));
        }
        const date = DATES_ALLOWED.has(file) ? null : DATE.exec(line.text);
        if (date) found.push(where(line, `a dated run ("${date[0]}") belongs in docs/benchmarks.md or CHANGELOG.md: ${line.text.trim()}`));
      }
    }
    expect(found, found.join('\n')).toEqual([]);
  });

  it('every `cleave <command>` in a README code block exists, with the options it shows', () => {
    const { commands, globalOptions } = cliCommands();
    expect([...commands.keys()]).toEqual(expect.arrayContaining(['plan', 'start', 'status', 'verify', 'cutover', 'rollback', 'finalize']));
    const wrong: string[] = [];
    let current: { name: string; options: ReadonlySet<string> } | null = null;
    for (const line of linesOf('README.md')) {
      if (!line.inCode) {
        current = null;
        continue;
      }
      const invocation = /^\s*(?:\$\s+)?cleave\s+([a-z][a-z-]*)(.*)$/.exec(line.text);
      let rest: string;
      if (invocation) {
        const name = invocation[1]!;
        const options = commands.get(name);
        if (options === undefined) {
          wrong.push(where(line, `"cleave ${name}" is not a command of apps/cli/src/program.ts`));
          current = null;
          continue;
        }
        current = { name, options };
        rest = invocation[2]!;
      } else if (current !== null && /^\s/.test(line.text)) {
        rest = line.text; // a continuation line of the same command
      } else {
        current = null;
        // A `cleave <command>` elsewhere in a line (after a pipe, in a comment) must exist too.
        for (const m of line.text.matchAll(/(?:^|[\s`|&;(])cleave\s+([a-z][a-z-]*)/g)) {
          if (!commands.has(m[1]!)) wrong.push(where(line, `"cleave ${m[1]}" is not a command of apps/cli/src/program.ts`));
        }
        continue;
      }
      // Options after a lone `--` go to the worker or the demo, and comments are prose.
      const own = rest.replace(/\s#\s.*$/, '').split(/\s--(?:\s|$)/)[0]!;
      for (const m of own.matchAll(/(?:^|[\s[|(])(--?[a-z][a-z-]*)/g)) {
        const flag = m[1]!;
        if (!current.options.has(flag) && !globalOptions.has(flag)) wrong.push(where(line, `"cleave ${current.name}" has no option ${flag}`));
      }
    }
    expect(wrong, wrong.join('\n')).toEqual([]);
  });
});
