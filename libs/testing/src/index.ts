export * from './services/services-config.js';
export { ServicesError } from './services/services-error.js';
export { servicesUp, servicesDown, servicesStatus, type ServiceReport } from './services/local-services.js';
export { startMariadb, stopMariadb, mariadbPid, mariadbSocket } from './services/mariadb-instance.js';
export { ensureBinaries } from './services/binaries.js';
export { uniqueName } from './unique-name.js';
export { createTestDatabases, type TestDatabase, type TestDatabases } from './test-databases.js';
export { useTestDatabases } from './use-test-databases.js';
export { SAMPLE_ACCOUNTS_SQL, sampleAccountsStatements, createSampleAccounts } from './sample-schema.js';
