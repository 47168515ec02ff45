import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { createLogger } from './create-logger.js';
import { LogSettingsError, readLogSettings } from './log-settings.js';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
  return { stream, text: () => chunks.join('') };
}

describe('createLogger', () => {
  it('writes one JSON line per entry, each field once', async () => {
    const out = capture();
    const log = createLogger({ name: 'cleave-test', settings: { format: 'json', level: 'info' }, destination: out.stream });
    log.info({ migrationId: 'm1', level: 'info' }, 'copy-segment done');
    log.debug('not at info');
    await new Promise((r) => setImmediate(r));
    const lines = out.text().trim().split('\n');
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line.match(/"level":/g)).toHaveLength(1);
    expect(line).not.toContain('"message"');
    const entry = JSON.parse(line) as Record<string, unknown>;
    expect(entry).toMatchObject({ level: 30, name: 'cleave-test', msg: 'copy-segment done', migrationId: 'm1', pid: process.pid });
    expect(entry['time']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('renders the same entries for a person in pretty format', () => {
    const out = capture();
    const log = createLogger({ name: 'cleave-test', settings: { format: 'pretty', level: 'info' }, destination: out.stream });
    log.warn({ migrationId: 'm1' }, 'backfill throttled');
    const text = out.text();
    expect(text).toContain('WARN');
    expect(text).toContain('backfill throttled');
    expect(text).toContain('migrationId: "m1"');
    expect(text.trimStart().startsWith('{')).toBe(false);
  });
});

describe('readLogSettings', () => {
  it('is pretty on a terminal and JSON otherwise, unless CLEAVE_LOG_FORMAT says', () => {
    expect(readLogSettings({}, true)).toEqual({ format: 'pretty', level: 'info' });
    expect(readLogSettings({}, false)).toEqual({ format: 'json', level: 'info' });
    expect(readLogSettings({ CLEAVE_LOG_FORMAT: 'json', CLEAVE_LOG_LEVEL: 'debug' }, true)).toEqual({ format: 'json', level: 'debug' });
  });

  it('names the variable and the values allowed', () => {
    expect(() => readLogSettings({ CLEAVE_LOG_FORMAT: 'xml' }, false)).toThrow(LogSettingsError);
    expect(() => readLogSettings({ CLEAVE_LOG_FORMAT: 'xml' }, false)).toThrow(/CLEAVE_LOG_FORMAT must be json or pretty, got "xml"/);
    expect(() => readLogSettings({ CLEAVE_LOG_LEVEL: 'loud' }, false)).toThrow(/CLEAVE_LOG_LEVEL must be one of trace, debug, info/);
  });
});
