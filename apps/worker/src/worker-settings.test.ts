import { describe, expect, it } from 'vitest';
import { readWorkerSettings } from './worker-settings.js';

const argv = (...args: string[]) => ['node', 'worker', ...args];

describe('readWorkerSettings --bulk-insert', () => {
  it('defaults to LOAD DATA, and takes the flag or CLEAVE_BULK_INSERT', () => {
    expect(readWorkerSettings(argv(), {}).bulkInsert).toBe('load-data');
    expect(readWorkerSettings(argv('--bulk-insert', 'insert'), {}).bulkInsert).toBe('insert');
    expect(readWorkerSettings(argv(), { CLEAVE_BULK_INSERT: 'insert' }).bulkInsert).toBe('insert');
    expect(readWorkerSettings(argv('--bulk-insert', 'load-data'), { CLEAVE_BULK_INSERT: 'insert' }).bulkInsert).toBe('load-data');
  });

  it('refuses anything else, naming the option and the choices', () => {
    expect(() => readWorkerSettings(argv('--bulk-insert', 'replace'), {})).toThrow('--bulk-insert (or CLEAVE_BULK_INSERT) must be load-data or insert, got "replace"');
    expect(() => readWorkerSettings(argv(), { CLEAVE_BULK_INSERT: 'fast' })).toThrow(/got "fast"/);
  });
});
