// The image family (driver/linux/image.bpf.c): executable file mappings -> Sysmon 7
// (ImageLoad), and cgroup migrations, which feed the container context of every event.
import { ALWAYS, linuxFamily } from '../descriptor.js';
import { IMAGE_HANDLERS } from './events.js';
import { IMAGE_DECODERS } from './records.js';

export const family = linuxFamily({
  name: 'image',
  platform: 'linux',
  objects: ['image.bpf.o'],
  programs: {
    image_e_mmap: [7],
    image_x_mmap: [7],
    image_e_mprotect: [7],
    image_x_mprotect: [7],
    // fires only when a process changes cgroup; the container context needs every one
    container_attach: ALWAYS,
  },
  structs: ['image_record', 'cgroup_record'],
  decoders: IMAGE_DECODERS,
  handlers: IMAGE_HANDLERS,
});
