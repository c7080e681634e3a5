// The process family: exec, fork and exit (driver/linux/process.bpf.c) -> Sysmon 1 and 5, and
// the process table every other family names its processes by. Required: its object creates
// the ring and the maps every object shares.
import { ALWAYS, linuxFamily } from '../descriptor.js';
import { PROCESS_HANDLERS } from './events.js';
import { PROCESS_DECODERS } from './records.js';

export const family = linuxFamily({
  name: 'process',
  platform: 'linux',
  required: true,
  objects: ['process.bpf.o'],
  programs: { process_exec: ALWAYS, process_fork: ALWAYS, process_exit: ALWAYS },
  structs: ['record_header', 'str_ref', 'process_ids', 'exec_record', 'fork_record', 'exit_record', 'pv_verdict', 'pv_path_key', 'pv_by_image'],
  decoders: PROCESS_DECODERS,
  handlers: PROCESS_HANDLERS,
});
