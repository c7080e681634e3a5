// What every live event of a process says about its process, checked the same way by each
// family's kernel test: name, version, schema field order, and the acting process's fields.
import assert from 'node:assert/strict';
import type { JsonEvent } from './agent.js';

export const GUID = /^\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}$/;

export function assertProcessFields(e: JsonEvent, want: { name: string; version: number; fields: string[]; pid: number; image: string; user?: string }): void {
  const d = e.EventData;
  assert.equal(e.EventName, want.name);
  assert.equal(e.Version, want.version);
  assert.deepEqual(Object.keys(d), want.fields, 'schema fields in order');
  assert.equal(d.RuleName, '-');
  assert.match(String(d.UtcTime), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
  assert.equal(d.ProcessId, want.pid);
  assert.match(String(d.ProcessGuid), GUID);
  assert.notEqual(d.ProcessGuid, '{00000000-0000-0000-0000-000000000000}');
  assert.equal(d.Image, want.image);
  assert.equal(d.User, want.user ?? 'root');
}
