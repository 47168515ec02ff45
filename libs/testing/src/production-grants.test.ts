import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { grantStatements } from '@cleave/core';
import { ACCOUNT_GRANTS, type AccountRole } from './services/least-privilege-accounts.js';
import { WORKSPACE_ROOT } from './services/services-config.js';

// docs/production.md's GRANT blocks are the grants the code holds (CLEAVE_ACCOUNT_GRANTS and the
// others in @cleave/core), which `cleave start` checks and the local services and tests create.

const DOC = readFileSync(path.join(WORKSPACE_ROOT, 'docs/production.md'), 'utf8');

/** The statements of the first sql block under a heading, without comments. */
function grantBlock(heading: string): string[] {
  const section = DOC.split(/^## /m).find((s) => s.startsWith(heading));
  if (section === undefined) throw new Error(`docs/production.md has no "## ${heading}" section`);
  const block = /```sql\n([^]*?)```/.exec(section);
  if (block === null) throw new Error(`the "## ${heading}" section of docs/production.md has no sql block`);
  return block[1]!
    .replace(/--[^\n]*/g, '')
    .split(';')
    .map((s) => s.replace(/\s+/g, ' ').trim())
    .filter(Boolean);
}

const SECTIONS: Array<{ heading: string; role: AccountRole; account: string }> = [
  { heading: "cleave's account", role: 'cleave', account: "'cleave'@'%'" },
  { heading: "The planner's account", role: 'planner', account: "'cleave_planner'@'%'" },
  { heading: "A service's account", role: 'service', account: "'service'@'%'" },
];

describe('docs/production.md grants', () => {
  it.each(SECTIONS)("$heading: the docs' GRANT block is the code's", ({ heading, role, account }) => {
    expect(grantBlock(heading)).toEqual(grantStatements(ACCOUNT_GRANTS[role], { database: 'accounts', control: 'cleave_control', account }));
  });
});
