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

describe('readWorkerSettings errors', () => {
  it('name the flag, its variable, the rule and where the options are listed', () => {
    expect(() => readWorkerSettings(argv(), { CLEAVE_WORKER_CONCURRENCY: 'x' })).toThrow('--concurrency (or CLEAVE_WORKER_CONCURRENCY) must be an integer >= 1, got "x"');
    expect(() => readWorkerSettings(argv('--process-nice', '20'), {})).toThrow('--process-nice (or CLEAVE_WORKER_NICE) must be an integer from 0 to 19, got "20"');
    try {
      readWorkerSettings(argv('--port', '-1'), {});
      expect.unreachable('a negative port is refused');
    } catch (error) {
      expect((error as { hint?: string }).hint).toBe("See the worker's settings: cleave worker -- --help");
    }
  });
});
