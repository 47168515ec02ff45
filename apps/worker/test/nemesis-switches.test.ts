import { describeNemesis } from './fixtures/nemesis-vitest.js';

// The switches themselves under stress: verify --repair in writes_switched and across a switch,
// a rollback under load, a bypass writer through the writes switch, the coordinator killed at each step.
describeNemesis('switches', ['verify-repair-writes-switched', 'rollback-under-load', 'bypass-writer', 'coordinator-kill', 'verify-across-switch']);
