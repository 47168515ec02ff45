/** A local service could not be installed, started, stopped or reached. */
export class ServicesError extends Error {
  readonly code: 'SERVICES_MISSING_BINARIES' | 'SERVICES_PORT_TAKEN' | 'SERVICES_START_FAILED' | 'SERVICES_LOCKED';
  constructor(code: ServicesError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ServicesError';
    this.code = code;
  }
}
