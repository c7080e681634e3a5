// An event's EventData as JSON text, computed once per event. The journal payload and the
// JSONL line both embed JSON.stringify(ev.data): the journal encodes each event at append
// (after the rule engine has set RuleName and FieldSizes) into an EncodedEvent, which is what
// sinks receive, and the JSONL encoder reuses its text.
//
// Events read back from the journal's files are EncodedEvents too: the text is what the file
// holds and the data object is parsed only when something reads ev.data (the JSONL sink
// never does), so a sink catching up from disk does not pay a JSON.parse per event.
//
// The text lives on the EncodedEvent itself (not in a WeakMap keyed by the data: an insert
// there cost more than the stringify), so a copy of an event can never carry a stale text: a
// spread copy is a plain object and is stringified from its own data.
import type { ContainerContext, FieldValue, SysmonEvent } from './event.js';

/**
 * An event whose EventData is known as JSON text; `data` is the object it was encoded from,
 * or is parsed (and frozen) from the text on first use. `data` is a getter of the class, so a
 * spread copy (`{...ev}`) has no data: copy it explicitly (`{...ev, data: ev.data}`).
 *
 * Once the journal has written the event, the text lives only as UTF-8 bytes in the journal's
 * batch buffer (`attach`): the JSONL sink copies those bytes and the time digits next to them
 * into its line (sinks/shared/jsonl-encode.ts writeJsonlLine), and the in-memory tail holds
 * off-heap bytes instead of a string per event. `dataText` decodes them again on demand.
 */
export class EncodedEvent implements SysmonEvent {
  declare container?: ContainerContext;
  private parsed: Record<string, FieldValue> | null;
  private text: string | null;
  /** the journal record holding this event (null until written): see attach() */
  bytes: Buffer | null = null;
  /** bytes[dataOff, dataEnd): the EventData JSON */
  dataOff = 0;
  dataEnd = 0;
  /** bytes[timeOff, timeEnd): timeNs in decimal ASCII digits */
  timeOff = 0;
  timeEnd = 0;

  constructor(
    readonly id: number,
    public recordId: number,
    readonly timeNs: bigint,
    dataText: string,
    container?: ContainerContext,
    data?: Record<string, FieldValue>,
  ) {
    if (container) this.container = container;
    this.parsed = data ?? null;
    this.text = dataText;
  }

  get dataText(): string {
    return this.text ?? this.bytes!.toString('utf8', this.dataOff, this.dataEnd);
  }

  /** the text is now bytes[dataOff, dataEnd) (and timeNs's digits bytes[timeOff, timeEnd)): drop the string */
  attach(bytes: Buffer, dataOff: number, dataEnd: number, timeOff: number, timeEnd: number): void {
    this.bytes = bytes;
    this.dataOff = dataOff;
    this.dataEnd = dataEnd;
    this.timeOff = timeOff;
    this.timeEnd = timeEnd;
    this.text = null;
  }

  /** the record moved: it is now `delta` bytes further on in `bytes` */
  move(bytes: Buffer, delta: number): void {
    this.attach(bytes, this.dataOff + delta, this.dataEnd + delta, this.timeOff + delta, this.timeEnd + delta);
  }

  /**
   * Drops the data object once the bytes hold the event (the journal's tail calls it for events
   * the sinks keeping up have read): ~1 KB of heap per event otherwise held for minutes. A later
   * reader (a lagging EVTX or syslog sink) parses the bytes again.
   */
  releaseData(): void {
    if (this.bytes !== null) this.parsed = null;
  }

  /** whether the data object is held (not parsed again on the next read) */
  get holdsData(): boolean {
    return this.parsed !== null;
  }

  get data(): Record<string, FieldValue> {
    let d = this.parsed;
    if (d === null) {
      d = JSON.parse(this.dataText) as Record<string, FieldValue>;
      Object.freeze(d);
      this.parsed = d;
    }
    return d;
  }
}

/**
 * The encoded form of an event: its data stringified once, and frozen so that the object and
 * the text cannot diverge (an assignment to it throws: modules are strict code).
 */
export function encodeEvent(ev: SysmonEvent): EncodedEvent {
  if (ev instanceof EncodedEvent) return ev;
  const d = ev.data;
  const text = JSON.stringify(d);
  Object.freeze(d);
  return new EncodedEvent(ev.id, ev.recordId, ev.timeNs, text, ev.container, d);
}

/** JSON.stringify(ev.data), without the work when the event is encoded. */
export function dataJson(ev: SysmonEvent): string {
  if (ev instanceof EncodedEvent) return ev.dataText;
  const d = ev.data;
  // a spread copy of an EncodedEvent: fail loudly rather than write "EventData":undefined
  if (d === undefined) throw new TypeError('event has no data (copy journal events with {...ev, data: ev.data})');
  return JSON.stringify(d);
}
