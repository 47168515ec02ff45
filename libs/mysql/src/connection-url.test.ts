import { Console } from 'node:console';
import { Writable } from 'node:stream';
import { format, inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConnectionUrl, parseConnectionUrl } from './connection-url.js';
import { MysqlLibError } from './mysql-error.js';

const SECRET = 'Zq9$ecret/@:?#%pw';
const ENCODED = encodeURIComponent(SECRET);

function thrown(fn: () => unknown): MysqlLibError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(MysqlLibError);
    return error as MysqlLibError;
  }
  throw new Error('expected a throw');
}

/** Everything `console.log(value)` would print. */
function consoleOutput(...values: unknown[]): string {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      text += chunk.toString();
      callback();
    },
  });
  new Console({ stdout: stream, stderr: stream }).log(...values);
  return text;
}

function expectNoSecret(text: string, secret = SECRET): void {
  expect(text).not.toContain(secret);
  expect(text).not.toContain(encodeURIComponent(secret));
  expect(text).not.toContain('Zq9');
}

describe('parseConnectionUrl', () => {
  it('parses every part and decodes user, password, database and options', () => {
    const url = parseConnectionUrl(`mysql://app%40corp:${ENCODED}@db1.example.com:3307/acc%2Dounts?connectTimeout=2000&ssl=true&x=a+b`);
    expect(url.scheme).toBe('mysql');
    expect(url.host).toBe('db1.example.com');
    expect(url.port).toBe(3307);
    expect(url.user).toBe('app@corp');
    expect(url.password()).toBe(SECRET);
    expect(url.database).toBe('acc-ounts');
    expect(url.options).toEqual({ connectTimeout: '2000', ssl: 'true', x: 'a b' });
    expect(url.serverKey).toBe('db1.example.com:3307');
  });

  it('defaults the port to 3306 and allows no password and no database', () => {
    const url = parseConnectionUrl('mariadb://root@127.0.0.1');
    expect(url.scheme).toBe('mariadb');
    expect(url.port).toBe(3306);
    expect(url.password()).toBeUndefined();
    expect(url.hasPassword).toBe(false);
    expect(url.database).toBeUndefined();
    expect(url.options).toEqual({});
    expect(url.toString()).toBe('mariadb://root@127.0.0.1:3306');
    expect(parseConnectionUrl('mysql://root@h/').database).toBeUndefined();
  });

  it('keeps an empty password as empty', () => {
    const url = parseConnectionUrl('mysql://root:@h:3306/db');
    expect(url.password()).toBe('');
    expect(url.hasPassword).toBe(true);
  });

  it('accepts an upper-case scheme, IPv6 in brackets and a password with raw @ and :', () => {
    expect(parseConnectionUrl('MySQL://u@h').scheme).toBe('mysql');
    const v6 = parseConnectionUrl('mysql://u:p@[::1]:3310/db');
    expect(v6.host).toBe('::1');
    expect(v6.serverKey).toBe('[::1]:3310');
    expect(v6.toString()).toBe('mysql://u:***@[::1]:3310/db');
    const raw = parseConnectionUrl('mysql://u:p@ss:w0rd@h/db');
    expect(raw.password()).toBe('p@ss:w0rd');
    expect(raw.host).toBe('h');
  });

  it('builds serverKey with a lower-case host', () => {
    expect(parseConnectionUrl('mysql://u@DB1.Example.COM').serverKey).toBe('db1.example.com:3306');
  });

  it('withDatabase keeps the password and validates the name', () => {
    const url = parseConnectionUrl(`mysql://u:${ENCODED}@h:3306/a`);
    const other = url.withDatabase('b');
    expect(other.database).toBe('b');
    expect(other.password()).toBe(SECRET);
    expect(url.database).toBe('a');
    expect(other.withDatabase(undefined).toString()).toBe('mysql://u:***@h:3306');
    expect(thrown(() => url.withDatabase('bad ')).message).toBe(
      'Connection URL database name is not valid. Invalid identifier "bad ": it ends with a space, which MySQL/MariaDB do not allow in names.',
    );
  });

  it('is frozen', () => {
    const url = parseConnectionUrl('mysql://u:p@h/db');
    expect(Object.isFrozen(url)).toBe(true);
    expect(Object.isFrozen(url.options)).toBe(true);
  });

  it('can be built from parts', () => {
    const url = new ConnectionUrl({ host: 'h', user: 'u', password: SECRET, database: 'd' });
    expect(url.toString()).toBe('mysql://u:***@h:3306/d');
    expect(url.password()).toBe(SECRET);
    expect(thrown(() => new ConnectionUrl({ host: 'h', user: 'u', port: 0 })).message).toBe(
      'Connection URL port 0 is out of range: use a port from 1 to 65535 (the MySQL/MariaDB default is 3306).',
    );
  });
});

describe('redaction', () => {
  const url = parseConnectionUrl(`mysql://app:${ENCODED}@db1:3306/accounts?password=${ENCODED}&apiToken=${ENCODED}&ssl=true`);
  const redacted = 'mysql://app:***@db1:3306/accounts?password=***&apiToken=***&ssl=true';

  it('redacts toString, template literals, concatenation and String()', () => {
    expect(url.toString()).toBe(redacted);
    expect(`${url}`).toBe(redacted);
    expect('' + url).toBe(redacted);
    expect(String(url)).toBe(redacted);
  });

  it('redacts JSON.stringify, alone and nested', () => {
    expect(JSON.stringify(url)).toBe(JSON.stringify(redacted));
    expectNoSecret(JSON.stringify({ config: { source: url } }));
  });

  it('redacts util.inspect, util.format and console.log', () => {
    expect(inspect(url)).toBe(`ConnectionUrl <${redacted}>`);
    expectNoSecret(inspect({ nested: [url] }, { depth: 10, showHidden: true }));
    expectNoSecret(format('%s %o %O %j', url, url, url, url));
    const printed = consoleOutput(url, { url });
    expect(printed).toContain('app:***@db1');
    expectNoSecret(printed);
  });

  it('keeps the password out of enumerable state', () => {
    const plain = parseConnectionUrl(`mysql://app:${ENCODED}@db1:3306/accounts?ssl=true`);
    expectNoSecret(JSON.stringify(Object.entries(plain)));
    expectNoSecret(JSON.stringify({ ...plain }));
    expectNoSecret(Object.getOwnPropertyNames(plain).join(','));
    // Options are data the caller asked for; only printed forms redact secret-looking ones.
    expect(url.options['password']).toBe(SECRET);
  });
});

describe('errors', () => {
  const cases: [string, string, string][] = [
    ['empty', '', 'Connection URL is empty: use mysql://user:password@host:3306/database.'],
    [
      'wrong scheme',
      `postgres://u:${ENCODED}@h/db`,
      'Connection URL scheme "postgres" is not supported: use mysql://user:password@host:3306/database (mariadb:// also works).',
    ],
    [
      'no scheme',
      `u:${ENCODED}@h:3306/db`,
      'Connection URL could not be parsed: expected scheme://..., e.g. mysql://user:password@host:3306/database.',
    ],
    [
      'not a URL',
      'just some text',
      'Connection URL contains whitespace or control characters: remove them, or percent-encode them inside the password (a space is %20), e.g. mysql://user:password@host:3306/database.',
    ],
    [
      'missing host',
      `mysql://u:${ENCODED}@:3306/db`,
      'Connection URL has no host: use mysql://user:password@host:3306/database.',
    ],
    ['missing host, no user', 'mysql:///db', 'Connection URL has no host: use mysql://user:password@host:3306/database.'],
    ['missing user', 'mysql://h:3306/db', 'Connection URL has no user name: use mysql://user:password@host:3306/database.'],
    [
      'empty user',
      `mysql://:${ENCODED}@h/db`,
      'Connection URL has no user name: use mysql://user:password@host:3306/database.',
    ],
    [
      'non-numeric port',
      `mysql://u:${ENCODED}@h:abc/db`,
      'Connection URL port is not a number: use a port from 1 to 65535, e.g. mysql://user:password@host:3306/database.',
    ],
    [
      'port out of range',
      `mysql://u:${ENCODED}@h:70000/db`,
      'Connection URL port 70000 is out of range: use a port from 1 to 65535 (the MySQL/MariaDB default is 3306).',
    ],
    [
      'port zero',
      `mysql://u:${ENCODED}@h:0/db`,
      'Connection URL port 0 is out of range: use a port from 1 to 65535 (the MySQL/MariaDB default is 3306).',
    ],
    [
      'empty port',
      `mysql://u:${ENCODED}@h:/db`,
      "Connection URL has an empty port after ':': give a port number (host:3306) or drop the ':' to use 3306.",
    ],
    [
      'bad percent-encoding in the password',
      'mysql://u:Zq9%zz@h/db',
      'Connection URL has bad percent-encoding in the password: every % must be followed by two hex digits (write a literal % as %25; encodeURIComponent() encodes a password correctly).',
    ],
    [
      'bad percent-encoding in the database',
      `mysql://u:${ENCODED}@h/db%`,
      'Connection URL has bad percent-encoding in the database name: every % must be followed by two hex digits (write a literal % as %25; encodeURIComponent() encodes a password correctly).',
    ],
    [
      'unencoded / in the password',
      'mysql://u:Zq9/x@h/db',
      "Connection URL could not be parsed: the user or password seems to contain '/', '?' or '#' that is not percent-encoded. Encode them (/ as %2F, ? as %3F, # as %23, @ as %40; encodeURIComponent() does it), e.g. mysql://user:password@host:3306/database.",
    ],
    [
      'unencoded # in the password',
      'mysql://u:Zq9#x@h/db',
      "Connection URL could not be parsed: the user or password seems to contain '/', '?' or '#' that is not percent-encoded. Encode them (/ as %2F, ? as %3F, # as %23, @ as %40; encodeURIComponent() does it), e.g. mysql://user:password@host:3306/database.",
    ],
    [
      'fragment',
      `mysql://u:${ENCODED}@h/db#frag`,
      "Connection URL has a '#' fragment: remove it, or percent-encode '#' as %23 if it belongs to a value.",
    ],
    [
      'database path with a slash',
      `mysql://u:${ENCODED}@h/db/extra`,
      "Connection URL path must be one database name: remove the extra '/' (or encode it as %2F), e.g. mysql://user:password@host:3306/database.",
    ],
    [
      'unbracketed IPv6',
      `mysql://u:${ENCODED}@::1:3306/db`,
      "Connection URL host has more than one ':': write an IPv6 address in brackets, e.g. mysql://user:password@[::1]:3306/database.",
    ],
    [
      'invalid host',
      `mysql://u:${ENCODED}@ho%20st/db`,
      "Connection URL host is not a valid host name: use letters, digits, '.', '-' and '_', or an IPv6 address in brackets (mysql://user:password@[::1]:3306/database).",
    ],
    [
      'duplicate option',
      `mysql://u:${ENCODED}@h/db?ssl=1&ssl=0`,
      'Connection URL gives option "ssl" twice: keep one.',
    ],
    [
      'database name too long',
      `mysql://u:${ENCODED}@h/${'d'.repeat(65)}`,
      `Connection URL database name is not valid. Invalid identifier "${'d'.repeat(24)}"…: it is 65 characters long; MySQL/MariaDB allow at most 64.`,
    ],
  ];

  it.each(cases)('%s: exact message, code INVALID_CONNECTION_URL, no password', (_label, text, message) => {
    const error = thrown(() => parseConnectionUrl(text));
    expect(error.code).toBe('INVALID_CONNECTION_URL');
    expect(error.message).toBe(message);
    expect(error.hint).toBe('Use mysql://user:password@host:3306/database');
    expect(error.cause).toBeUndefined();
    expectNoSecret(error.message);
    expectNoSecret(error.stack ?? '');
    expectNoSecret(inspect(error));
    expectNoSecret(consoleOutput(error));
  });

  it('rejects non-strings', () => {
    expect(thrown(() => parseConnectionUrl(undefined as unknown as string)).message).toBe(
      'Connection URL must be a string, got undefined: use mysql://user:password@host:3306/database.',
    );
  });
});
