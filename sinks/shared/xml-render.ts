// Event XML rendering: the single-line document Sysmon for Linux hands to syslog(3)
// (docs/outputs.md), and the Windows Event XML shape (§1.4) for
// `convert` and tools that only know Microsoft-Windows-Sysmon.
//
// Escaping (every value, and the Computer/Channel/Provider texts):
//   &  <  >  "        -> &amp; &lt; &gt; &quot;
//   \t \n \r           -> &#9; &#10; &#13;   (legal XML character references; the line stays one line)
//   other C0 controls  -> the text \xNN  (U+0000-U+001F are not allowed in XML 1.0, even as refs)
//   lone surrogates U+DC80-U+DCFF (invalid UTF-8 bytes, see src/kernel/text.ts)
//                      -> the text \xNN of the original byte (NN = 80..FF)
//   any other lone surrogate, U+FFFE, U+FFFF -> the text \uXXXX
// The output is therefore always well-formed XML 1.0, valid UTF-8, one line, and no value can
// open or close an element. The \x / \u forms are not distinguishable from the same literal
// text in the original value (a literal backslash is kept as-is, so Windows paths read
// naturally); `unescapeXmlValue` reverses the escaping with that one ambiguity.
import type { Identity, SysmonEvent, FieldValue } from '../../src/events/event.js';
import { eventDef } from '../../src/events/schema.js';
import { isoTime } from '../../src/events/time.js';

export type XmlDialect = 'linux' | 'windows';

export interface RenderOptions {
  /** 'linux' (default): Sysmon for Linux's syslog line; 'windows': Windows Event XML */
  dialect?: XmlDialect;
  /** the Execution element: the logger's pid/tid (Sysmon writes its own) */
  execution?: { pid: number; tid: number };
  /** Security UserId (linux, default the effective uid) / UserID (windows, default S-1-5-18) */
  userId?: string | number;
}

const WIN_NS = 'http://schemas.microsoft.com/win/2004/08/events/event';
// Characters needing any treatment: XML specials, C0 controls, surrogates, U+FFFE/U+FFFF.
// eslint-disable-next-line no-control-regex
const NEEDS = /[&<>"\u0000-\u001f\ud800-\udfff\ufffe\uffff]/;
// eslint-disable-next-line no-control-regex
const NEEDS_G = /[&<>"\u0000-\u001f\ud800-\udfff\ufffe\uffff]/g;

function hex2(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, '0');
}

/** Escape one text for element content or a double-quoted attribute (see the header). */
export function escapeXml(text: string): string {
  if (!NEEDS.test(text)) return text;
  return text.replace(NEEDS_G, (ch, offset: number, whole: string) => {
    const c = ch.charCodeAt(0);
    switch (c) {
      case 0x26:
        return '&amp;';
      case 0x3c:
        return '&lt;';
      case 0x3e:
        return '&gt;';
      case 0x22:
        return '&quot;';
      case 0x09:
        return '&#9;';
      case 0x0a:
        return '&#10;';
      case 0x0d:
        return '&#13;';
    }
    if (c < 0x20) return `\\x${hex2(c)}`;
    if (c >= 0xd800 && c <= 0xdbff) {
      // high surrogate: keep it when a low surrogate follows (a valid pair)
      const next = whole.charCodeAt(offset + 1);
      if (next >= 0xdc00 && next <= 0xdfff) return ch;
      return `\\u${c.toString(16).toUpperCase()}`;
    }
    if (c >= 0xdc00 && c <= 0xdfff) {
      const prev = offset > 0 ? whole.charCodeAt(offset - 1) : 0;
      if (prev >= 0xd800 && prev <= 0xdbff) return ch; // second half of a valid pair
      if (c >= 0xdc80 && c <= 0xdcff) return `\\x${hex2(c - 0xdc00)}`;
      return `\\u${c.toString(16).toUpperCase()}`;
    }
    return `\\u${c.toString(16).toUpperCase()}`; // U+FFFE, U+FFFF
  });
}

/**
 * Reverse escapeXml after an XML parser has resolved the entities: \xNN below 0x20 back to the
 * control character, \x80-\xFF back to the lone surrogate standing for that byte, \uXXXX back to
 * the code unit. Ambiguous only for values that literally contained such backslash text.
 */
export function unescapeXmlValue(text: string): string {
  if (!text.includes('\\')) return text;
  return text.replace(/\\x([0-9A-F]{2})|\\u([0-9A-F]{4})/g, (m, x?: string, u?: string) => {
    if (x !== undefined) {
      const b = parseInt(x, 16);
      if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return String.fromCharCode(b);
      if (b >= 0x80) return String.fromCharCode(0xdc00 + b);
      return m;
    }
    const c = parseInt(u!, 16);
    if ((c >= 0xd800 && c <= 0xdfff) || c === 0xfffe || c === 0xffff) return String.fromCharCode(c);
    return m;
  });
}

/** Text of one EventData value: numbers in decimal, booleans as true/false, strings escaped. */
export function valueText(v: FieldValue | undefined): string {
  if (v === undefined) return '-';
  if (typeof v === 'string') return escapeXml(v);
  return String(v);
}

/** 7 fractional digits (100 ns), as Windows renders SystemTime. */
function windowsTime(ns: bigint): string {
  const iso = isoTime(ns); // ...SS.nnnnnnnnnZ
  return `${iso.slice(0, -3)}Z`;
}

function defaultUserId(dialect: XmlDialect): string {
  if (dialect === 'windows') return 'S-1-5-18';
  return String(typeof process.geteuid === 'function' ? process.geteuid() : 0);
}

const DEFAULT_EXECUTION = { pid: process.pid, tid: process.pid };

function systemDescriptor(id: number, version: number, level: string): string {
  return (
    `<Version>${version}</Version><Level>${level === 'Error' ? 2 : 4}</Level>` + `<Task>${id}</Task><Opcode>0</Opcode><Keywords>0x8000000000000000</Keywords>`
  );
}

/** Sysmon for Linux's event 100 descriptor is the bare {100, 0, 0, 0, 0, 0, 0} of its manifest.tt */
const SFL_EVENT_100 = '<Version>0</Version><Level>0</Level><Task>0</Task><Opcode>0</Opcode><Keywords>0x0</Keywords>';

/** The System element and the <Event> start tag; everything before <EventData>. */
function renderHead(ev: SysmonEvent, who: Identity, dialect: XmlDialect, execution: { pid: number; tid: number }, userId: string): string {
  const def = eventDef(ev.id);
  const win = dialect === 'windows';
  return (
    `${win ? `<Event xmlns="${WIN_NS}">` : '<Event>'}<System>` +
    `<Provider Name="${escapeXml(who.provider)}" Guid="${escapeXml(who.providerGuid)}"/>` +
    `<EventID>${ev.id}</EventID>${win || ev.id !== 100 ? systemDescriptor(ev.id, def.version, def.level) : SFL_EVENT_100}` +
    `<TimeCreated SystemTime="${win ? windowsTime(ev.timeNs) : isoTime(ev.timeNs)}"/>` +
    `<EventRecordID>${ev.recordId}</EventRecordID><Correlation/>` +
    `<Execution ProcessID="${execution.pid}" ThreadID="${execution.tid}"/>` +
    `<Channel>${escapeXml(who.channel)}</Channel><Computer>${escapeXml(who.computer)}</Computer>` +
    `<Security ${win ? 'UserID' : 'UserId'}="${escapeXml(userId)}"/></System>`
  );
}

const tagCache = new Map<number, [string, string][]>();

/** [field name, '<Data Name="field">'] in schema order, computed once per event id */
function dataTags(id: number): [string, string][] {
  let tags = tagCache.get(id);
  if (!tags) {
    tags = eventDef(id).fields.map((f) => [f.name, `<Data Name="${f.name}">`]);
    tagCache.set(id, tags);
  }
  return tags;
}

/**
 * Render one event as single-line Event XML (no trailing newline). EventData holds every
 * schema field in schema order; a field missing from ev.data is written as "-".
 */
export function renderEventXml(ev: SysmonEvent, identity: Identity, opts: RenderOptions = {}): string {
  const dialect = opts.dialect ?? 'linux';
  const userId = opts.userId === undefined ? defaultUserId(dialect) : String(opts.userId);
  let out = renderHead(ev, identity, dialect, opts.execution ?? DEFAULT_EXECUTION, userId) + '<EventData>';
  const data = ev.data;
  for (const [name, open] of dataTags(ev.id)) out += `${open}${valueText(data[name])}</Data>`;
  return out + '</EventData></Event>';
}
