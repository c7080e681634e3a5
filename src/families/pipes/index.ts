// The pipes family (driver/linux/pipes.bpf.c): FIFOs created and opened -> Sysmon 17 and 18
// (PipeEvent), Linux's named pipes standing for Windows'.
import { linuxFamily } from '../descriptor.js';
import { PIPES_HANDLERS } from './events.js';
import { PIPES_DECODERS } from './records.js';

export const family = linuxFamily({
  name: 'pipes',
  platform: 'linux',
  objects: ['pipes.bpf.o'],
  programs: {
    pipe_e_mknod: [17],
    pipe_x_mknod: [17],
    pipe_e_mknodat: [17],
    pipe_x_mknodat: [17],
    pipe_x_open: [18],
    pipe_x_openat: [18],
    pipe_x_openat2: [18],
  },
  structs: ['pipe_record'],
  decoders: PIPES_DECODERS,
  handlers: PIPES_HANDLERS,
});
