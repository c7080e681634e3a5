// JSON text of an event's EventData, computed once per event. The journal payload and the
// JSONL line both embed JSON.stringify(ev.data); the journal stringifies it at append (after
// the rule engine has set RuleName and FieldSizes) and seals it here, the JSONL encoder reuses
// it. Sealing freezes the data object, so a later change cannot leave a stale text behind:
// an assignment to a sealed event's data throws (modules are strict code).
//
// Events read back from the journal's files are EncodedEvents: the text is what the file
// holds and the data object is parsed only when something reads ev.data (the JSONL sink
// never does), so a sink catching up from disk does not pay a JSON.parse per event.
import type { ContainerContext, FieldValue, SysmonEvent } from './event.js';

const texts = new WeakMap<object, string>();

/**
 * An event whose EventData is known as JSON text; `data` is parsed (and frozen) on first use.
 * `data` is a getter of the class, so a spread copy (`{...ev}`) has no data: copy it
 * explicitly (`{...ev, data: ev.data}`).
 */
export class EncodedEvent implements SysmonEvent {
  declare container?: ContainerContext;
  private parsed: Record<string, FieldValue> | null = null;

  constructor(readonly id: number, public recordId: number, readonly timeNs: bigint, readonly dataText: string, container?: ContainerContext) {
    if (container) this.container = container;
  }

  get data(): Record<string, FieldValue> {
    let d = this.parsed;
    if (d === null) {
      d = JSON.parse(this.dataText) as Record<string, FieldValue>;
      Object.freeze(d);
      texts.set(d, this.dataText);
      this.parsed = d;
    }
    return d;
  }
}

/** JSON.stringify(ev.data), from the cache when the event was sealed. */
export function dataJson(ev: SysmonEvent): string {
  if (ev instanceof EncodedEvent) return ev.dataText;
  const d = ev.data;
  // a spread copy of an EncodedEvent: fail loudly rather than write "EventData":undefined
  if (d === undefined) throw new TypeError('event has no data (copy journal events with {...ev, data: ev.data})');
  const t = texts.get(d);
  return t === undefined ? JSON.stringify(d) : t;
}

/**
 * Freezes ev.data and remembers its JSON text (computed here unless `text` is given; a given
 * text must be exactly JSON.stringify(ev.data)). Returns the text.
 */
export function sealData(ev: SysmonEvent, text?: string): string {
  if (ev instanceof EncodedEvent) return ev.dataText;
  const d = ev.data;
  const have = texts.get(d);
  if (have !== undefined) return have;
  Object.freeze(d);
  const t = text ?? JSON.stringify(d);
  texts.set(d, t);
  return t;
}

/** true when ev.data has a cached text (it is frozen, or it is parsed from that text on use) */
export function isSealed(ev: SysmonEvent): boolean {
  return ev instanceof EncodedEvent || texts.has(ev.data);
}
