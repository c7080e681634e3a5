// JSON text of an event's EventData, computed once per event. The journal payload and the
// JSONL line both embed JSON.stringify(ev.data); the journal stringifies it at append (after
// the rule engine has set RuleName and FieldSizes) and seals it here, the JSONL encoder reuses
// it. Sealing freezes the data object, so a later change cannot leave a stale text behind:
// an assignment to a sealed event's data throws (modules are strict code).
import type { SysmonEvent } from './event.js';

const texts = new WeakMap<object, string>();

/** JSON.stringify(ev.data), from the cache when the event was sealed. */
export function dataJson(ev: SysmonEvent): string {
  const t = texts.get(ev.data);
  return t === undefined ? JSON.stringify(ev.data) : t;
}

/**
 * Freezes ev.data and remembers its JSON text (computed here unless `text` is given; a given
 * text must be exactly JSON.stringify(ev.data)). Returns the text.
 */
export function sealData(ev: SysmonEvent, text?: string): string {
  const d = ev.data;
  const have = texts.get(d);
  if (have !== undefined) return have;
  Object.freeze(d);
  const t = text ?? JSON.stringify(d);
  texts.set(d, t);
  return t;
}

/** true when ev.data has a cached text (it is frozen) */
export function isSealed(ev: SysmonEvent): boolean {
  return texts.has(ev.data);
}
