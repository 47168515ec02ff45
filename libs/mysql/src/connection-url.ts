import { identifierProblem } from './identifier.js';
import { MysqlLibError } from './mysql-error.js';

/** URL schemes accepted by {@link parseConnectionUrl}. */
export const CONNECTION_URL_SCHEMES = ['mysql', 'mariadb'] as const;

/** One of {@link CONNECTION_URL_SCHEMES}. */
export type ConnectionUrlScheme = (typeof CONNECTION_URL_SCHEMES)[number];

/** The port used when a URL names none. */
export const DEFAULT_MYSQL_PORT = 3306;

/** What every printed form shows instead of the password. */
export const REDACTED = '***';

const EXAMPLE = 'mysql://user:password@host:3306/database';
const SECRET_OPTION = /pass|secret|token|key|cred/i;
const HOST_NAME = /^[A-Za-z0-9._-]+$/;
const IPV6 = /^[0-9A-Fa-f:.]+(%[A-Za-z0-9._~-]+)?$/;

/** The parts of a {@link ConnectionUrl}; what {@link ConnectionUrl}'s constructor validates. */
export interface ConnectionUrlParts {
  /** @defaultValue `'mysql'` */
  readonly scheme?: ConnectionUrlScheme;
  /** Host name or IP address (IPv6 without brackets). */
  readonly host: string;
  /** @defaultValue 3306 */
  readonly port?: number;
  readonly user: string;
  /** Decoded password; `undefined` when the URL has none. */
  readonly password?: string;
  /** Default database of the connection, if any. */
  readonly database?: string;
  /** Query-string options, decoded. cleave's pools do not interpret them; they are for callers. */
  readonly options?: Readonly<Record<string, string>>;
}

function invalid(message: string): never {
  throw new MysqlLibError('INVALID_CONNECTION_URL', message, { hint: `Use ${EXAMPLE}` });
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    // The URIError says nothing useful and the text may be the password: never echo either.
    return invalid(
      `Connection URL has bad percent-encoding in the ${what}: every % must be followed by two hex digits ` +
        '(write a literal % as %25; encodeURIComponent() encodes a password correctly).',
    );
  }
}

function encodeUserinfo(text: string): string {
  return encodeURIComponent(text);
}

/**
 * A parsed MySQL/MariaDB connection URL. The password is held privately and only returned by
 * {@link ConnectionUrl.password}; every printed form (`toString()`, template literals,
 * `JSON.stringify`, `util.inspect`/`console.log`) shows `***` instead.
 *
 * @example
 * ```ts
 * const url = parseConnectionUrl('mysql://app:s3cret@db1:3306/accounts');
 * `${url}`;         // 'mysql://app:***@db1:3306/accounts'
 * url.password();   // 's3cret'
 * url.serverKey;    // 'db1:3306'
 * ```
 */
export class ConnectionUrl {
  readonly scheme: ConnectionUrlScheme;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string | undefined;
  readonly options: Readonly<Record<string, string>>;
  readonly #password: string | undefined;

  /** Validates the parts (throws `INVALID_CONNECTION_URL`). Prefer {@link parseConnectionUrl}. */
  constructor(parts: ConnectionUrlParts) {
    const scheme = parts.scheme ?? 'mysql';
    if (!(CONNECTION_URL_SCHEMES as readonly string[]).includes(scheme)) {
      invalid(`Connection URL scheme must be mysql or mariadb: use ${EXAMPLE}.`);
    }
    if (typeof parts.host !== 'string' || parts.host === '') {
      invalid(`Connection URL has no host: use ${EXAMPLE}.`);
    }
    if (!HOST_NAME.test(parts.host) && !(parts.host.includes(':') && IPV6.test(parts.host))) {
      invalid(
        "Connection URL host is not a valid host name: use letters, digits, '.', '-' and '_', " +
          `or an IPv6 address in brackets (mysql://user:password@[::1]:3306/database).`,
      );
    }
    const port = parts.port ?? DEFAULT_MYSQL_PORT;
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      invalid(`Connection URL port ${String(port)} is out of range: use a port from 1 to 65535 (the MySQL/MariaDB default is 3306).`);
    }
    if (typeof parts.user !== 'string' || parts.user === '') {
      invalid(`Connection URL has no user name: use ${EXAMPLE}.`);
    }
    if (parts.database !== undefined) {
      const problem = identifierProblem(parts.database);
      if (problem !== undefined) invalid(`Connection URL database name is not valid. ${problem}`);
    }
    this.scheme = scheme;
    this.host = parts.host;
    this.port = port;
    this.user = parts.user;
    this.database = parts.database;
    this.options = Object.freeze({ ...parts.options });
    this.#password = parts.password;
    Object.freeze(this);
  }

  /** `host:port` (IPv6 in brackets, host lower-cased): the key of the per-server connection budget. */
  get serverKey(): string {
    return `${this.#hostForUrl().toLowerCase()}:${this.port}`;
  }

  /** True when the URL carries a password (possibly empty). */
  get hasPassword(): boolean {
    return this.#password !== undefined;
  }

  /**
   * The decoded password, or `undefined` when the URL has none. The only way to read it: pass it
   * straight to the driver, never into a log line.
   */
  password(): string | undefined {
    return this.#password;
  }

  /**
   * A copy with another default database (`undefined` for none); the password is kept.
   *
   * @example
   * ```ts
   * parseConnectionUrl('mysql://root@db1').withDatabase('accounts').toString();
   * // 'mysql://root@db1:3306/accounts'
   * ```
   */
  withDatabase(database: string | undefined): ConnectionUrl {
    return new ConnectionUrl({
      scheme: this.scheme,
      host: this.host,
      port: this.port,
      user: this.user,
      ...(this.#password === undefined ? {} : { password: this.#password }),
      ...(database === undefined ? {} : { database }),
      options: this.options,
    });
  }

  /** The URL with the password replaced by `***` (and secret-looking option values too). */
  toString(): string {
    const userinfo = encodeUserinfo(this.user) + (this.#password === undefined ? '' : `:${REDACTED}`);
    const path = this.database === undefined ? '' : `/${encodeURIComponent(this.database)}`;
    const query = Object.entries(this.options)
      .map(([key, value]) => `${encodeURIComponent(key)}=${SECRET_OPTION.test(key) ? REDACTED : encodeURIComponent(value)}`)
      .join('&');
    return `${this.scheme}://${userinfo}@${this.#hostForUrl()}:${this.port}${path}${query === '' ? '' : `?${query}`}`;
  }

  /** Same as {@link ConnectionUrl.toString}: `JSON.stringify` never shows the password. */
  toJSON(): string {
    return this.toString();
  }

  /** What `util.inspect` and `console.log` show. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `ConnectionUrl <${this.toString()}>`;
  }

  #hostForUrl(): string {
    return this.host.includes(':') ? `[${this.host}]` : this.host;
  }
}

function parseQuery(query: string): Record<string, string> {
  const options: Record<string, string> = {};
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawKey = eq === -1 ? pair : pair.slice(0, eq);
    const rawValue = eq === -1 ? '' : pair.slice(eq + 1);
    const key = decode(rawKey.replaceAll('+', ' '), 'name of an option');
    if (key === '') invalid(`Connection URL has an option without a name: write options as ?name=value&other=value.`);
    const value = decode(rawValue.replaceAll('+', ' '), `value of option "${key}"`);
    if (Object.hasOwn(options, key)) invalid(`Connection URL gives option "${key}" twice: keep one.`);
    options[key] = value;
  }
  return options;
}

function parseHostPort(hostPort: string): { host: string; port: number } {
  let host: string;
  let portText: string | undefined;
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close === -1) invalid(`Connection URL has an IPv6 address without its closing ']': use mysql://user:password@[::1]:3306/database.`);
    host = hostPort.slice(1, close);
    const after = hostPort.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) {
      invalid(`Connection URL has unexpected text after the IPv6 address: use mysql://user:password@[::1]:3306/database.`);
    }
    portText = after === '' ? undefined : after.slice(1);
    if (host === '' || !IPV6.test(host)) {
      invalid(`Connection URL has an invalid IPv6 address in brackets: use mysql://user:password@[::1]:3306/database.`);
    }
  } else {
    const colon = hostPort.indexOf(':');
    host = colon === -1 ? hostPort : hostPort.slice(0, colon);
    portText = colon === -1 ? undefined : hostPort.slice(colon + 1);
    if (portText?.includes(':')) {
      invalid(`Connection URL host has more than one ':': write an IPv6 address in brackets, e.g. mysql://user:password@[::1]:3306/database.`);
    }
  }
  if (host === '') invalid(`Connection URL has no host: use ${EXAMPLE}.`);
  if (portText === undefined) return { host, port: DEFAULT_MYSQL_PORT };
  if (portText === '') {
    invalid(`Connection URL has an empty port after ':': give a port number (host:3306) or drop the ':' to use 3306.`);
  }
  if (!/^\d+$/.test(portText)) {
    invalid(`Connection URL port is not a number: use a port from 1 to 65535, e.g. ${EXAMPLE}.`);
  }
  const port = Number(portText);
  if (port < 1 || port > 65535) {
    invalid(`Connection URL port ${portText.length > 12 ? `${portText.slice(0, 12)}…` : portText} is out of range: use a port from 1 to 65535 (the MySQL/MariaDB default is 3306).`);
  }
  return { host, port };
}

/**
 * Parses `mysql://user:password@host:port/database?option=value` (or `mariadb://...`).
 * User, password, database and options are percent-decoded; the port defaults to 3306.
 *
 * Throws a {@link MysqlLibError} with code `INVALID_CONNECTION_URL` that names the problem and
 * the fix, and never echoes the password (nor the URL, which contains it).
 *
 * @example
 * ```ts
 * const url = parseConnectionUrl('mariadb://app:p%40ss@10.0.0.5/accounts?connectTimeout=2000');
 * url.host;       // '10.0.0.5'
 * url.port;       // 3306
 * url.password(); // 'p@ss'
 * url.options;    // { connectTimeout: '2000' }
 * ```
 */
export function parseConnectionUrl(text: string): ConnectionUrl {
  if (typeof text !== 'string') {
    invalid(`Connection URL must be a string, got ${text === null ? 'null' : typeof text}: use ${EXAMPLE}.`);
  }
  if (text.trim() === '') invalid(`Connection URL is empty: use ${EXAMPLE}.`);
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(text)) {
    invalid(
      'Connection URL contains whitespace or control characters: remove them, or percent-encode them ' +
        `inside the password (a space is %20), e.g. ${EXAMPLE}.`,
    );
  }
  const schemeMatch = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s.exec(text);
  if (schemeMatch === null) {
    invalid(`Connection URL could not be parsed: expected scheme://..., e.g. ${EXAMPLE}.`);
  }
  const scheme = (schemeMatch[1] ?? '').toLowerCase();
  const rest = schemeMatch[2] ?? '';
  if (!(CONNECTION_URL_SCHEMES as readonly string[]).includes(scheme)) {
    const shownScheme = scheme.length > 20 ? `${scheme.slice(0, 20)}…` : scheme;
    invalid(`Connection URL scheme "${shownScheme}" is not supported: use ${EXAMPLE} (mariadb:// also works).`);
  }

  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd === -1 ? rest : rest.slice(0, authorityEnd);
  const remainder = authorityEnd === -1 ? '' : rest.slice(authorityEnd);
  const at = authority.lastIndexOf('@');
  if (at === -1) {
    if (remainder.includes('@')) {
      invalid(
        "Connection URL could not be parsed: the user or password seems to contain '/', '?' or '#' " +
          'that is not percent-encoded. Encode them (/ as %2F, ? as %3F, # as %23, @ as %40; ' +
          `encodeURIComponent() does it), e.g. ${EXAMPLE}.`,
      );
    }
    if (authority === '') invalid(`Connection URL has no host: use ${EXAMPLE}.`);
    invalid(`Connection URL has no user name: use ${EXAMPLE}.`);
  }
  const userinfo = authority.slice(0, at);
  const colon = userinfo.indexOf(':');
  const user = decode(colon === -1 ? userinfo : userinfo.slice(0, colon), 'user name');
  const password = colon === -1 ? undefined : decode(userinfo.slice(colon + 1), 'password');
  if (user === '') invalid(`Connection URL has no user name: use ${EXAMPLE}.`);
  const { host, port } = parseHostPort(authority.slice(at + 1));

  if (remainder.includes('#')) {
    invalid("Connection URL has a '#' fragment: remove it, or percent-encode '#' as %23 if it belongs to a value.");
  }
  const questionMark = remainder.indexOf('?');
  const path = questionMark === -1 ? remainder : remainder.slice(0, questionMark);
  const query = questionMark === -1 ? '' : remainder.slice(questionMark + 1);
  let database: string | undefined;
  if (path !== '' && path !== '/') {
    const rawDatabase = path.slice(1);
    if (rawDatabase.includes('/')) {
      invalid(`Connection URL path must be one database name: remove the extra '/' (or encode it as %2F), e.g. ${EXAMPLE}.`);
    }
    database = decode(rawDatabase, 'database name');
  }
  return new ConnectionUrl({
    scheme: scheme as ConnectionUrlScheme,
    host,
    port,
    user,
    ...(password === undefined ? {} : { password }),
    ...(database === undefined ? {} : { database }),
    options: parseQuery(query),
  });
}
