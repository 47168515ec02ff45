import { describe, expect, it } from 'vitest';
import { redisConnectionFromUrl } from './redis-connection.js';

describe('redisConnectionFromUrl', () => {
  it('reads host, port, credentials and db', () => {
    expect(redisConnectionFromUrl('redis://u:p%40ss@cache.internal:6380/2')).toEqual({
      host: 'cache.internal',
      port: 6380,
      username: 'u',
      password: 'p@ss',
      db: 2,
      maxRetriesPerRequest: null,
    });
    expect(redisConnectionFromUrl('redis://127.0.0.1')).toEqual({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: null });
  });

  it('refuses other schemes and bad dbs without echoing the URL', () => {
    expect(() => redisConnectionFromUrl('http://u:secret@h')).toThrow('the Redis URL must start with redis:// (got http://…)');
    expect(() => redisConnectionFromUrl('redis://u:secret@h/x')).toThrow('the Redis URL\'s database "x" is not a number');
    expect(() => redisConnectionFromUrl('not a url secret')).toThrow(/^the Redis URL is not a URL$/);
  });
});
