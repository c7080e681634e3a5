/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Syscall numbers and the task's user registers, per architecture: the programs that read a
 * syscall's number or arguments on its exit (or from inside it) without an entry program.
 * -1: the architecture has no such syscall (arm64 has only the *at forms).
 */
#ifndef SYSMON_TS_SYSCALLS_BPF_H
#define SYSMON_TS_SYSCALLS_BPF_H

#if defined(__TARGET_ARCH_x86)
#define NR_READ              0
#define NR_OPEN              2
#define NR_ACCEPT            43
#define NR_RECVFROM          45
#define NR_RECVMSG           47
#define NR_RMDIR             84
#define NR_UNLINK            87
#define NR_PTRACE            101
#define NR_INIT_MODULE       175
#define NR_OPENAT            257
#define NR_UNLINKAT          263
#define NR_ACCEPT4           288
#define NR_RECVMMSG          299
#define NR_PROCESS_VM_READV  310
#define NR_PROCESS_VM_WRITEV 311
#define NR_FINIT_MODULE      313
#define NR_BPF               321
#define NR_OPENAT2           437
#define SC_NR(r)    BPF_CORE_READ(r, orig_ax)
#define SC_ARG0(r)  BPF_CORE_READ(r, di)
#define SC_ARG1(r)  BPF_CORE_READ(r, si)
#define SC_ARG2(r)  BPF_CORE_READ(r, dx)
#define SC_ARG3(r)  BPF_CORE_READ(r, r10)
#define SC_ARG4(r)  BPF_CORE_READ(r, r8)
#define USER_IP(r)  BPF_CORE_READ(r, ip)
#elif defined(__TARGET_ARCH_arm64)
#define NR_READ              63
#define NR_OPEN              -1
#define NR_ACCEPT            202
#define NR_RECVFROM          207
#define NR_RECVMSG           212
#define NR_RMDIR             -1
#define NR_UNLINK            -1
#define NR_PTRACE            117
#define NR_INIT_MODULE       105
#define NR_OPENAT            56
#define NR_UNLINKAT          35
#define NR_ACCEPT4           242
#define NR_RECVMMSG          243
#define NR_PROCESS_VM_READV  270
#define NR_PROCESS_VM_WRITEV 271
#define NR_FINIT_MODULE      273
#define NR_BPF               280
#define NR_OPENAT2           437
#define SC_NR(r)    BPF_CORE_READ(r, syscallno)
#define SC_ARG0(r)  BPF_CORE_READ(r, orig_x0)
#define SC_ARG1(r)  BPF_CORE_READ(r, regs[1])
#define SC_ARG2(r)  BPF_CORE_READ(r, regs[2])
#define SC_ARG3(r)  BPF_CORE_READ(r, regs[3])
#define SC_ARG4(r)  BPF_CORE_READ(r, regs[4])
#define USER_IP(r)  BPF_CORE_READ(r, pc)
#else
#error "syscalls.bpf.h: syscall numbers for this architecture"
#endif

#endif
