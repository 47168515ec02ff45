import { describe, expect, it } from 'vitest';
import { StatementAnalyzer } from './statement-analyzer.js';

const analyzer = () =>
  new StatementAnalyzer({ database: 'acc', columnsOf: (t) => (t === 'users' ? new Set(['id', 'email']) : t === 'addresses' ? new Set(['user_id', 'city']) : undefined) });

describe('StatementAnalyzer', () => {
  it('reads tables, joins and equality columns of digest text', () => {
    const a = analyzer().analyze('SELECT `u` . `id` FROM `acc` . `users` `u` JOIN `addresses` `a` ON `a` . `user_id` = `u` . `id` WHERE `u` . `email` = ? AND `a` . `city` IN (...)', 'acc');
    expect(a).toEqual({
      parsed: true,
      kind: 'read',
      tables: ['addresses', 'users'],
      writtenTables: [],
      joins: [['addresses', 'users']],
      equalityColumns: [
        { table: 'users', column: 'email' },
        { table: 'addresses', column: 'city' },
      ],
    });
  });
  it('handles MariaDB digest forms: VALUES (...), DELETE … LIMIT ?, other databases, unqualified columns', () => {
    const an = analyzer();
    expect(an.analyze('INSERT INTO `sessions` ( `user_id` , `token_hash` ) VALUES (...) /* , ... */', 'acc')).toMatchObject({ parsed: true, kind: 'write', writtenTables: ['sessions'] });
    expect(an.analyze('DELETE FROM `sessions` WHERE `expires_at` < ? LIMIT ?', 'acc')).toMatchObject({ parsed: true, kind: 'write', tables: ['sessions'] });
    expect(an.analyze('SELECT * FROM `t` WHERE `x` = ?', 'billing').tables).toEqual(['billing.t']);
    expect(an.analyze('SELECT * FROM users, addresses WHERE users.id = addresses.user_id AND email = ?', 'acc').equalityColumns).toEqual([{ table: 'users', column: 'email' }]);
    expect(an.analyze('COMMIT', 'acc')).toMatchObject({ kind: 'other', tables: [] });
  });
  it('never throws on SQL it cannot parse: guesses the tables and says why', () => {
    const a = analyzer().analyze('SELEKT x FROM `users`', 'acc');
    expect(a.parsed).toBe(false);
    expect(a.error).toMatch(/Expected/);
    expect(a.tables).toEqual(['users']);
  });
  it('parses statements that differ only in identifiers once', () => {
    const an = analyzer();
    an.analyze('SELECT `a` FROM `t1` WHERE `id` = ?', 'acc');
    expect(an.analyze('SELECT `b` FROM `t2` WHERE `k` = ?', 'acc')).toMatchObject({ tables: ['t2'], equalityColumns: [{ table: 't2', column: 'k' }] });
    expect(an.stats).toEqual({ parses: 1, cacheHits: 1 });
  });
});

describe('prepareForParser: DELETE/UPDATE with ORDER BY', () => {
  it('parses DELETE … ORDER BY … LIMIT', () => {
    const analyzer = new StatementAnalyzer({ database: 'app' });
    const r = analyzer.analyze('DELETE FROM `sessions` WHERE `user_id` = ? ORDER BY `created_at` DESC LIMIT ?', null);
    expect(r.parsed).toBe(true);
    expect(r.writtenTables).toEqual(['sessions']);
    expect(r.equalityColumns).toEqual([{ table: 'sessions', column: 'user_id' }]);
  });
});
