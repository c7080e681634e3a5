// An EVTX record as a Sysmon event: only the Sysmon providers' records with a known event ID,
// EventRecordID from System/EventRecordID, values in their JSONL types (text from records
// without templates typed by the schema), each record's own identity and Version.
import type { FieldValue, Identity, SysmonEvent } from '../../src/events/event.js';
import { eventDef, isKnownEvent, type FieldType } from '../../src/events/schema.js';
import { parseIsoNs } from '../shared/jsonl-encode.js';
import { T, filetimeToNs } from './format.js';
import { valueText, type EvtxRecord, type Value, type XmlNode } from './binxml.js';

function child(n: XmlNode | undefined, name: string): XmlNode | undefined {
  return n?.children.find((c): c is XmlNode => typeof c === 'object' && 'name' in c && c.name === name);
}

function attr(n: XmlNode | undefined, name: string): (Value | string)[] | undefined {
  return n?.attrs.find((a) => a.name === name)?.value;
}

function textOf(n: XmlNode | undefined): string {
  return n ? n.children.map((c) => (typeof c === 'object' && 'name' in c ? '' : valueText(c))).join('') : '';
}

/**
 * A Data value as its JSONL type: numbers, booleans, "{lowercase-guid}", "0x..." hex, strings.
 * Typed values keep their type; text (records without templates, as forwarded logs carry
 * them) becomes the schema's type when it is that type's canonical text, else stays a string.
 */
function jsonValue(parts: (XmlNode | Value | string)[], type: FieldType | undefined): FieldValue {
  const vals = parts.filter((p) => !(typeof p === 'object' && 'name' in p)) as (Value | string)[];
  if (vals.length === 1 && typeof vals[0] === 'object') {
    const v = vals[0];
    switch (v.type) {
      case T.UInt8:
      case T.UInt16:
      case T.UInt32:
      case T.Int8:
      case T.Int16:
      case T.Int32:
      case T.UInt64:
      case T.Int64:
      case T.Real32:
      case T.Real64:
        return typeof v.v === 'bigint' ? v.v.toString() : (v.v as number);
      case T.Bool:
        return v.v as boolean;
      case T.Guid:
        return (v.v as string).toLowerCase();
      case T.HexInt32:
      case T.HexInt64:
        return v.v as string;
    }
  }
  const text = vals.map(valueText).join('');
  if (vals.some((v) => typeof v === 'object' && v.type !== T.String)) return text;
  switch (type) {
    case 'UInt32':
    case 'UInt16':
    case 'UInt64':
      return /^(0|[1-9][0-9]{0,14})$/.test(text) ? Number(text) : text;
    case 'Boolean':
      return text === 'true' ? true : text === 'false' ? false : text;
    case 'GUID':
      return /^\{[0-9A-Fa-f-]{36}\}$/.test(text) ? text.toLowerCase() : text;
    default:
      return text;
  }
}

export interface ParsedEvent {
  readonly event: SysmonEvent;
  readonly identity: Identity;
  /** Version, Level, Task as in the record */
  readonly version: number;
}

/** The providers whose records are read as Sysmon events; any other is skipped (see docs/evtx.md). */
export const SYSMON_PROVIDERS: ReadonlySet<string> = new Set(['Linux-Sysmon', 'Microsoft-Windows-Sysmon']);

/** What a record is: a Sysmon event, or why it is not one. */
export type RecordVerdict =
  | { readonly event: ParsedEvent }
  | { readonly skip: 'not-an-event' | 'foreign-provider' | 'unknown-id'; readonly provider: string; readonly id: number | null };

function digits(text: string): bigint | null {
  return /^[0-9]{1,20}$/.test(text.trim()) ? BigInt(text.trim()) : null;
}

function timeOf(parts: (Value | string)[] | undefined, fallback: bigint): bigint {
  const tc = parts?.[0];
  if (tc && typeof tc === 'object' && tc.type === T.FileTime) return filetimeToNs(tc.v as bigint);
  const text = parts?.map(valueText).join('') ?? '';
  if (text) {
    try {
      return parseIsoNs(text);
    } catch {
      /* keep the record header's */
    }
  }
  return fallback;
}

const typesById = new Map<number, Map<string, FieldType>>();
function fieldTypes(id: number): Map<string, FieldType> {
  let m = typesById.get(id);
  if (!m) {
    m = new Map(eventDef(id).fields.map((f) => [f.name, f.type]));
    typesById.set(id, m);
  }
  return m;
}

export function classifyRecord(rec: EvtxRecord): RecordVerdict {
  const ev = rec.root.find((n) => n.name === 'Event');
  const sys = child(ev, 'System');
  if (!ev || !sys) return { skip: 'not-an-event', provider: '', id: null };
  const provider = child(sys, 'Provider');
  const providerName = (attr(provider, 'Name') ?? []).map(valueText).join('');
  const idText = textOf(child(sys, 'EventID'));
  const id = /^[0-9]{1,5}$/.test(idText.trim()) ? Number(idText) : null;
  if (!SYSMON_PROVIDERS.has(providerName)) return { skip: 'foreign-provider', provider: providerName, id };
  if (id === null || !isKnownEvent(id)) return { skip: 'unknown-id', provider: providerName, id };
  const def = eventDef(id);
  const types = fieldTypes(id);
  const data: Record<string, FieldValue> = {};
  for (const d of child(ev, 'EventData')?.children ?? []) {
    if (typeof d !== 'object' || !('name' in d) || d.name !== 'Data') continue;
    const name = (attr(d, 'Name') ?? []).map(valueText).join('');
    data[name] = jsonValue(d.children, types.get(name));
  }
  // the event's own EventRecordID (Windows numbers records per log; the record header's id is
  // the file's), the header's only when the event has none
  const rid = digits(textOf(child(sys, 'EventRecordID'))) ?? rec.recordId;
  const version = digits(textOf(child(sys, 'Version')));
  return {
    event: {
      event: {
        id,
        recordId: rid <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(rid) : 0,
        timeNs: timeOf(attr(child(sys, 'TimeCreated'), 'SystemTime'), rec.timeNs),
        data,
      },
      identity: {
        provider: providerName,
        providerGuid: (attr(provider, 'Guid') ?? []).map((v) => (typeof v === 'string' ? v : String(v.v))).join(''),
        channel: textOf(child(sys, 'Channel')),
        computer: textOf(child(sys, 'Computer')),
      },
      version: version !== null && version < 256n ? Number(version) : def.version,
    },
  };
}

/** System/EventRecordID of any record (the record header's id when the event has none). */
export function eventRecordIdOf(rec: EvtxRecord): bigint {
  const sys = child(
    rec.root.find((n) => n.name === 'Event'),
    'System',
  );
  return digits(textOf(child(sys, 'EventRecordID'))) ?? rec.recordId;
}

/** A record as a SysmonEvent, or null when it is not an event of a Sysmon provider with a known ID. */
export function recordToEvent(rec: EvtxRecord): ParsedEvent | null {
  const v = classifyRecord(rec);
  return 'event' in v ? v.event : null;
}

/** The structure of a record: element paths with attribute names and value types (for comparing layouts). */
export function recordShape(rec: EvtxRecord): string[] {
  const out: string[] = [];
  const typeOf = (parts: (XmlNode | Value | string)[]) =>
    parts
      .map((p) => (typeof p === 'string' ? 'text' : 'name' in p ? '' : `0x${p.type.toString(16).padStart(2, '0')}`))
      .filter(Boolean)
      .join('+');
  const walk = (n: XmlNode, path: string) => {
    const here = `${path}/${n.name}`;
    const nameAttr = n.name === 'Data' ? attr(n, 'Name') : undefined;
    const label = nameAttr ? `${here}[Name=${nameAttr.map(valueText).join('')}]` : here;
    out.push(
      `${label}${n.attrs
        .filter((a) => !(nameAttr && a.name === 'Name'))
        .map((a) => ` @${a.name}=${typeOf(a.value)}`)
        .join('')} ${typeOf(n.children) || '-'}`,
    );
    for (const c of n.children) if (typeof c === 'object' && 'name' in c) walk(c, here);
  };
  for (const n of rec.root) walk(n, '');
  return out;
}
