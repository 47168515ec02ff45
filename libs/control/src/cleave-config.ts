import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { CleaveError, formatIssuePath, SERVER_NAME_PATTERN } from '@cleave/core';
import { parseConnectionUrl, type ConnectionUrl } from '@cleave/mysql';

/**
 * Where cleave finds its servers, Redis and control store. Credentials live only here (a config
 * file the operators protect, or environment variables), never in a plan.
 */
export interface CleaveConfig {
  /** Server name (as plans name them) -> connection URL without a database. */
  readonly servers: ReadonlyMap<string, ConnectionUrl>;
  readonly redisUrl: string;
  /** The control store: a server name and database. */
  readonly control: { readonly server: string; readonly database: string };
  readonly queuePrefix: string;
}

const fileSchema = z
  .object({
    $schema: z.string().optional(),
    servers: z.record(z.string().regex(SERVER_NAME_PATTERN, 'must be a server name: letters, digits, ".", "_" or "-"'), z.string()).optional(),
    redis: z.string().optional(),
    control: z.object({ server: z.string(), database: z.string().default('cleave_control') }).strict().optional(),
    queuePrefix: z.string().optional(),
  })
  .strict();

/** CLEAVE_SERVER_<NAME>=mysql://… names a server; `_` in the variable stands for `-` or `_`. */
const SERVER_VARIABLE = /^CLEAVE_SERVER_([A-Z0-9_]+)$/;

/**
 * Builds the config from an optional config file's parsed JSON and the environment. Environment
 * variables win over the file: CLEAVE_SERVER_<NAME>, CLEAVE_REDIS_URL, CLEAVE_CONTROL_SERVER,
 * CLEAVE_CONTROL_DATABASE, CLEAVE_QUEUE_PREFIX. Errors name the setting, never a password.
 */
export function resolveCleaveConfig(file: unknown, env: Record<string, string | undefined>, source = 'cleave config'): CleaveConfig {
  const parsed = fileSchema.safeParse(file ?? {});
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${formatIssuePath(i.path as Array<string | number>) || '(root)'}: ${i.message}`);
    throw new CleaveError('CONFIG_INVALID', `${source} is invalid:\n${lines.join('\n')}`, {
      hint: 'See README.md "Configuration" for the format.',
    });
  }
  const servers = new Map<string, ConnectionUrl>();
  const add = (name: string, url: string, where: string) => {
    try {
      servers.set(name, parseConnectionUrl(url));
    } catch (error) {
      throw new CleaveError('CONFIG_INVALID', `${where}: ${(error as Error).message}`, { cause: error });
    }
  };
  for (const [name, url] of Object.entries(parsed.data.servers ?? {})) add(name, url, `${source} servers.${name}`);
  for (const [key, value] of Object.entries(env)) {
    const match = SERVER_VARIABLE.exec(key);
    if (match && value) add(match[1]!.toLowerCase(), value, key);
  }
  const control = {
    server: env['CLEAVE_CONTROL_SERVER'] || parsed.data.control?.server || 'source',
    database: env['CLEAVE_CONTROL_DATABASE'] || parsed.data.control?.database || 'cleave_control',
  };
  return Object.freeze({
    servers,
    redisUrl: env['CLEAVE_REDIS_URL'] || parsed.data.redis || 'redis://127.0.0.1:6379',
    control,
    queuePrefix: env['CLEAVE_QUEUE_PREFIX'] || parsed.data.queuePrefix || 'cleave',
  });
}

/** The URL of a named server, or an error saying how to configure it. */
export function serverUrl(config: CleaveConfig, name: string): ConnectionUrl {
  const url = config.servers.get(name) ?? config.servers.get(name.toLowerCase());
  if (!url) {
    const known = [...config.servers.keys()].sort();
    throw new CleaveError('CONFIG_INVALID', `no server named "${name}" is configured${known.length ? ` (known: ${known.join(', ')})` : ''}`, {
      hint: `Set CLEAVE_SERVER_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}=mysql://user:password@host:3306 or add it under "servers" in cleave.config.json.`,
    });
  }
  return url;
}

/**
 * The config as every cleave process reads it: `file` (or `./cleave.config.json` when it exists)
 * and the environment, which wins (see {@link resolveCleaveConfig}). A file named explicitly must
 * exist.
 *
 * @example
 * const config = loadCleaveConfig({ file: process.env.CLEAVE_CONFIG });
 */
export function loadCleaveConfig(options: { readonly file?: string; readonly env?: Record<string, string | undefined>; readonly cwd?: string } = {}): CleaveConfig {
  const explicit = options.file !== undefined;
  const candidate = path.resolve(options.cwd ?? process.cwd(), options.file ?? 'cleave.config.json');
  const env = options.env ?? process.env;
  if (!existsSync(candidate)) {
    if (explicit) {
      throw new CleaveError('CONFIG_INVALID', `config file ${candidate} does not exist`, { hint: 'Pass an existing file, or configure servers with CLEAVE_SERVER_<NAME> variables.' });
    }
    return resolveCleaveConfig({}, env, 'environment');
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(candidate, 'utf8'));
  } catch (error) {
    throw new CleaveError('CONFIG_INVALID', `config file ${candidate} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  return resolveCleaveConfig(json, env, candidate);
}
