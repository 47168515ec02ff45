import { describe, expect, it } from 'vitest';
import { fingerprintDigest, fingerprintSql } from './fingerprint.js';

describe('fingerprintSql', () => {
  it('replaces literals, collapses IN lists and repeated VALUES tuples, drops comments', () => {
    expect(fingerprintSql("SELECT * FROM users WHERE id IN (1, 2, 3) AND email = 'a''b@c' -- note\n")).toBe('SELECT * FROM users WHERE id IN (?) AND email = ?');
    expect(fingerprintSql("INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y')")).toBe('INSERT INTO t (a, b) VALUES (?, ?)');
    expect(fingerprintSql('select /* hint */ x1 from `t 1` where h = 0xFF and b = X\'00\' and f = 1.5e3;')).toBe('select x1 from `t 1` where h = ? and b = ? and f = ?');
  });
  it('gives statements that differ only in values the same digest', () => {
    const a = fingerprintSql('SELECT * FROM t WHERE id = 1');
    const b = fingerprintSql('SELECT  *  FROM t WHERE id = 42');
    expect(a).toBe(b);
    expect(fingerprintDigest(a)).toMatch(/^[0-9a-f]{32}$/);
  });
});
