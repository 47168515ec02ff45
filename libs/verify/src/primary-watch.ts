import { CleaveError, PHASE_ROUTING, type MigrationSide } from '@cleave/core';
import type { ControlStore } from '@cleave/control';

/** How often a verification looks whether a switch moved the write primary. */
const WATCH_MS = 500;

/**
 * A signal that aborts when the migration's write primary is no longer `primary` (a switch ran),
 * or when `parent` aborts. A repair copies from the primary: one that went on after the switch
 * would copy from the old primary over the new one.
 */
export function watchPrimary(store: ControlStore, migrationId: string, primary: MigrationSide, parent: AbortSignal | undefined): { signal: AbortSignal; stop(): void } {
  const controller = new AbortController();
  const onParent = () => controller.abort(parent?.reason);
  parent?.addEventListener('abort', onParent, { once: true });
  if (parent?.aborted === true) onParent();
  let looking = false;
  const timer = setInterval(() => {
    if (looking || controller.signal.aborted) return;
    looking = true;
    store
      .getMigration(migrationId)
      .then((m) => {
        if (PHASE_ROUTING[m.phase].primary !== primary) {
          controller.abort(
            new CleaveError('PRECONDITION_FAILED', `a switch moved the write primary of ${m.name} to the ${PHASE_ROUTING[m.phase].primary} (phase ${m.phase}, epoch ${m.epoch}) while it was verified; no repair runs in the old direction`, {
              hint: 'Run `cleave verify <id> --repair` again: it compares against the new primary.',
            }),
          );
        }
      })
      .catch(() => undefined) // the next look retries
      .finally(() => (looking = false));
  }, WATCH_MS);
  timer.unref();
  return {
    signal: controller.signal,
    stop() {
      clearInterval(timer);
      parent?.removeEventListener('abort', onParent);
    },
  };
}
