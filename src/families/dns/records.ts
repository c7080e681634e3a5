// DNS family records (driver/linux/dns.bpf.c): Sysmon event 22 (DnsQuery).
//  60 WIRE: the raw DNS response a process received for a query it sent to port 53.
//  61 LIBC: getaddrinfo / gethostbyname(2) returned: name, status, addresses, canonical name.
import { u64 } from '../../kernel/records/u64.js';
import { need, slice, type Header } from '../../kernel/records/common.js';
import { decodeBytes } from '../../kernel/text.js';
import { ENUMS, DEFINES, STRUCTS } from '../../kernel/generated/events-h.js';

export const DnsRecordType = { Wire: ENUMS.record_type.RECORD_DNS_WIRE, Libc: ENUMS.record_type.RECORD_DNS_LIBC } as const;

export const DnsSource = {
  Udp: DEFINES.DNS_SRC_UDP,
  Tcp: DEFINES.DNS_SRC_TCP,
  Getaddrinfo: DEFINES.DNS_SRC_GETADDRINFO,
  Gethostbyname: DEFINES.DNS_SRC_GETHOSTBYNAME,
} as const;

export const DNS_LAYOUT = {
  dns_record: STRUCTS.dns_record.fields,
  dns_addr: STRUCTS.dns_addr.fields,
} as const;

export const DNS_SIZES = { dns_record: STRUCTS.dns_record.size, dns_addr: STRUCTS.dns_addr.size } as const;

/** record_header.flags: the payload or the address list was cut */
export const RECORD_FLAG_DNS_TRUNCATED = DEFINES.RECORD_FLAG_DNS_TRUNCATED;

interface DnsCommon extends Header {
  ownerStartBootNs: bigint;
  uid: number;
  source: number;
}

export interface DnsWireRecord extends DnsCommon {
  type: 60;
  /** AF_INET/AF_INET6 of serverAddr */
  family: number;
  serverPort: number;
  /** 4 or 16 bytes, network order (copied) */
  serverAddr: Buffer;
  /** the DNS message (copied out of the ring) */
  message: Buffer;
}

export interface DnsLibcRecord extends DnsCommon {
  type: 61;
  name: string;
  /** getaddrinfo's return (0 or EAI_*), gethostbyname: 0 or -1 */
  status: number;
  addrs: { family: number; addr: Buffer }[];
  canon: string;
}

export type DnsRecord = DnsWireRecord | DnsLibcRecord;

const R = DNS_LAYOUT.dns_record;

function common(rec: Buffer): DnsCommon {
  return {
    flags: rec.readUInt16LE(2),
    bootNs: u64(rec, 8),
    tgid: rec.readUInt32LE(16),
    tid: rec.readUInt32LE(20),
    ownerStartBootNs: u64(rec, R.owner_start_boot_ns[0]),
    uid: rec.readUInt32LE(R.uid[0]),
    source: rec.readUInt16LE(R.source[0]),
  };
}

export const DNS_DECODERS = {
  [DnsRecordType.Wire]: (rec: Buffer): DnsWireRecord => {
    need(rec, DNS_SIZES.dns_record, 'dns');
    const family = rec.readUInt16LE(R.family[0]);
    const alen = family === 10 ? 16 : 4;
    return {
      type: 60,
      ...common(rec),
      family,
      serverPort: rec.readUInt16LE(R.server_port[0]),
      serverAddr: Buffer.from(rec.subarray(R.server_addr[0], R.server_addr[0] + alen)),
      message: Buffer.from(slice(rec, R.payload[0], 'dns payload')),
    };
  },
  [DnsRecordType.Libc]: (rec: Buffer): DnsLibcRecord => {
    need(rec, DNS_SIZES.dns_record, 'dns');
    const area = slice(rec, R.payload[0], 'dns addresses');
    const addrs: DnsLibcRecord['addrs'] = [];
    const A = DNS_LAYOUT.dns_addr;
    for (let at = 0; at + DNS_SIZES.dns_addr <= area.length; at += DNS_SIZES.dns_addr) {
      const family = area.readUInt16LE(at + A.family[0]);
      const len = family === 10 ? 16 : 4;
      addrs.push({ family, addr: Buffer.from(area.subarray(at + A.addr[0], at + A.addr[0] + len)) });
    }
    return {
      type: 61,
      ...common(rec),
      name: decodeBytes(slice(rec, R.name[0], 'dns name')),
      status: rec.readInt32LE(R.status[0]),
      addrs,
      canon: decodeBytes(slice(rec, R.canon[0], 'dns canonical name')),
    };
  },
};
