// Kernel DNS records -> Sysmon event 22 (DnsQuery).
//
// Two captures (driver/linux/dns.bpf.c), one event per lookup:
//  - libc (record 61): getaddrinfo, gethostbyname, gethostbyname2 in the libc processes
//    load. QueryName is the name exactly as the program passed it. Calls with a numeric
//    address (getaddrinfo("10.0.0.1")) are not lookups and give no event.
//  - wire (record 60): the DNS response a process received from port 53 for a query it
//    sent there itself (dig, nslookup, c-ares/Node's dns.Resolver, Go). Parsed here:
//    QueryName from the question section (no trailing dot), results from the answers.
//  Queries a thread sends from inside getaddrinfo are dropped in the kernel, so a libc
//  lookup that goes to a DNS server is one event (the libc one), not one per A/AAAA query.
//
// QueryStatus: Windows' codes, so rules written for Windows Sysmon keep working:
//   "0"      success with at least one answer
//   "9501"   DNS_INFO_NO_RECORDS: NOERROR but no answer (wire), EAI_NODATA (libc)
//   "9000+rcode" DNS_ERROR_RCODE_*: 9001 FORMERR, 9002 SERVFAIL, 9003 NXDOMAIN (name error),
//            9004 NOTIMP, 9005 REFUSED, ... (wire); EAI_NONAME -> 9003, EAI_FAIL -> 9002 (libc)
//   "1460"   ERROR_TIMEOUT: EAI_AGAIN (libc: no server answered in time)
//   other getaddrinfo failures: the EAI_* value itself, e.g. "-11" (EAI_SYSTEM);
//   gethostbyname/gethostbyname2 returning NULL: "9003" (h_errno is thread-local and not
//   read; HOST_NOT_FOUND is the usual cause).
// QueryResults: as Windows Sysmon writes them, each item followed by ';':
//   CNAME (and NS, PTR, MX, SRV targets) "type:  5 target.example;", A "::ffff:1.2.3.4;",
//   AAAA "2001:db8::1;". libc: the canonical name (h_name, ai_canonname) when it differs
//   from the query as "type:  5 name;", then every distinct address. "-" when empty.
import { isIP } from 'node:net';
import type { CaptureContext, HandlersFor } from '../descriptor.js';
import type { ProcessInfo } from '../../events/processes.js';
import type { DNS_DECODERS, DnsLibcRecord } from './records.js';
import { NULL_GUID, startTicks } from '../../events/guid.js';
import { actor } from '../../events/actor.js';
import { builder, type Built } from '../../events/build.js';
import { utcTime } from '../../events/time.js';
import { formatIpv6 } from '../network/events.js';

const AF_INET6 = 10;

// ---- DNS messages ----------------------------------------------------------------------

export interface DnsAnswer {
  type: number;
  value: string;
}

export interface DnsMessage {
  id: number;
  response: boolean;
  rcode: number;
  qname: string;
  qtype: number;
  answers: DnsAnswer[];
}

/** A domain name at `at` (compression pointers followed, bounded); returns name and end. */
function readName(msg: Buffer, at: number): { name: string; end: number } {
  const labels: string[] = [];
  let end = -1;
  for (let hops = 0; hops < 64; hops++) {
    if (at >= msg.length) throw new RangeError('name past the end');
    const len = msg[at]!;
    if (len === 0) {
      if (end < 0) end = at + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (at + 1 >= msg.length) throw new RangeError('pointer past the end');
      if (end < 0) end = at + 2;
      at = ((len & 0x3f) << 8) | msg[at + 1]!;
      continue;
    }
    if (len > 63 || at + 1 + len > msg.length) throw new RangeError('bad label');
    labels.push(msg.toString('latin1', at + 1, at + 1 + len));
    at += 1 + len;
  }
  if (end < 0) throw new RangeError('name loop');
  return { name: labels.join('.'), end };
}

/**
 * Parses a DNS message: header, the first question, and as many answers as fit (a message
 * cut at DNS_MAX_PAYLOAD keeps the answers before the cut). Throws on a broken header or
 * question only.
 */
export function parseDnsMessage(msg: Buffer): DnsMessage {
  if (msg.length < 12) throw new RangeError('shorter than a DNS header');
  const flags = msg.readUInt16BE(2);
  const qd = msg.readUInt16BE(4);
  const an = msg.readUInt16BE(6);
  let qname = '',
    qtype = 0,
    at = 12;
  if (qd > 0) {
    const q = readName(msg, at);
    qname = q.name;
    if (q.end + 4 > msg.length) throw new RangeError('question cut');
    qtype = msg.readUInt16BE(q.end);
    at = q.end + 4;
    for (let i = 1; i < qd; i++) at = readName(msg, at).end + 4;
  }
  const answers: DnsAnswer[] = [];
  try {
    for (let i = 0; i < an; i++) {
      const rr = readName(msg, at);
      if (rr.end + 10 > msg.length) break;
      const type = msg.readUInt16BE(rr.end);
      const rdlen = msg.readUInt16BE(rr.end + 8);
      const rd = rr.end + 10;
      if (rd + rdlen > msg.length) break;
      if (type === 1 && rdlen === 4) answers.push({ type, value: `::ffff:${msg[rd]}.${msg[rd + 1]}.${msg[rd + 2]}.${msg[rd + 3]}` });
      else if (type === 28 && rdlen === 16) answers.push({ type, value: formatIpv6(msg.subarray(rd, rd + 16)) });
      else if (type === 5 || type === 2 || type === 12) answers.push({ type, value: readName(msg, rd).name });
      else if (type === 15 && rdlen > 2) answers.push({ type, value: readName(msg, rd + 2).name });
      else if (type === 33 && rdlen > 6) answers.push({ type, value: readName(msg, rd + 6).name });
      at = rd + rdlen;
    }
  } catch {
    // a malformed or cut answer: keep the ones before it
  }
  return { id: msg.readUInt16BE(0), response: (flags & 0x8000) !== 0, rcode: flags & 0xf, qname, qtype, answers };
}

/** Sysmon's QueryResults text for a list of answers. */
export function formatResults(answers: readonly DnsAnswer[]): string {
  if (answers.length === 0) return '-';
  return answers.map((a) => (a.type === 1 || a.type === 28 ? `${a.value};` : `type:  ${a.type} ${a.value};`)).join('');
}

/** QueryStatus of a DNS response. */
export function wireStatus(m: DnsMessage): string {
  if (m.rcode !== 0) return String(9000 + m.rcode);
  return m.answers.length === 0 ? '9501' : '0';
}

const EAI = { NONAME: -2, AGAIN: -3, FAIL: -4, NODATA: -5 };

/** QueryStatus of a libc call (getaddrinfo's return; gethostbyname: 0 or -1 for NULL). */
export function libcStatus(source: number, status: number): string {
  if (status === 0) return '0';
  if (source !== 3) return '9003';
  switch (status) {
    case EAI.NONAME:
      return '9003';
    case EAI.NODATA:
      return '9501';
    case EAI.AGAIN:
      return '1460';
    case EAI.FAIL:
      return '9002';
    default:
      return String(status);
  }
}

export function libcResults(rec: Pick<DnsLibcRecord, 'name' | 'canon' | 'addrs'>): string {
  const answers: DnsAnswer[] = [];
  if (rec.canon && rec.canon.toLowerCase() !== rec.name.toLowerCase().replace(/\.$/, '')) {
    answers.push({ type: 5, value: rec.canon });
  }
  const seen = new Set<string>();
  for (const a of rec.addrs) {
    const value = a.family === AF_INET6 ? formatIpv6(a.addr) : `::ffff:${a.addr[0]}.${a.addr[1]}.${a.addr[2]}.${a.addr[3]}`;
    if (seen.has(value)) continue;
    seen.add(value);
    answers.push({ type: a.family === AF_INET6 ? 28 : 1, value });
  }
  return formatResults(answers);
}

// ---- the event --------------------------------------------------------------------------

function ownerOf(rec: { tgid: number; ownerStartBootNs: bigint }, ctx: CaptureContext): ProcessInfo | undefined {
  const ticks = startTicks(rec.ownerStartBootNs);
  const known = ctx.processes.get(rec.tgid);
  if (known && known.ticks === ticks) return known;
  const fresh = ctx.processes.readProc(rec.tgid);
  if (fresh && fresh.ticks === ticks) return fresh;
  return undefined;
}

const build22 = builder(22);

export function dnsQuery(
  rec: { tgid: number; uid: number },
  proc: ProcessInfo | undefined,
  timeNs: bigint,
  name: string,
  status: string,
  results: string,
): Built<22> {
  return build22(timeNs, actor(proc, rec.tgid, NULL_GUID, rec.uid), {
    UtcTime: utcTime(timeNs),
    QueryName: name,
    QueryStatus: status,
    QueryResults: results,
  });
}

export const DNS_HANDLERS: HandlersFor<typeof DNS_DECODERS> = {
  60: (r, ctx, out) => {
    let m: DnsMessage;
    try {
      m = parseDnsMessage(r.message);
    } catch {
      return; // the kernel matched id and port, but this is not a DNS response we can read
    }
    if (!m.response || !m.qname) return;
    out.push(dnsQuery(r, ownerOf(r, ctx), ctx.timeNs(r.bootNs), m.qname, wireStatus(m), formatResults(m.answers)));
  },
  61: (r, ctx, out) => {
    if (!r.name || isIP(r.name) !== 0) return; // a numeric address: no lookup happened
    out.push(dnsQuery(r, ownerOf(r, ctx), ctx.timeNs(r.bootNs), r.name, libcStatus(r.source, r.status), libcResults(r)));
  },
};
