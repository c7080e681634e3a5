// Network family records (driver/linux/network.bpf.c): one per connection to report (event 3).
import { u64 } from '../../kernel/records/u64.js';
import { need, type Header } from '../../kernel/records/common.js';
import { ENUMS, STRUCTS } from '../../kernel/generated/events-h.js';
import { u16, u32 } from '../../kernel/records/le.js';
import { startTicksOf } from '../../events/guid.js';

export const NetworkRecordType = { Connect: ENUMS.record_type.RECORD_NET_CONNECT } as const;

export const NETWORK_LAYOUT = {
  net_record: STRUCTS.net_record.fields,
} as const;

export const NETWORK_SIZES = { net_record: STRUCTS.net_record.size } as const;

export const AF_INET = 2;
export const AF_INET6 = 10;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

export interface NetConnectRecord extends Header {
  type: 10;
  /** start_boottime of the owner's group leader in USER_HZ ticks (tells a reused pid apart; no BigInt) */
  ownerStartTicks: number;
  uid: number;
  family: number;
  protocol: number;
  /** this host's end started the connection (connect, first datagram sent) */
  initiated: boolean;
  localPort: number;
  remotePort: number;
  /**
   * The addresses: 4 bytes (AF_INET) or 16 (AF_INET6), network order, at localAddr[localAddrAt..]
   * and remoteAddr[remoteAddrAt..]. Decoded, both are the ring record itself (a view per address
   * was two Buffer objects per record: 3.5% of the main thread in a connect storm).
   */
  localAddr: Buffer;
  localAddrAt: number;
  remoteAddr: Buffer;
  remoteAddrAt: number;
}

export type NetworkRecord = NetConnectRecord;

const N = NETWORK_LAYOUT.net_record;

export const NETWORK_DECODERS = {
  [NetworkRecordType.Connect]: (rec: Buffer): NetConnectRecord => {
    need(rec, NETWORK_SIZES.net_record, 'net');
    const family = u16(rec, N.family[0]);
    return {
      type: 10,
      flags: u16(rec, 2),
      bootNs: u64(rec, 8),
      tgid: u32(rec, 16),
      tid: u32(rec, 20),
      ownerStartTicks: startTicksOf(u32(rec, N.owner_start_boot_ns[0]), u32(rec, N.owner_start_boot_ns[0] + 4)),
      uid: u32(rec, N.uid[0]),
      family,
      protocol: rec[N.protocol[0]]!,
      initiated: rec[N.initiated[0]]! !== 0,
      localPort: u16(rec, N.local_port[0]),
      remotePort: u16(rec, N.remote_port[0]),
      // the ring's bytes: read them before the batch is consumed (the handler does)
      localAddr: rec,
      localAddrAt: N.local_addr[0],
      remoteAddr: rec,
      remoteAddrAt: N.remote_addr[0],
    };
  },
};
