// The DNS family (driver/linux/dns.bpf.c): libc lookups (uprobes on getaddrinfo and
// gethostbyname) and DNS responses read from port 53 -> Sysmon 22 (DnsQuery).
import { linuxFamily } from '../descriptor.js';
import { DNS_HANDLERS } from './events.js';
import { DNS_DECODERS } from './records.js';

export const family = linuxFamily({
  name: 'dns',
  platform: 'linux',
  objects: ['dns.bpf.o'],
  programs: Object.fromEntries(
    [
      'dns_gai_enter',
      'dns_gai_exit',
      'dns_ghbn_enter',
      'dns_ghbn_exit',
      'dns_ghbn2_enter',
      'dns_ghbn2_exit',
      'dns_udp_send',
      'dns_x_recvfrom',
      'dns_x_recvmsg',
      'dns_x_recvmmsg',
      'dns_x_read',
    ].map((p) => [p, [22]]),
  ),
  structs: ['dns_record', 'dns_addr'],
  decoders: DNS_DECODERS,
  handlers: DNS_HANDLERS,
});
