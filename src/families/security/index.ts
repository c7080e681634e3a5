// The security family (driver/linux/security.bpf.c): cross-process access (10), code injection
// (8), kernel module loads (6), eBPF program loads (100), process tampering (25).
import { linuxFamily } from '../descriptor.js';
import { SECURITY_HANDLERS } from './events.js';
import { SECURITY_DECODERS } from './records.js';

export const family = linuxFamily({
  name: 'security',
  platform: 'linux',
  objects: ['security.bpf.o'],
  programs: {
    // per-syscall tracepoints, attached only for the events that need their syscall
    security_e_ptrace: [8, 10],
    security_x_ptrace: [8, 10],
    security_e_process_vm_readv: [10],
    security_x_process_vm_readv: [10],
    security_e_process_vm_writev: [10],
    security_x_process_vm_writev: [10],
    security_x_open: [10],
    security_x_openat: [10],
    security_x_openat2: [10],
    security_x_bpf: [100],
    // tp_btf sys_enter/sys_exit (every syscall): module loads only
    security_sys_enter: [6],
    security_sys_exit: [6],
    tamper_exec: [25],
    tamper_exit: [25],
  },
  structs: ['target_ids', 'access_record', 'inject_record', 'bpf_load_record', 'module_record', 'tamper_record'],
  decoders: SECURITY_DECODERS,
  handlers: SECURITY_HANDLERS,
});
