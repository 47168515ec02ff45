import { accessSync, constants, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/** Debian's Chromium (never a downloaded browser). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Launch flags for headless Chromium on this kind of machine (root, closed network). */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-component-update', '--disable-sync', '--no-first-run'];

/**
 * The Chromium executable for browser tests. On Debian as root a missing browser is installed
 * with apt-get (package `chromium`); anywhere else the error says what to install.
 */
export function ensureChromium(log: (line: string) => void = () => undefined): string {
  const present = () => {
    try {
      accessSync(CHROMIUM_PATH, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (present()) return CHROMIUM_PATH;
  if (existsSync('/etc/debian_version') && process.getuid?.() === 0) {
    log('installing chromium with apt-get (once)');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-q'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'chromium'], { stdio: 'inherit', env });
    if (present()) return CHROMIUM_PATH;
  }
  throw new Error(`browser tests need Chromium at ${CHROMIUM_PATH}: install it (Debian/Ubuntu: sudo apt-get install -y chromium)`);
}
