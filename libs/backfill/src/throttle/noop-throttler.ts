import { OPEN, type ThrottleDecision, type Throttler } from './throttler.js';

/**
 * A throttler that never throttles: the default when nothing is configured, and the twin that
 * tests and dry runs use.
 *
 * @example
 * new ThrottleGate({ throttlers: [new NoopThrottler()] });
 */
export class NoopThrottler implements Throttler {
  readonly name: string;

  constructor(name = 'noop') {
    this.name = name;
  }

  check(): Promise<ThrottleDecision> {
    return Promise.resolve(OPEN);
  }
}
