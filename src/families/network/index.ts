// The network family (driver/linux/network.bpf.c): one record per connection -> Sysmon 3.
import { linuxFamily } from '../descriptor.js';
import { NETWORK_HANDLERS } from './events.js';
import { NETWORK_DECODERS } from './records.js';

export const family = linuxFamily({
  name: 'network',
  platform: 'linux',
  objects: ['network.bpf.o'],
  programs: {
    net_tcp_state: [3],
    net_udp_send: [3],
    net_x_accept: [3],
    net_x_accept4: [3],
    net_x_recvfrom: [3],
    net_x_recvmsg: [3],
    net_x_recvmmsg: [3],
  },
  structs: ['ip_addr16', 'net_record'],
  decoders: NETWORK_DECODERS,
  handlers: NETWORK_HANDLERS,
});
