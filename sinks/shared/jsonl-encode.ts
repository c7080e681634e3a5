// JSONL encoding of DESIGN.md: one event per line, fixed key order, EventData in schema
// order with manifest types kept. JSON.stringify escapes every control character and lone
// surrogate, so nothing a process puts in a string can start a new line or forge a record.
import type { Identity, SysmonEvent } from '../../src/events/event.js';
import { eventDef, eventName } from '../../src/events/schema.js';
import { isoTime } from '../../src/events/time.js';
import { dataJson } from '../../src/events/encoded.js';

export function encodeJsonl(ev: SysmonEvent, who: Identity): string {
  // Template literal with pre-stringified parts: ~2x faster than stringifying a wrapper object;
  // the parts that depend only on the EventID or on the identity are built once.
  const w = identityJson(who);
  return `${lineHead(ev.id)}${ev.recordId},"Computer":${w.computer},"TimeCreated":"${isoTime(ev.timeNs)}",`
    + `${w.providerChannel}${containerJson(ev)}"EventData":${dataJson(ev)}}\n`;
}

/** `{"EventID":N,"EventName":"..","Version":V,"EventRecordID":` per EventID */
const heads = new Map<number, string>();
function lineHead(id: number): string {
  let h = heads.get(id);
  if (h === undefined) {
    h = `{"EventID":${id},"EventName":${JSON.stringify(eventName(id))},"Version":${eventDef(id).version},"EventRecordID":`;
    heads.set(id, h);
  }
  return h;
}

interface IdentityJson { computer: string; providerChannel: string }
const identities = new WeakMap<Identity, IdentityJson>();
function identityJson(who: Identity): IdentityJson {
  let j = identities.get(who);
  if (j === undefined) {
    j = { computer: JSON.stringify(who.computer), providerChannel: `"Provider":${JSON.stringify(who.provider)},"Channel":${JSON.stringify(who.channel)},` };
    identities.set(who, j);
  }
  return j;
}

/** The documented extension: a top-level "Container" object after "Channel", only for events of containers. */
function containerJson(ev: SysmonEvent): string {
  const c = ev.container;
  return c ? `"Container":{"Id":${JSON.stringify(c.id)},"Runtime":${JSON.stringify(c.runtime)},"Cgroup":${JSON.stringify(c.cgroup)}},` : '';
}

/** Inverse of encodeJsonl for `filter`, `convert` and tests: a parsed JSONL object back to an event. */
export function eventFromJson(obj: unknown): SysmonEvent {
  if (typeof obj !== 'object' || obj === null) throw new Error('not a JSON object');
  const o = obj as Record<string, unknown>;
  const id = o.EventID;
  if (typeof id !== 'number') throw new Error('missing numeric EventID');
  eventDef(id);
  const data = o.EventData;
  if (typeof data !== 'object' || data === null) throw new Error('missing EventData object');
  const time = typeof o.TimeCreated === 'string' ? parseIsoNs(o.TimeCreated) : 0n;
  const ev: SysmonEvent = {
    id,
    recordId: typeof o.EventRecordID === 'number' ? o.EventRecordID : 0,
    timeNs: time,
    data: data as SysmonEvent['data'],
  };
  const c = o.Container as Record<string, unknown> | undefined;
  if (c && typeof c === 'object' && typeof c.Id === 'string') {
    ev.container = { id: c.Id, runtime: String(c.Runtime ?? '-'), cgroup: String(c.Cgroup ?? '-') };
  }
  return ev;
}

export function parseIsoNs(text: string): bigint {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(text);
  if (!m) throw new Error(`bad TimeCreated ${JSON.stringify(text)}`);
  const sec = BigInt(Date.parse(`${m[1]}Z`) / 1000);
  return sec * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}
