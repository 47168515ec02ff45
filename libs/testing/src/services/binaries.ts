import { accessSync, constants, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ServicesError } from './services-error.js';

export interface ServiceBinaries {
  readonly mariadbd: string;
  readonly installDb: string;
  readonly redisServer: string;
}

const SEARCH_DIRS = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin', '/usr/libexec'];

function findExecutable(names: readonly string[], envPath: string | undefined, searchDirs: readonly string[]): string | null {
  const dirs = [...(envPath ?? '').split(path.delimiter).filter(Boolean), ...searchDirs];
  for (const name of names) {
    for (const dir of dirs) {
      const candidate = path.join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return null;
}

export interface EnsureBinariesOptions {
  /** Where to look besides PATH. @defaultValue the usual sbin/bin folders */
  readonly searchDirs?: readonly string[];
  /** Install missing packages with apt-get when on Debian as root. @defaultValue true */
  readonly allowInstall?: boolean;
}

function locate(env: Record<string, string | undefined>, searchDirs: readonly string[]): Partial<ServiceBinaries> {
  const find = (names: readonly string[]) => findExecutable(names, env['PATH'], searchDirs) ?? undefined;
  return {
    mariadbd: find(['mariadbd', 'mysqld']),
    installDb: find(['mariadb-install-db', 'mysql_install_db']),
    redisServer: find(['redis-server']),
  };
}

function complete(found: Partial<ServiceBinaries>): found is ServiceBinaries {
  return Boolean(found.mariadbd && found.installDb && found.redisServer);
}

const isDebianRoot = () => existsSync('/etc/debian_version') && process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');

/**
 * Finds mariadbd, mariadb-install-db and redis-server. On Debian as root, installs the missing
 * packages with apt-get; anywhere else fails with one message saying what to install.
 */
export function ensureBinaries(
  env: Record<string, string | undefined>,
  log: (line: string) => void,
  options: EnsureBinariesOptions = {},
): ServiceBinaries {
  const searchDirs = options.searchDirs ?? SEARCH_DIRS;
  let found = locate(env, searchDirs);
  if (complete(found)) return found;
  const packages = [
    ...(!found.mariadbd || !found.installDb ? ['mariadb-server'] : []),
    ...(!found.redisServer ? ['redis-server'] : []),
  ];
  if (options.allowInstall === false || !isDebianRoot()) {
    throw new ServicesError(
      'SERVICES_MISSING_BINARIES',
      `cleave's local services need ${packages.join(' and ')} (mariadbd, mariadb-install-db, redis-server), which are not installed: ` +
        `install them (Debian/Ubuntu: sudo apt-get install -y ${packages.join(' ')}; macOS: brew install mariadb redis) and run again`,
    );
  }
  log(`installing ${packages.join(' ')} with apt-get (once)`);
  const aptEnv = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-q'], { stdio: 'inherit', env: aptEnv });
  execFileSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...packages], { stdio: 'inherit', env: aptEnv });
  found = locate(env, searchDirs);
  if (!complete(found)) {
    throw new ServicesError('SERVICES_MISSING_BINARIES', `apt-get installed ${packages.join(' ')} but the server binaries are still not found`);
  }
  return found;
}

/** A command-line tool a benchmark runs, and the Debian package that has it. */
export interface RequiredTool {
  readonly binary: string;
  readonly debianPackage: string;
}

/**
 * Makes sure the tools are installed: on Debian as root the missing packages are installed with
 * apt-get (once); anywhere else one error names every missing tool and its package.
 */
export function ensureTools(tools: readonly RequiredTool[], env: Record<string, string | undefined>, log: (line: string) => void, options: EnsureBinariesOptions = {}): void {
  const searchDirs = options.searchDirs ?? SEARCH_DIRS;
  const missing = () => tools.filter((tool) => findExecutable([tool.binary], env['PATH'], searchDirs) === null);
  let absent = missing();
  if (absent.length === 0) return;
  const packages = [...new Set(absent.map((tool) => tool.debianPackage))];
  if (options.allowInstall === false || !isDebianRoot()) {
    throw new ServicesError(
      'SERVICES_MISSING_BINARIES',
      `${absent.map((tool) => tool.binary).join(', ')} ${absent.length === 1 ? 'is' : 'are'} not installed: install ${packages.join(' ')} (Debian/Ubuntu: sudo apt-get install -y ${packages.join(' ')}) and run again`,
    );
  }
  log(`installing ${packages.join(' ')} with apt-get (once)`);
  const aptEnv = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-q'], { stdio: 'inherit', env: aptEnv });
  execFileSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...packages], { stdio: 'inherit', env: aptEnv });
  absent = missing();
  if (absent.length > 0) throw new ServicesError('SERVICES_MISSING_BINARIES', `apt-get installed ${packages.join(' ')} but ${absent.map((tool) => tool.binary).join(', ')} is still not found`);
}
