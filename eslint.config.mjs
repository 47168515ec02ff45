// Lint for the whole workspace. The module-boundary rule is how DESIGN.md's dependency rules are
// enforced: tags live in each project's package.json ("nx": { "tags": [...] }).
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

/** Which lib types each project type may import (production code). */
const depConstraints = [
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:feature', 'type:data-access', 'type:util', 'type:testing'] },
  // Feature libs use only core/mysql/control/jobs, never each other.
  { sourceTag: 'type:feature', onlyDependOnLibsWithTags: ['type:data-access', 'type:util'] },
  { sourceTag: 'type:data-access', onlyDependOnLibsWithTags: ['type:data-access', 'type:util'] },
  { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:data-access', 'type:util'] },
  // core depends on nothing of ours.
  { sourceTag: 'type:util', onlyDependOnLibsWithTags: [] },
  // Other services consume the router: no job queue in it, and only the libs it needs.
  {
    sourceTag: 'scope:router',
    onlyDependOnLibsWithTags: ['scope:core', 'scope:mysql', 'scope:control'],
    bannedExternalImports: ['bullmq', '@bull-board/*'],
  },
  { sourceTag: 'scope:control', bannedExternalImports: ['bullmq'] },
  { sourceTag: 'scope:mysql', bannedExternalImports: ['bullmq'] },
  { sourceTag: 'scope:core', bannedExternalImports: ['bullmq', 'mysql2', 'kysely', 'ioredis'] },
];

/** Tests may also use the testing lib. */
const testConstraints = depConstraints.map((c) =>
  c.onlyDependOnLibsWithTags
    ? { ...c, onlyDependOnLibsWithTags: [...c.onlyDependOnLibsWithTags, c.sourceTag.startsWith('type:') ? 'type:testing' : 'scope:testing'] }
    : c,
);

const boundaries = (constraints) => [
  'error',
  { enforceBuildableLibDependency: false, allow: [], depConstraints: constraints, checkDynamicDependenciesExceptions: [] },
];

const testFiles = ['**/*.test.ts', '**/test/**/*.ts'];

export default [
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.nx/**', '**/.cleave/**', '**/test-artifacts/**', '**/vitest.config.ts'] },
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    rules: {
      '@nx/enforce-module-boundaries': boundaries(depConstraints),
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': 'off',
    },
  },
  {
    files: testFiles,
    rules: { '@nx/enforce-module-boundaries': boundaries(testConstraints), '@typescript-eslint/no-non-null-assertion': 'off' },
  },
];
