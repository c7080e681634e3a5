// The file family (driver/linux/file.bpf.c): file create (11), delete (23/26), raw block
// device read (9), creation time changed (2); the in-kernel filter of its records lives in
// driver/linux/filter.bpf.h and src/config/kernel-filter.
import { linuxFamily } from '../descriptor.js';
import { FILE_HANDLERS } from './events.js';
import { FILE_DECODERS } from './records.js';

const CREATE_BY_NAME = ['rename', 'renameat', 'renameat2', 'link', 'linkat', 'mknod', 'mknodat'];

export const family = linuxFamily({
  name: 'file',
  platform: 'linux',
  objects: ['file.bpf.o'],
  programs: Object.fromEntries([
    ...['open', 'openat', 'openat2', 'creat'].map((s) => [`file_create_x_${s}`, [11]]),
    ...CREATE_BY_NAME.flatMap((s) => [
      [`file_create_e_${s}`, [11]],
      [`file_create_x_${s}`, [11]],
    ]),
    ...['open', 'openat', 'openat2'].map((s) => [`file_raw_x_${s}`, [9]]),
    ...['unlink', 'unlinkat', 'rmdir'].map((s) => [`file_delete_x_${s}`, [23, 26]]),
    ['file_delete_ext4_unlink', [23, 26]],
    ...['utimensat', 'utimes', 'futimesat', 'utime'].flatMap((s) => [
      [`file_time_e_${s}`, [2]],
      [`file_time_x_${s}`, [2]],
    ]),
  ]) as Record<string, readonly number[]>,
  structs: ['file_record', 'kf_head', 'kf_table'],
  decoders: FILE_DECODERS,
  handlers: FILE_HANDLERS,
});
