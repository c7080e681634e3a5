// Shared helpers for the config tests.
import type { FieldValue, SysmonEvent } from '../../src/events/event.js';
import { eventDef } from '../../src/events/schema.js';
import { DEFAULT_MATCH, loadConfigText, type Config, type MatchOptions } from '../../src/config/index.js';

/** An event with every schema field present ('-', 0 or false) and the given overrides. */
export function ev(id: number, data: Record<string, FieldValue> = {}): SysmonEvent {
  const out: Record<string, FieldValue> = {};
  for (const f of eventDef(id).fields) {
    out[f.name] = f.type === 'UInt16' || f.type === 'UInt32' || f.type === 'UInt64' ? 0 : f.type === 'Boolean' ? false : '-';
  }
  return { id, recordId: 0, timeNs: 0n, data: { ...out, ...data } };
}

/** A config from an <EventFiltering> body. */
export function cfg(body: string, version = '4.90', options = '', matching: MatchOptions = DEFAULT_MATCH): Config {
  return loadConfigText(`<Sysmon schemaversion="${version}">${options}<EventFiltering>${body}</EventFiltering></Sysmon>`, 'test.xml', matching);
}

export function decide(c: Config, e: SysmonEvent): string {
  const d = c.engine.evaluate(e);
  return d.keep ? `keep:${d.ruleName}` : 'drop';
}
