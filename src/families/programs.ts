// Which Sysmon events each BPF program exists for. A program listed here is attached only
// while the active config can log one of its events (an event with no rules and default
// off costs nothing in the kernel); ALWAYS_ATTACHED lists the ones the process state needs.
// Each family adds its programs here.
import { FILE_PROGRAM_EVENTS } from './file/records.js';
import { DNS_PROGRAM_EVENTS } from './dns/records.js';
import { IMAGE_PROGRAM_EVENTS } from './image/records.js';
export const PROGRAM_EVENTS: Record<string, readonly number[]> = {
  // security.bpf.c (src/families/security/events.ts)
  // per-syscall tracepoints, attached only for the events that need their syscall
  security_e_ptrace: [8, 10], security_x_ptrace: [8, 10],
  security_e_process_vm_readv: [10], security_x_process_vm_readv: [10],
  security_e_process_vm_writev: [10], security_x_process_vm_writev: [10],
  security_x_open: [10], security_x_openat: [10], security_x_openat2: [10],
  security_x_bpf: [100],
  // tp_btf sys_enter/sys_exit (every syscall): module loads only
  security_sys_enter: [6], security_sys_exit: [6],
  tamper_exec: [25], tamper_exit: [25],
  ...FILE_PROGRAM_EVENTS,
  ...IMAGE_PROGRAM_EVENTS,
  // network.bpf.c (src/families/network/events.ts)
  net_tcp_state: [3], net_udp_send: [3],
  net_x_accept: [3], net_x_accept4: [3], net_x_recvfrom: [3], net_x_recvmsg: [3], net_x_recvmmsg: [3],
  ...DNS_PROGRAM_EVENTS, // dns.bpf.c (src/families/dns/events.ts)
  // iouring.bpf.c (src/families/iouring/events.ts)
  iouring_create_complete: [11],
  iouring_names_submit: [11, 23, 26], iouring_names_complete: [11, 23, 26],
};

/** Programs attached whatever the config logs: the process table and container context need them. */
export const ALWAYS_ATTACHED: readonly string[] = ['process_exec', 'process_fork', 'process_exit', 'container_attach'];

/**
 * A program in neither list is attached (no event is lost), but
 * test/kernel/families.test.ts fails until it is listed in one of them.
 */
export function programWanted(program: string, captured: ReadonlySet<number>): boolean {
  const events = PROGRAM_EVENTS[program];
  return events === undefined || events.some((id) => captured.has(id));
}
