// Kernel network records -> Sysmon event 3 (NetworkConnect).
//
// Source/Destination follow the connection's direction, not this host's role: Source is the
// end that initiated it. Initiated true (this host connected or sent the first datagram):
// Source = local end, Destination = peer. Initiated false (accepted, or a datagram
// received first): Source = peer, Destination = local end.
// An AF_INET6 socket talking to an IPv4 peer through a v4-mapped address (::ffff:a.b.c.d)
// carries IPv4 on the wire: it is reported as IPv4 (IsIpv6 false, dotted address), so rules
// written for IPv4 addresses match it.
// PortName comes from /etc/services (what getnameinfo would say), '-' when unknown.
// Hostname is '-' unless the config's DnsLookup is true; then a reverse lookup through
// getnameinfo (as Sysmon's GetNameInfo), cached, bounded in time, done off the ring path.
import { readFileSync } from 'node:fs';
import { lookupService } from 'node:dns/promises';
import type { SysmonEvent } from '../../events/event.js';
import type { CaptureContext, HandlersFor } from '../descriptor.js';
import type { ProcessInfo } from '../../events/processes.js';
import { AF_INET6, IPPROTO_TCP, IPPROTO_UDP, type NetConnectRecord, type NETWORK_DECODERS } from './records.js';
import { NULL_GUID } from '../../events/guid.js';
import { actor } from '../../events/actor.js';
import { builder, type Built } from '../../events/build.js';
import { utcTime } from '../../events/time.js';

// ---- addresses ----------------------------------------------------------------------

// An address's text is cached by its bytes: a host talks to few addresses, and building the
// text (four number-to-string conversions and their concatenations for IPv4; groups, slices and
// joins for IPv6) and its Endpoint object were a quarter of what a NetworkConnect event
// allocated (bench/RESULTS.md, 2026-12-05 08:45). Direct-mapped, so a lookup is a few integer compares and the cache is
// bounded by construction: a colliding address replaces the slot's text.
const V4_SLOTS = 256;
const v4Keys = new Int32Array(V4_SLOTS);
const v4Texts: (string | undefined)[] = new Array<string | undefined>(V4_SLOTS).fill(undefined);
const V6_SLOTS = 64;
const v6Words = new Int32Array(4 * V6_SLOTS);
const v6Texts: (string | undefined)[] = new Array<string | undefined>(V6_SLOTS).fill(undefined);

/** the 4 bytes at b[at..] as one int32 (big-endian: the address's own order) */
function word(b: Buffer, at: number): number {
  return (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
}

function ipv4(b: Buffer, at = 0): string {
  const key = word(b, at);
  const slot = (key ^ (key >>> 8) ^ (key >>> 16) ^ (key >>> 24)) & (V4_SLOTS - 1);
  const cached = v4Texts[slot];
  if (cached !== undefined && v4Keys[slot] === key) return cached;
  const text = `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
  v4Keys[slot] = key;
  v4Texts[slot] = text;
  return text;
}

function ipv6(b: Buffer, at: number): string {
  const w0 = word(b, at);
  const w1 = word(b, at + 4);
  const w2 = word(b, at + 8);
  const w3 = word(b, at + 12);
  const h = w0 ^ w1 ^ w2 ^ w3;
  const slot = (h ^ (h >>> 8) ^ (h >>> 16) ^ (h >>> 24)) & (V6_SLOTS - 1);
  const cached = v6Texts[slot];
  const k = 4 * slot;
  if (cached !== undefined && v6Words[k] === w0 && v6Words[k + 1] === w1 && v6Words[k + 2] === w2 && v6Words[k + 3] === w3) return cached;
  const text = formatIpv6(b, at);
  v6Words[k] = w0;
  v6Words[k + 1] = w1;
  v6Words[k + 2] = w2;
  v6Words[k + 3] = w3;
  v6Texts[slot] = text;
  return text;
}

/** RFC 5952 text of the 16 bytes at b[at..]: lower case, longest run (>= 2) of zero groups as '::'. */
export function formatIpv6(b: Buffer, at = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push(b.readUInt16BE(at + i));
  let best = -1,
    bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** an AF_INET6 address of the form ::ffff:a.b.c.d (IPv4 on the wire) */
function isV4Mapped(addr: Buffer, at: number): boolean {
  if (addr[at + 10] !== 0xff || addr[at + 11] !== 0xff) return false;
  for (let i = 0; i < 10; i++) if (addr[at + i] !== 0) return false;
  return true;
}

/** whether Sysmon reports the address at addr[at..] as IPv6 (v4-mapped addresses are IPv4) */
export function reportedAsIpv6(family: number, addr: Buffer, at = 0): boolean {
  return family === AF_INET6 && !isV4Mapped(addr, at);
}

/** The address at addr[at..] as Sysmon prints it; v4-mapped IPv6 addresses become IPv4. */
export function ipText(family: number, addr: Buffer, at = 0): string {
  if (family !== AF_INET6) return ipv4(addr, at);
  return isV4Mapped(addr, at) ? ipv4(addr, at + 12) : ipv6(addr, at);
}

// ---- port names (/etc/services) ------------------------------------------------------

export class PortNames {
  private readonly names = new Map<string, string>();

  constructor(path = '/etc/services') {
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return; // no services database: every name is '-'
    }
    for (const raw of text.split('\n')) {
      const line = raw.replace(/#.*/, '').trim();
      if (!line) continue;
      const [name, portProto] = line.split(/\s+/);
      if (!name || !portProto) continue;
      const m = /^(\d+)\/(\w+)$/.exec(portProto);
      if (!m) continue;
      const key = `${Number(m[1])}/${m[2]!.toLowerCase()}`;
      if (!this.names.has(key)) this.names.set(key, name); // the first entry is the official name
    }
  }

  name(port: number, protocol: string): string {
    return this.names.get(`${port}/${protocol}`) ?? '-';
  }
}

// ---- reverse DNS (only with DnsLookup) ------------------------------------------------

const DNS_TIMEOUT_MS = 1000;
const DNS_TTL_MS = 5 * 60_000;
const DNS_CACHE_MAX = 4096;

/** getnameinfo results per address, cached (names and failures alike) and bounded in time. */
export class ReverseDns {
  private readonly cache = new Map<string, { name: string | Promise<string>; at: number }>();

  constructor(
    private readonly timeoutMs = DNS_TIMEOUT_MS,
    private readonly ttlMs = DNS_TTL_MS,
  ) {}

  /** The cached name, or a promise that settles (never rejects) within the timeout. */
  lookup(ip: string, now = Date.now()): string | Promise<string> {
    const hit = this.cache.get(ip);
    if (hit && now - hit.at < this.ttlMs) return hit.name;
    if (this.cache.size >= DNS_CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    const p = resolveName(ip, this.timeoutMs).then((name) => {
      this.cache.set(ip, { name, at: Date.now() });
      return name;
    });
    this.cache.set(ip, { name: p, at: now });
    return p;
  }
}

function resolveName(ip: string, timeoutMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((r) => {
    timer = setTimeout(() => r('-'), timeoutMs);
  });
  const query = lookupService(ip, 0).then(
    (r) => (r.hostname && r.hostname !== ip ? r.hostname : '-'),
    () => '-',
  );
  return Promise.race([query, timeout]).finally(() => clearTimeout(timer));
}

// ---- options ---------------------------------------------------------------------------

export interface NetworkOptions {
  /** the config's DnsLookup: fill Source/DestinationHostname by reverse lookup */
  dnsLookup: boolean;
  /**
   * Source/DestinationPortName from /etc/services: Windows Sysmon's way (--windows). Sysmon for
   * Linux always writes '-' (its resolver caches are never filled), and so do we by default.
   */
  portNames: boolean;
}

const state = {
  options: { dnsLookup: false, portNames: false } as NetworkOptions,
  ports: null as PortNames | null,
  dns: new ReverseDns(),
};

/**
 * Applies the config's options to event 3. Sysmon for Linux never looks names up; here a
 * config must ask for it with <DnsLookup>true</DnsLookup> (unset or false: '-').
 */
export function setNetworkOptions(opts: { dnsLookup: boolean | null }, provider: 'linux' | 'windows' = 'linux'): void {
  state.options = { dnsLookup: opts.dnsLookup === true, portNames: provider === 'windows' };
}

function portNames(): PortNames {
  return (state.ports ??= new PortNames());
}

// ---- the event ------------------------------------------------------------------------

/** The owning process: the table's entry when it is the same process (not a reused pid). */
function ownerOf(rec: NetConnectRecord, ctx: CaptureContext): ProcessInfo | undefined {
  const ticks = rec.ownerStartTicks;
  const known = ctx.processes.get(rec.tgid);
  if (known && known.ticks === ticks) return known;
  const fresh = ctx.processes.readProc(rec.tgid);
  if (fresh && fresh.ticks === ticks) return fresh;
  return undefined;
}

const build3 = builder(3);

export function networkConnect(
  rec: NetConnectRecord,
  proc: ProcessInfo | undefined,
  timeNs: bigint,
  ports: PortNames | null = state.options.portNames ? portNames() : null,
): Built<3> {
  const protocol = rec.protocol === IPPROTO_TCP ? 'tcp' : rec.protocol === IPPROTO_UDP ? 'udp' : String(rec.protocol);
  const family = rec.family;
  const out = rec.initiated;
  // Source is the end that started the connection: this host's when it did
  const srcAddr = out ? rec.localAddr : rec.remoteAddr;
  const srcAt = out ? rec.localAddrAt : rec.remoteAddrAt;
  const srcPort = out ? rec.localPort : rec.remotePort;
  const dstAddr = out ? rec.remoteAddr : rec.localAddr;
  const dstAt = out ? rec.remoteAddrAt : rec.localAddrAt;
  const dstPort = out ? rec.remotePort : rec.localPort;
  return build3(timeNs, actor(proc, rec.tgid, NULL_GUID, rec.uid), {
    UtcTime: utcTime(timeNs),
    Protocol: protocol,
    Initiated: out,
    SourceIsIpv6: reportedAsIpv6(family, srcAddr, srcAt),
    SourceIp: ipText(family, srcAddr, srcAt),
    SourceHostname: '-',
    SourcePort: srcPort,
    SourcePortName: ports ? ports.name(srcPort, protocol) : '-',
    DestinationIsIpv6: reportedAsIpv6(family, dstAddr, dstAt),
    DestinationIp: ipText(family, dstAddr, dstAt),
    DestinationHostname: '-',
    DestinationPort: dstPort,
    DestinationPortName: ports ? ports.name(dstPort, protocol) : '-',
  });
}

/** Fills the Hostname fields: at once from the cache, else by holding the batch (bounded). */
function fillHostnames(ev: SysmonEvent, ctx: CaptureContext): void {
  const d = ev.data as Record<string, string | number | boolean>;
  const pending: Promise<unknown>[] = [];
  for (const [ipField, nameField] of [
    ['SourceIp', 'SourceHostname'],
    ['DestinationIp', 'DestinationHostname'],
  ] as const) {
    const name = state.dns.lookup(String(d[ipField]));
    if (typeof name === 'string') d[nameField] = name;
    else
      pending.push(
        name.then((n) => {
          d[nameField] = n;
        }),
      );
  }
  if (pending.length) ctx.defer(Promise.all(pending));
}

export const NETWORK_HANDLERS: HandlersFor<typeof NETWORK_DECODERS> = {
  10: (r, ctx, out) => {
    const ev = networkConnect(r, ownerOf(r, ctx), ctx.timeNs(r.bootNs));
    if (state.options.dnsLookup) fillHostnames(ev, ctx);
    out.push(ev);
  },
};
