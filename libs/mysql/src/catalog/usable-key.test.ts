import { describe, expect, it } from 'vitest';
import { MysqlLibError } from '../mysql-error.js';
import { requireUsableKey, usableKey } from './usable-key.js';

const base = { schema: 'shop', name: 'events' };

describe('usableKey', () => {
  it('prefers the primary key', () => {
    expect(
      usableKey({ primaryKey: ['a', 'b'], uniqueKeys: [{ name: 'uk', columns: ['c'], allNotNull: true }] }),
    ).toEqual({ kind: 'primary', name: 'PRIMARY', columns: ['a', 'b'] });
  });

  it('falls back to the first unique key whose columns are all NOT NULL', () => {
    expect(
      usableKey({
        primaryKey: null,
        uniqueKeys: [
          { name: 'uk_nullable', columns: ['x'], allNotNull: false },
          { name: 'uk_a', columns: ['a', 'b'], allNotNull: true },
          { name: 'uk_b', columns: ['c'], allNotNull: true },
        ],
      }),
    ).toEqual({ kind: 'unique', name: 'uk_a', columns: ['a', 'b'] });
  });

  it('returns null without one', () => {
    expect(usableKey({ primaryKey: null, uniqueKeys: [] })).toBeNull();
  });
});

describe('requireUsableKey', () => {
  it('returns the key', () => {
    expect(requireUsableKey({ ...base, primaryKey: ['id'], uniqueKeys: [] }).columns).toEqual(['id']);
  });

  it('throws NO_USABLE_KEY naming the table and the fix', () => {
    let error: unknown;
    try {
      requireUsableKey({ ...base, primaryKey: null, uniqueKeys: [] });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(MysqlLibError);
    expect((error as MysqlLibError).code).toBe('NO_USABLE_KEY');
    expect((error as MysqlLibError).message).toBe(
      'Table shop.events has no usable key: cleave needs a PRIMARY KEY or a UNIQUE key whose columns are all NOT NULL ' +
        'to copy, verify and dual-write rows. Add a primary key (ALTER TABLE ... ADD PRIMARY KEY (...)) or make a ' +
        "unique key's columns NOT NULL, then plan again.",
    );
  });

  it('explains why nullable unique keys do not count', () => {
    expect(() =>
      requireUsableKey({ ...base, primaryKey: null, uniqueKeys: [{ name: 'uk_code', columns: ['code'], allNotNull: false }] }),
    ).toThrow(
      'Table shop.events has no usable key: cleave needs a PRIMARY KEY or a UNIQUE key whose columns are all NOT NULL ' +
        'to copy, verify and dual-write rows. Its unique key "uk_code" allows NULL, so it does not identify rows. ' +
        "Add a primary key (ALTER TABLE ... ADD PRIMARY KEY (...)) or make a unique key's columns NOT NULL, then plan again.",
    );
  });
});
