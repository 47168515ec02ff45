import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CleaveError } from '@cleave/core';

/**
 * A path inside the cleave repository this command runs from (the sources or the built bundle):
 * `cleave worker`, `coordinator` and `demo` start the apps' TypeScript entry points, which exist
 * only in a checkout.
 */
export function workspacePath(relative: string): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'apps', 'worker', 'src', 'main.ts'))) return path.join(dir, relative);
    const up = path.dirname(dir);
    if (up === dir) {
      throw new CleaveError('CONFIG_INVALID', `cannot find ${relative}: this command starts cleave's apps from a checkout of the cleave repository`, {
        hint: 'Run it from a clone of the repository (`npm ci`, then `npx cleave ...`), where the apps live.',
      });
    }
    dir = up;
  }
}
