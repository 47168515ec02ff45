import { servicesConfig } from './services/services-config.js';
import { servicesUp } from './services/local-services.js';

/** Vitest global setup: the real MariaDB instances and Redis are up before any test file runs. */
export default async function setup(): Promise<void> {
  await servicesUp(servicesConfig(process.env), process.env);
}
