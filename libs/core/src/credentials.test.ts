import { describe, expect, it } from 'vitest';
import { containsCredentials, isCredentialKey, redactCredentials } from './credentials.js';

describe('credentials', () => {
  it('finds passwords in URLs and key=value pairs', () => {
    expect(containsCredentials('mysql://app:s3cret@db1:3306/account')).toBe(true);
    expect(containsCredentials('redis://:s3cret@localhost:6379')).toBe(true);
    expect(containsCredentials('host=db1 password=s3cret')).toBe(true);
    expect(containsCredentials('https://db1?token=abc&x=1')).toBe(true);
  });

  it('leaves plain names, URLs without password and SQL placeholders alone', () => {
    expect(containsCredentials('mysql://db1:3306/account')).toBe(false);
    expect(containsCredentials('mysql://app@db1/account')).toBe(false);
    expect(containsCredentials('UPDATE users SET password = ? WHERE id = ?')).toBe(false);
    expect(containsCredentials('SELECT * FROM t WHERE token=?')).toBe(false);
    expect(containsCredentials('user_tokens')).toBe(false);
  });

  it('recognises credential keys', () => {
    for (const key of ['password', 'Password', 'passwd', 'secret', 'token', 'apiKey', 'api_key', 'dbPassword', 'authToken', 'clientSecret']) {
      expect(isCredentialKey(key), key).toBe(true);
    }
    for (const key of ['server', 'database', 'tables', 'tokens_table', 'secretary', 'passwordless_login']) {
      expect(isCredentialKey(key), key).toBe(false);
    }
  });

  it('redacts', () => {
    expect(redactCredentials('mysql://app:s3cret@db1/account and password=s3cret; token=t')).toBe(
      'mysql://app:***@db1/account and password=***; token=***',
    );
    expect(redactCredentials('nothing here')).toBe('nothing here');
  });
});
