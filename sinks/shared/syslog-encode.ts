// Syslog encoder: payload (Event XML or JSON) + header (RFC 5424 or RFC 3164) + size policy.
//
// Size policy: when header + payload exceed maxMessageSize, the longest string fields of
// EventData are shortened (at a character boundary, before escaping, so XML/JSON stay
// well-formed) and end with the marker "...[truncated N bytes]" (N = UTF-8 bytes removed),
// longest field first, until the message fits. The event stays parseable; nothing is cut
// mid-character or mid-element.
import type { FieldValue, SysmonEvent } from '../../src/events/event.js';
import { encodeJsonl } from './jsonl-encode.js';
import { renderEventXml } from './xml-render.js';
import type { ResolvedSyslogOptions } from './syslog-config.js';
import { utf8Prefix } from '../../src/kernel/text.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function p2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** RFC 5424 TIMESTAMP: UTC, microseconds (the most the RFC allows). */
export function rfc5424Time(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const us = Number((ns / 1000n) % 1_000_000n);
  return `${new Date(ms).toISOString().slice(0, 19)}.${String(us).padStart(6, '0')}Z`;
}

/** RFC 3164 TIMESTAMP: "Mmm dd hh:mm:ss" in local time, as syslog(3) writes it. */
export function rfc3164Time(ns: bigint): string {
  const d = new Date(Number(ns / 1_000_000n));
  return `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
}

/** printable US-ASCII without spaces, as RFC 5424 requires for HOSTNAME/APP-NAME */
function token(s: string, max: number): string {
  const t = s.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return t === '' ? '-' : t;
}

export class SyslogEncoder {
  private readonly host5424: string;
  private readonly app5424: string;
  private readonly host3164: string;
  private readonly tag3164: string;
  private readonly execution: { pid: number; tid: number };

  constructor(
    private readonly o: ResolvedSyslogOptions,
    private readonly localForm: boolean,
  ) {
    this.host5424 = token(o.hostname, 255);
    this.app5424 = token(o.appName, 48);
    this.host3164 = token(o.hostname, 255);
    this.tag3164 = token(o.appName, 32).replace(/[[\]:]/g, '_');
    this.execution = { pid: process.pid, tid: process.pid };
  }

  pri(ev: SysmonEvent): number {
    // Sysmon for Linux: syslog(LOG_USER|LOG_INFO, ...) for every event, errors included
    const sev = this.o.severity ?? (ev.id === 255 && this.o.errorsAsErr ? 3 : 6);
    return this.o.facilityCode * 8 + sev;
  }

  header(ev: SysmonEvent): string {
    if (this.o.framing === 'rfc5424') {
      return `<${this.pri(ev)}>1 ${rfc5424Time(ev.timeNs)} ${this.host5424} ${this.app5424} ${this.o.procId} - - `;
    }
    // glibc's /dev/log form has no HOSTNAME; over the network the relay needs it. The TAG has no
    // [PID]: Sysmon for Linux's openlog has no LOG_PID, and parsers (Wazuh's `\S+\ssysmon:\s`)
    // expect `sysmon: `
    const host = this.localForm ? '' : `${this.host3164} `;
    return `<${this.pri(ev)}>${rfc3164Time(ev.timeNs)} ${host}${this.tag3164}: `;
  }

  payload(ev: SysmonEvent): string {
    if (this.o.format === 'json') {
      const line = encodeJsonl(ev, this.o.identity);
      return line.slice(0, -1); // no trailing \n: syslog frames the message
    }
    return renderEventXml(ev, this.o.identity, { dialect: this.o.dialect, execution: this.execution, userId: this.o.userId });
  }

  /** The whole syslog message (without transport framing), within maxMessageSize. */
  encode(ev: SysmonEvent): { message: Buffer; truncated: boolean } {
    const header = this.header(ev);
    const limit = this.o.maxMessageSize;
    const first = Buffer.from(header + this.payload(ev), 'utf8');
    if (limit === 0 || first.length <= limit) return { message: first, truncated: false };
    return { message: this.shrink(ev, header, first.length, limit), truncated: true };
  }

  private shrink(ev: SysmonEvent, header: string, _size: number, limit: number): Buffer {
    // string fields and their UTF-8 sizes
    const fields: { name: string; value: string; len: number }[] = [];
    for (const [name, v] of Object.entries(ev.data)) {
      if (typeof v === 'string') fields.push({ name, value: v, len: Buffer.byteLength(v, 'utf8') });
    }
    const markerCost = MARK_OPEN.length + MARK_CLOSE.length + 8;
    // Every string longer than `cap` bytes keeps its first `cap` bytes plus the marker: long
    // fields share the room that is left ("water-filling"). The largest cap that fits is
    // found by binary search on the real encoding, so escaping (which can grow a value 6x) is
    // accounted for exactly. ~log2(longest field) renders, only for oversized events.
    const build = (cap: number): Buffer => {
      const data: Record<string, FieldValue> = { ...ev.data };
      for (const f of fields) {
        if (f.len <= cap + markerCost) continue;
        const kept = cutUtf8(f.value, cap);
        data[f.name] = `${kept}${MARK_OPEN}${f.len - Buffer.byteLength(kept, 'utf8')}${MARK_CLOSE}`;
      }
      return Buffer.from(header + this.payload({ ...ev, data }), 'utf8');
    };
    let lo = 0;
    let hi = fields.reduce((m, f) => Math.max(m, f.len), 0);
    let best = build(0);
    if (best.length > limit) {
      // only when the fixed parts alone exceed the limit (>= 1024 makes this unreachable for
      // schema events): cut at a character boundary
      return Buffer.from(cutUtf8(best.toString('utf8'), limit), 'utf8');
    }
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      const m = build(mid);
      if (m.length <= limit) {
        lo = mid;
        best = m;
      } else hi = mid - 1;
    }
    return best;
  }
}

const MARK_OPEN = '...[truncated ';
const MARK_CLOSE = ' bytes]';

/** Longest prefix of s whose UTF-8 encoding fits in maxBytes, never splitting a pair. */
export const cutUtf8 = utf8Prefix;
