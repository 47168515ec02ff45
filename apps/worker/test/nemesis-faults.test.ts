import { describeNemesis } from './fixtures/nemesis-vitest.js';

// Processes and services failing under load: the target's mariadbd, a router (kill -9, SIGSTOP),
// a router's control store, Redis. target1 and Redis are private to this file.
describeNemesis('faults', ['target-outage', 'router-kill', 'router-sigstop', 'reload-fails', 'redis-outage']);
