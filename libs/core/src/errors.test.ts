import { describe, expect, it } from 'vitest';
import { CLEAVE_ERROR_CODES, CleaveError, PlanValidationError, formatPlanIssues, isCleaveError, isCleaveErrorCode } from './errors.js';

describe('CleaveError', () => {
  it('carries code, message, hint and cause', () => {
    const cause = new Error('ECONNREFUSED');
    const e = new CleaveError('CONNECTION_FAILED', 'cannot reach server "source"', { cause, hint: 'Start the services.' });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('CleaveError');
    expect(e.code).toBe('CONNECTION_FAILED');
    expect(e.message).toBe('cannot reach server "source"');
    expect(e.hint).toBe('Start the services.');
    expect(e.cause).toBe(cause);
  });

  it('serialises without cause or stack, redacting credentials', () => {
    const e = new CleaveError('CONNECTION_FAILED', 'cannot reach mysql://app:hunter2@db1/account', {
      cause: new Error('password=hunter2'),
    });
    expect(e.toJSON()).toEqual({
      name: 'CleaveError',
      code: 'CONNECTION_FAILED',
      message: 'cannot reach mysql://app:***@db1/account',
    });
    expect(JSON.stringify(e)).not.toContain('hunter2');
    expect(new CleaveError('NOT_FOUND', 'gone', { hint: 'Look elsewhere.' }).toJSON().hint).toBe('Look elsewhere.');
  });

  it('is recognised by isCleaveError, with or without a code', () => {
    const e = new CleaveError('NOT_FOUND', 'no such migration');
    expect(isCleaveError(e)).toBe(true);
    expect(isCleaveError(e, 'NOT_FOUND')).toBe(true);
    expect(isCleaveError(e, 'CONFLICT')).toBe(false);
    expect(isCleaveError(new Error('x'))).toBe(false);
    expect(isCleaveError(null)).toBe(false);
    expect(isCleaveError({ code: 'NOT_FOUND' })).toBe(false);
  });

  it('is recognised across duplicated copies of the package (brand)', () => {
    const foreign = Object.create(Error.prototype) as Record<PropertyKey, unknown>;
    foreign['code'] = 'CONFLICT';
    Object.defineProperty(foreign, Symbol.for('cleave.CleaveError'), { value: true });
    expect(isCleaveError(foreign, 'CONFLICT')).toBe(true);
  });

  it('validates codes', () => {
    expect(CLEAVE_ERROR_CODES).toContain('PLAN_INVALID');
    expect(isCleaveErrorCode('PLAN_INVALID')).toBe(true);
    expect(isCleaveErrorCode('plan_invalid')).toBe(false);
  });
});

describe('PlanValidationError', () => {
  const issues = [
    { path: 'moves[0].to', message: 'unknown target "x"; targets: mail' },
    { path: '', message: 'must be an object, got null' },
  ];

  it('lists every issue one per line', () => {
    const e = new PlanValidationError(issues);
    expect(e.code).toBe('PLAN_INVALID');
    expect(e.name).toBe('PlanValidationError');
    expect(e.message).toBe('invalid plan (2 problems):\nmoves[0].to: unknown target "x"; targets: mail\nplan: must be an object, got null');
    expect(e.issues).toEqual(issues);
    expect(isCleaveError(e, 'PLAN_INVALID')).toBe(true);
    expect(e).toBeInstanceOf(CleaveError);
  });

  it('formats issues', () => {
    expect(formatPlanIssues(issues)).toBe('moves[0].to: unknown target "x"; targets: mail\nplan: must be an object, got null');
    expect(formatPlanIssues([])).toBe('');
  });
});
