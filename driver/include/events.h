/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The record layout: the one contract between any driver and the TypeScript reader
 * (src/kernel/layout.ts). Every record = record_header + fixed fields + a string area.
 * Strings are referenced by (offset from record start, length in bytes), never
 * NUL-terminated in the contract. test/kernel/layout.test.ts compares the TS offsets
 * with this file as compiled into the BPF object (its BTF): change both or the test fails.
 */
#ifndef SYSMON_TS_EVENTS_H
#define SYSMON_TS_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define EVENTS_ABI_VERSION 1

/* Record types, a range per family (one family = one driver/linux/<family>.bpf.c). */
enum record_type {
	/* process.bpf.c: 1-9 */
	RECORD_PROCESS_EXEC = 1,
	RECORD_PROCESS_FORK = 2,
	RECORD_PROCESS_EXIT = 3,
	/* network.bpf.c: 10-19 */
	/* file.bpf.c: 20-39 */
	/* other families (ptrace, bpf, modules, dns, image loads...): 40- */
};

/* How much of each variable part is captured; longer values are cut and flagged. */
#define MAX_ARGS_BYTES   (256 * 1024)
#define MAX_PATH_DEPTH   64
#define MAX_NAME_BYTES   256
#define MAX_PATH_BYTES   (MAX_PATH_DEPTH * MAX_NAME_BYTES)

/* record_header.flags */
#define RECORD_FLAG_ARGS_TRUNCATED  (1u << 0)
#define RECORD_FLAG_EXE_TRUNCATED   (1u << 1)
#define RECORD_FLAG_CWD_TRUNCATED   (1u << 2)

struct record_header {
	__u16 type;        /* enum record_type */
	__u16 flags;       /* RECORD_FLAG_* */
	__u32 size;        /* whole record, header and strings included */
	__u64 boot_ns;     /* bpf_ktime_get_boot_ns() when the event happened */
	__u32 tgid;        /* process id (thread group id), init pid namespace */
	__u32 tid;         /* thread id */
};

/* A string in the record's string area. */
struct str_ref {
	__u32 off;         /* from the start of the record */
	__u32 len;         /* bytes */
};

/*
 * Paths are sent as their components, leaf first, each NUL-terminated, because that is
 * what a bounded dentry walk produces; the reader joins them in reverse with '/'.
 */
struct process_ids {
	__u32 uid;         /* real uid */
	__u32 euid;
	__u32 gid;
	__u32 auid;        /* audit login uid, 0xffffffff if unset */
	__u32 sessionid;   /* audit session id, 0xffffffff if unset */
	__u32 ppid;        /* real parent's tgid */
	__u64 start_boot_ns;        /* task->start_boottime of the group leader */
	__u64 end_code;             /* mm->end_code: Sysmon's per-image key, 0 without mm */
	__u64 parent_start_boot_ns;
	__u64 parent_end_code;
};

struct exec_record {
	struct record_header hdr;
	struct process_ids ids;
	struct str_ref exe;         /* path components of the executable, leaf first */
	struct str_ref cwd;         /* path components of the working directory, leaf first */
	struct str_ref args;        /* argv, NUL-separated, as the process laid it out */
	struct str_ref comm;        /* task->comm */
};

struct fork_record {
	struct record_header hdr;
	struct process_ids ids;     /* of the child; the parent is ids.ppid */
};

struct exit_record {
	struct record_header hdr;
	struct process_ids ids;
	__s32 exit_code;
	__u32 _pad;
};

#endif
