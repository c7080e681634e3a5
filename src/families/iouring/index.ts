// The io_uring family (driver/linux/iouring.bpf.c): files created, deleted, renamed and linked
// through io_uring requests -> Sysmon 11 and 23/26, normalized by the file family.
import { linuxFamily } from '../descriptor.js';
import { IOURING_HANDLERS } from './events.js';
import { IOURING_DECODERS } from './records.js';

export const family = linuxFamily({
  name: 'iouring',
  platform: 'linux',
  objects: ['iouring.bpf.o'],
  programs: {
    iouring_create_complete: [11],
    iouring_names_submit: [11, 23, 26],
    iouring_names_complete: [11, 23, 26],
  },
  structs: ['iouring_file_record', 'iouring_name_record', 'iouring_result_record'],
  decoders: IOURING_DECODERS,
  handlers: IOURING_HANDLERS,
});
