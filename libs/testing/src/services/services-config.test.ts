import { describe, expect, it } from 'vitest';
import { DEFAULT_PORTS, endpointUrl, mysqlEndpoints, servicesConfig } from './services-config.js';

describe('servicesConfig', () => {
  it('defaults to ports away from a system MariaDB and Redis', () => {
    const config = servicesConfig({});
    expect(config.mariadb.map((m) => m.port)).toEqual([DEFAULT_PORTS.source, DEFAULT_PORTS.target1, DEFAULT_PORTS.target2]);
    expect(config.redis.port).toBe(DEFAULT_PORTS.redis);
    expect([...config.mariadb.map((m) => m.port), config.redis.port]).not.toContain(3306);
    expect(config.redis.port).not.toBe(6379);
    expect(config.mariadb.filter((m) => m.binlog).map((m) => m.name)).toEqual(['source', 'target1', 'target2']);
  });

  it('takes ports and the data folder from the environment', () => {
    const config = servicesConfig({ CLEAVE_SOURCE_PORT: '41001', CLEAVE_REDIS_PORT: '41009', CLEAVE_SERVICES_DIR: '/tmp/x' });
    expect(config.mariadb[0]).toMatchObject({ name: 'source', port: 41001, dir: '/tmp/x/source' });
    expect(config.redis).toEqual({ port: 41009, dir: '/tmp/x/redis' });
  });

  it('refuses a port that is not a port, naming the variable', () => {
    expect(() => servicesConfig({ CLEAVE_TARGET2_PORT: 'abc' })).toThrow(
      'CLEAVE_TARGET2_PORT=abc is not a TCP port: set it to a number between 1 and 65535',
    );
    expect(() => servicesConfig({ CLEAVE_REDIS_PORT: '70000' })).toThrow('CLEAVE_REDIS_PORT=70000 is not a TCP port');
  });

  it('refuses two services on one port', () => {
    expect(() => servicesConfig({ CLEAVE_TARGET1_PORT: '33061' })).toThrow(
      'local service ports must differ, got 33061, 33061, 33063, 63790: check the CLEAVE_*_PORT variables',
    );
  });

  it('builds URLs with the credentials percent-encoded', () => {
    const endpoint = { ...mysqlEndpoints(servicesConfig({})).source, password: 'p@ss/word' };
    expect(endpointUrl(endpoint, 'db1')).toBe('mysql://cleave:p%40ss%2Fword@127.0.0.1:33061/db1');
  });
});
