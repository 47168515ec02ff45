import { describe, expect, it, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { ensureBinaries, ensureTools } from './binaries.js';
import { servicesConfig } from './services-config.js';
import { servicesDown, servicesStatus, servicesUp } from './local-services.js';
import { isAlive, portOpen } from './process-utils.js';

/** Ports handed out in this file: the OS may give a just-closed port 0 again, and two services on one port fail. */
const handedOut = new Set<number>();

async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = server.address() as net.AddressInfo;
        server.close(() => resolve(p));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/** Resolves once something accepts connections on the port (a deadline, not a speed claim). */
async function untilListening(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('local services', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('the shared services are up: the source writes a ROW binlog and has performance_schema and local_infile on', async () => {
    const config = servicesConfig(process.env);
    const conn = await mysql.createConnection({ host: config.host, port: config.mariadb[0]!.port, user: config.user, password: config.password });
    try {
      const [rows] = await conn.query(
        "SELECT @@log_bin AS log_bin, @@binlog_format AS fmt, @@performance_schema AS ps, @@local_infile AS local_infile, @@version AS version",
      );
      expect(rows).toEqual([expect.objectContaining({ log_bin: 1, fmt: 'ROW', ps: 1, local_infile: 1 })]);
      expect((rows as Array<{ version: string }>)[0]!.version).toMatch(/MariaDB/);
    } finally {
      await conn.end();
    }
  });

  it('up is idempotent: a second call reuses every running instance', async () => {
    const reports = await servicesUp(servicesConfig(process.env), process.env);
    // 'external' when another checkout's tooling started them (same ports, other data folder).
    for (const r of reports) expect(['reused', 'external']).toContain(r.state);
  });

  it('fails with one clear message when the binaries are missing and installing is not allowed', () => {
    expect(() => ensureBinaries({ PATH: '/nonexistent' }, () => undefined, { searchDirs: [], allowInstall: false })).toThrow(
      "cleave's local services need mariadb-server and redis-server (mariadbd, mariadb-install-db, redis-server), which are not installed: " +
        'install them (Debian/Ubuntu: sudo apt-get install -y mariadb-server redis-server; macOS: brew install mariadb redis) and run again',
    );
  });

  it("names every missing benchmark tool and its package, and passes when they are there", () => {
    const tools = [
      { binary: 'pt-table-checksum-nowhere', debianPackage: 'percona-toolkit' },
      { binary: 'sysbench-nowhere', debianPackage: 'sysbench' },
    ];
    expect(() => ensureTools(tools, { PATH: '/nonexistent' }, () => undefined, { searchDirs: [], allowInstall: false })).toThrow(
      'pt-table-checksum-nowhere, sysbench-nowhere are not installed: install percona-toolkit sysbench (Debian/Ubuntu: sudo apt-get install -y percona-toolkit sysbench) and run again',
    );
    expect(() => ensureTools([{ binary: 'node', debianPackage: 'nodejs' }], { PATH: path.dirname(process.execPath) }, () => undefined, { searchDirs: [], allowInstall: false })).not.toThrow();
  });

  it('refuses a port held by a program it cannot log in to, naming the variable to change', async () => {
    const blocker = net.createServer((s) => s.end()).listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const port = (blocker.address() as net.AddressInfo).port;
    handedOut.add(port);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cleave-svc-'));
    dirs.push(dir);
    try {
      const env = { CLEAVE_SERVICES_DIR: dir, CLEAVE_TARGET1_PORT: String(port), CLEAVE_SOURCE_PORT: String(await freePort()), CLEAVE_TARGET2_PORT: String(await freePort()), CLEAVE_REDIS_PORT: String(await freePort()) };
      await expect(servicesUp(servicesConfig(env), env)).rejects.toThrow(
        `port ${port} (the target1 MariaDB) is in use by another program that cleave cannot log in to: stop it or choose another port with CLEAVE_TARGET1_PORT`,
      );
      // Nothing half-started: the instances that did start were stopped again.
      expect(execFileSync('ps', ['-eo', 'args']).toString()).not.toContain(dir);
    } finally {
      blocker.close();
    }
  });

  it('starts a private set, reuses a Redis it did not start, and down stops only what it started', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cleave-svc-'));
    dirs.push(dir);
    const foreignRedisPort = await freePort();
    const foreignPidFile = path.join(dir, 'foreign-redis.pid');
    execFileSync('redis-server', ['--port', String(foreignRedisPort), '--bind', '127.0.0.1', '--daemonize', 'yes', '--save', '', '--pidfile', foreignPidFile, '--dir', dir]);
    // --daemonize returns once it forked, not once it listens (on a busy machine it is not yet).
    await untilListening(foreignRedisPort);
    const env = {
      CLEAVE_SERVICES_DIR: path.join(dir, 'svc'),
      CLEAVE_SOURCE_PORT: String(await freePort()),
      CLEAVE_TARGET1_PORT: String(await freePort()),
      CLEAVE_TARGET2_PORT: String(await freePort()),
      CLEAVE_REDIS_PORT: String(foreignRedisPort),
    };
    const config = servicesConfig(env);
    try {
      const up = await servicesUp(config, env);
      expect(up.map((r) => [r.name, r.state])).toEqual([
        ['mariadb source', 'started'],
        ['mariadb target1', 'started'],
        ['mariadb target2', 'started'],
        ['redis', 'external'],
      ]);
      const down = await servicesDown(config);
      expect(down.map((r) => r.state)).toEqual(['stopped', 'stopped', 'stopped', 'not running']);
      for (const m of config.mariadb) expect(await portOpen(config.host, m.port)).toBe(false);
      expect(await portOpen(config.host, foreignRedisPort)).toBe(true);
      expect(servicesStatus(config).map((r) => r.state)).toEqual(['not running', 'not running', 'not running', 'not running']);
    } finally {
      const pid = Number(execFileSync('cat', [foreignPidFile]).toString().trim());
      if (isAlive(pid)) process.kill(pid, 'SIGTERM');
      await servicesDown(config);
    }
  });
});
