export { CoordinatorService } from './coordinator-service.js';
export type { CoordinatorLog } from './coordinator-service.js';
export { coordinatorSettings } from './coordinator-settings.js';
export type { CoordinatorSettings } from './coordinator-settings.js';
