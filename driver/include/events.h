/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The record layout: the one contract between any driver and the TypeScript reader.
 * Every record = record_header + fixed fields + a string area. Strings are referenced by
 * (offset from record start, length in bytes), never NUL-terminated in the contract.
 * `npm run gen` turns this file (sizes, offsets, enums, integer #defines, as the compiler
 * computes them) into src/kernel/generated/events-h.ts, which the decoders import; run it
 * after any change here. test/kernel/layout.test.ts fails when the generated file is stale
 * or a BPF object was built against another layout.
 */
#ifndef SYSMON_TS_EVENTS_H
#define SYSMON_TS_EVENTS_H

#if defined(_WIN32)
/* driver/windows (mingw-w64): the fixed-width types Linux takes from <linux/types.h> */
typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef int __s32;
typedef long long __s64;
#elif !defined(__VMLINUX_H__)
#include <linux/types.h>
#endif

#define EVENTS_ABI_VERSION 1

/* Record types, a range per family (one family = one driver/linux/<family>.bpf.c and one
 * src/families/<family>/; a family's own enum is named <family>_record_type). */
enum record_type {
	/* process.bpf.c: 1-9 */
	RECORD_PROCESS_EXEC = 1,
	RECORD_PROCESS_FORK = 2,
	RECORD_PROCESS_EXIT = 3,
	/* network.bpf.c: 10-19 */
	RECORD_NET_CONNECT = 10,
	/* file.bpf.c: 20-39 */
	RECORD_FILE_CREATE = 20,    /* Sysmon 11: a file that did not exist now does */
	RECORD_FILE_DELETE = 21,    /* Sysmon 23/26: unlink/rmdir that succeeded */
	RECORD_FILE_RAW_READ = 22,  /* Sysmon 9: a block device opened for reading */
	RECORD_FILE_TIME = 23,      /* Sysmon 2: a file's mtime set back in time */
	/* other families (ptrace, bpf, modules, dns, image loads...): 40- */
	/* security.bpf.c: 40-59 */
	RECORD_PROCESS_ACCESS = 40, /* Sysmon 10: ptrace, process_vm_readv/writev, /proc/PID/mem */
	RECORD_REMOTE_THREAD = 41,  /* Sysmon 8: ptrace POKETEXT/POKEDATA, instruction pointer set */
	RECORD_BPF_PROG_LOAD = 42,  /* Sysmon 100: bpf(BPF_PROG_LOAD) that succeeded */
	RECORD_MODULE_LOAD = 43,    /* Sysmon 6: init_module/finit_module that succeeded */
	RECORD_TAMPER = 44,         /* Sysmon 25: image unlinked (memfd, deleted, replaced) */
	/* dns.bpf.c: 60-69 */
	RECORD_DNS_WIRE = 60,       /* Sysmon 22: a DNS response to a query this process sent */
	RECORD_DNS_LIBC = 61,       /* Sysmon 22: getaddrinfo/gethostbyname(2) returned */
	/* driver/windows only: 200-239 (see the Windows section at the end of this file) */
	RECORD_WIN_PROCESS_CREATE = 200, /* Sysmon 1 */
	RECORD_WIN_IMAGE_LOAD = 201,     /* Sysmon 7, and 6 for a kernel-mode image (driver) */
	RECORD_WIN_FILE_CREATE = 210,    /* Sysmon 11: created, superseded or overwritten */
	RECORD_WIN_FILE_DELETE = 211,    /* Sysmon 23/26: marked for deletion */
	RECORD_WIN_FILE_RAW_READ = 212,  /* Sysmon 9: a volume opened for reading */
	RECORD_WIN_FILE_TIME = 213,      /* Sysmon 2: creation time set */
	RECORD_WIN_FILE_RENAME = 214,    /* renamed (Sysmon 11 for the new name) */
	RECORD_WIN_FILE_STREAM = 215,    /* Sysmon 15: a named (alternate) data stream created */
	RECORD_WIN_REG_KEY = 220,        /* Sysmon 12: key created or deleted */
	RECORD_WIN_REG_VALUE = 221,      /* Sysmon 13 (value set), 12 (value deleted) */
	RECORD_WIN_REG_RENAME = 222,     /* Sysmon 14: key renamed */
	RECORD_WIN_STACK = 230,          /* Sysmon 10's CallTrace: the user stack of the record before */
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
/* exec records: the process is in exactly its parent's cgroups (same css_set) in every hierarchy */
#define RECORD_FLAG_PARENT_CGROUPS  (1u << 3)

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
	/* Facts the agent would otherwise fetch per exec with syscalls (stat of the image for
	 * the hash cache key, /proc/PID/cgroup for the container context). */
	__u64 cgroup_id;            /* bpf_get_current_cgroup_id(): the cgroup v2 id (kernfs ino) */
	__u64 exe_ino;              /* the executable's inode, size, mtime and device */
	__u64 exe_size;
	__s64 exe_mtime_ns;         /* Unix ns */
	__u32 exe_dev;              /* kernel dev_t (MAJOR << 20 | MINOR) */
	__u32 tty;                  /* controlling terminal: tty driver major << 20 | tty index;
	                             * 0 without one (Sysmon for Linux's LogonGuid uses the index) */
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

/*
 * Network family (network.bpf.c): one record per reported connection (Sysmon event 3).
 * The owner is the process that connected, accepted, sent or received, recorded in its
 * own context (never the softirq's current task). "local"/"remote" are this host's end and
 * the peer's; `initiated` says which end started the connection.
 */
struct ip_addr16 {
	__u8 b[16];        /* network order; IPv4 in the first 4 bytes, the rest zero */
};

struct net_record {
	struct record_header hdr;   /* tgid/tid: the owning process and thread */
	__u64 owner_start_boot_ns;  /* group leader's start_boottime (pid reuse check) */
	__u32 uid;                  /* owner's real uid */
	__u16 family;               /* AF_INET (2) or AF_INET6 (10), of the addresses below */
	__u8 protocol;              /* IPPROTO_TCP (6) or IPPROTO_UDP (17) */
	__u8 initiated;             /* 1: this host's end initiated (connect, first datagram sent) */
	__u16 local_port;           /* host order */
	__u16 remote_port;          /* host order */
	__u32 _pad;
	struct ip_addr16 local_addr;
	struct ip_addr16 remote_addr;
};

/* ---- file family (driver/linux/file.bpf.c) ---- */

/* file_record.op: the syscall that did it */
enum file_op {
	FILE_OP_OPEN = 1, FILE_OP_OPENAT = 2, FILE_OP_OPENAT2 = 3, FILE_OP_CREAT = 4,
	FILE_OP_RENAME = 5, FILE_OP_LINK = 6, FILE_OP_MKNOD = 7,
	FILE_OP_UNLINK = 8, FILE_OP_RMDIR = 9,
	FILE_OP_UTIMENSAT = 10, FILE_OP_UTIMES = 11, FILE_OP_UTIME = 12,
};

/* file_record.info: which optional fields are valid */
#define FILE_INFO_INODE      (1u << 0)  /* mode, dev, ino, size, nlink, mtime_ns */
#define FILE_INFO_PREV_TIME  (1u << 1)  /* FILE_TIME: mtime_ns is the mtime before the call */

/* record_header.flags of file records (high byte: the file family's own bits) */
#define RECORD_FLAG_PATH_TRUNCATED  (1u << 8)
#define RECORD_FLAG_NAME_TRUNCATED  (1u << 9)

struct file_record {
	struct record_header hdr;
	__u32 op;          /* enum file_op */
	__u32 info;        /* FILE_INFO_* */
	__u32 mode;        /* inode i_mode */
	__u32 dev;         /* kernel dev_t of the file's filesystem (MAJOR << 20 | MINOR) */
	__u64 ino;
	__u64 size;        /* bytes, before the call */
	__u32 nlink;       /* before the call */
	__u32 rdev;        /* FILE_RAW_READ: the block device's kernel dev_t */
	__s64 mtime_ns;    /* inode mtime, Unix ns (for FILE_TIME: before the call, if PREV_TIME) */
	__s64 new_time_ns; /* FILE_TIME: the mtime the call set, Unix ns */
	/* path components leaf first (the dentry walk): the file itself when name.len == 0,
	 * otherwise the directory the name is relative to (dirfd or cwd) */
	struct str_ref path;
	/* the name as the process passed it (possibly relative); empty when path is complete */
	struct str_ref name;
};

/*
 * In-kernel filter of file records (driver/linux/filter.bpf.h; tables compiled from the
 * config by src/config/kernel-filter). Two tables, the active one chosen by kf_active[0]:
 * a reload writes the idle table, then flips the index. A record the filter judged carries
 * RECORD_FLAG_KF_JUDGED, and RECORD_FLAG_KF_GEN_ODD = the judging table's gen & 1, so that
 * user space applies the config of that same generation.
 */
#define RECORD_FLAG_KF_JUDGED   (1u << 14)
#define RECORD_FLAG_KF_GEN_ODD  (1u << 15)

#define KF_SLOTS      4          /* 0: FileCreate 11, 1: FileDelete 23, 2: FileDeleteDetected 26, 3: FileCreateTime 2 */
#define KF_MAX_CELLS  (1u << 18) /* automaton cells per table (states x columns) */
#define KF_MAX_TEXT   1024       /* longer paths pass to user space */
#define KF_MODE_DROP_ON   1      /* slot: drop when a drop pattern matches */
#define KF_MODE_KEEP_ONLY 2      /* slot: drop unless a keep pattern matches */

struct kf_head {
	__u32 loaded;      /* 0: no config compiled into this table, every record passes */
	__u32 gen;         /* generation of the config (user space counts reloads) */
	__u32 width;       /* columns per state */
	__u32 states;
	__u32 root_flags;  /* flags of the start state (an empty substring pattern) */
	__u8 mode[KF_SLOTS];
	__u8 cls[128];     /* byte -> column (0: a byte no pattern uses) */
};

struct kf_table {
	struct kf_head head;
	/* cells[state * width + column] = next state | flags(next state) << 24;
	 * flags: bit 2*slot = a drop pattern of that slot ends here, bit 2*slot+1 = a keep pattern */
	__u32 cells[KF_MAX_CELLS];
	/* NetworkConnect's keep set for the per-process verdicts below: ports[p] & KF_PORT_DST =
	 * some include filter on DestinationPort can match port p, & KF_PORT_SRC: on SourcePort */
	__u8 ports[65536];
};

#define KF_PORT_DST 1
#define KF_PORT_SRC 2

/*
 * Per-process verdicts (driver/linux/verdict.bpf.h, src/config/kernel-filter/process-verdicts.ts):
 * user space knows a process's Image, User, ProcessGuid... once it has handled its exec record;
 * when the config surely drops an event of that process whatever the record's other fields
 * hold, it writes pv_verdicts[tgid]. The verdict names the exec it was computed for (the exec
 * record's boot_ns, which the kernel keeps in pv_exec[tgid] until the next exec or the exit)
 * and the config generation (the active kf_table's gen): a stale one is ignored.
 */
#define PV_NET    0  /* NetworkConnect (3) */
#define PV_IMAGE  1  /* ImageLoad (7) */
#define PV_EVENTS 2
/* bit 2*e: drop event e's records; bit 2*e+1: drop them unless the table's keep set matches */
#define PV_DROP_ALL    1
#define PV_DROP_UNLESS 2
#define PV_MAX_PROCS   32768
/* A process running before the agent started has no exec record: user space claims
 * pv_exec[tgid] = 0 for it (only if the kernel has no entry) and its verdict says exec_ns 0 and
 * start_ns = its start in USER_HZ ticks (all /proc tells), compared as ticks */
#define PV_NS_PER_TICK 10000000

struct pv_verdict {
	__u64 exec_ns;     /* boot_ns of the exec record it was computed for (0: seeded from /proc) */
	__u64 start_ns;    /* the process's start (group leader start_boottime; ticks when seeded): pid reuse */
	__u32 gen;         /* config generation (kf_head.gen) */
	__u32 bits;        /* (PV_DROP_ALL | PV_DROP_UNLESS) << 2*event */
};

/*
 * Verdicts by image (verdict.bpf.h pv_image_verdicts): a verdict computed with ProcessGuid and
 * ProcessId unknown depends on the process's Image and User only, i.e. on its exec record's exe
 * bytes and uid. User space writes one per image and user it has seen exec; the exec program
 * copies it into pv_verdicts[tgid] once the exec record is in the ring, so that a process of an
 * exec storm that lives a few ms is judged from its first mmap. The key is the exe path exactly as the
 * exec record holds it (components leaf first, NUL-terminated), zero-padded; longer or
 * truncated paths get none.
 *
 * ImageLoad's PV_DROP_UNLESS: the record is dropped when its ImageLoaded can match no include
 * filter on ImageLoaded: pv_quiet_paths[{0, path}] = the generation of a config user space
 * found no such filter matching that path in (written when it handles an ImageLoad record).
 */
#define PV_PATH_MAX        256
#define PV_MAX_IMAGES      4096
#define PV_MAX_QUIET_PATHS 16384

struct pv_path_key {
	__u32 uid;         /* the exec record's ids.uid (pv_image_verdicts); 0 in pv_quiet_paths */
	__u32 len;         /* bytes of path */
	__u8 path[PV_PATH_MAX];
};

struct pv_by_image {
	__u32 gen;         /* config generation (kf_head.gen) */
	__u32 bits;        /* as pv_verdict.bits */
};

/* ---- io_uring family (driver/linux/iouring.bpf.c, records 90-99) ---- */

enum iouring_record_type {
	RECORD_IOURING_FILE_CREATE = 90, /* Sysmon 11: IORING_OP_OPENAT/OPENAT2 created the file */
	RECORD_IOURING_NAME_OP = 91,     /* an UNLINKAT/RENAMEAT/LINKAT request, as submitted */
	RECORD_IOURING_RESULT = 92,      /* that request's completion */
};

/* A file_record exactly as RECORD_FILE_CREATE writes it (file.op: FILE_OP_OPENAT or
 * FILE_OP_OPENAT2, path: the new file's own dentry walk, name empty), plus the request. */
struct iouring_file_record {
	struct file_record file;    /* file.hdr.type = RECORD_IOURING_FILE_CREATE */
	__u64 user_data;            /* the SQE's user_data */
	__u32 opcode;               /* IORING_OP_OPENAT (18) or IORING_OP_OPENAT2 (28) */
	__u32 _pad;
};

/*
 * A name operation (IORING_OP_UNLINKAT 36, RENAMEAT 35, LINKAT 39) at submission, when its
 * names are still held by the request (they are freed while it runs): file.op is
 * FILE_OP_UNLINK/RMDIR (FileDelete) or FILE_OP_RENAME/LINK (FileCreate of the new name);
 * file.name is the (new) name as submitted, file.path the directory it is relative to (the
 * submitter's dirfd or cwd), as file.bpf.c's name operations write them; no inode facts.
 * It happened only if the iouring_result_record with the same `request` says res == 0.
 */
struct iouring_name_record {
	struct file_record file;    /* file.hdr.type = RECORD_IOURING_NAME_OP */
	__u64 user_data;
	__u64 request;              /* the request's kernel address: joins the completion */
	__u32 opcode;
	__u32 _pad;
};

struct iouring_result_record {
	struct record_header hdr;   /* the submitting process */
	__u64 user_data;
	__u64 request;              /* as in the iouring_name_record */
	__u32 opcode;
	__s32 res;                  /* the CQE's result: 0 or -errno */
};

/* ---- security family (driver/linux/security.bpf.c, records 40-59) ---- */

/* The other process of a cross-process record, read from its task in the kernel. */
struct target_ids {
	__u32 tgid;
	__u32 tid;         /* the thread the call named (ptrace and process_vm_* take a tid) */
	__u32 uid;         /* real uid */
	__u32 _pad;
	__u64 start_boot_ns;        /* group leader's start_boottime */
	__u64 end_code;             /* mm->end_code, 0 without mm */
};

/* access_record.how */
#define ACCESS_VIA_PTRACE      1
#define ACCESS_VIA_VM_READV    2
#define ACCESS_VIA_VM_WRITEV   3
#define ACCESS_VIA_PROC_MEM    4

struct access_record {
	struct record_header hdr;
	struct process_ids ids;     /* the source (current) process */
	struct target_ids target;
	__u32 granted;              /* Windows access mask (see src/families/security/events.ts) */
	__u32 how;                  /* ACCESS_VIA_* */
	__s64 request;              /* ptrace request, or the file's f_mode for /proc/PID/mem */
};

struct inject_record {
	struct record_header hdr;
	struct process_ids ids;
	struct target_ids target;
	__u64 start_address;        /* first poked address, or the new instruction pointer */
	__s64 request;              /* the ptrace request */
};

struct bpf_load_record {
	struct record_header hdr;
	struct process_ids ids;
	__u32 cmd;                  /* bpf(2) command (BPF_PROG_LOAD = 5) */
	__u32 prog_type;
	__u32 prog_id;
	__u32 _pad;
	struct str_ref name;        /* bpf_prog_aux.name (at most 15 bytes) */
};

struct module_record {
	struct record_header hdr;
	struct process_ids ids;
	__u32 finit;                /* 1: finit_module(fd), 0: init_module(image in memory) */
	__s32 fd;
	__u64 len;                  /* init_module: bytes of the image */
	__u64 ino;                  /* finit_module: the file's inode and device */
	__u32 dev;                  /* kernel dev_t (MAJOR << 20 | MINOR) */
	__u32 flags;                /* finit_module flags */
	struct str_ref path;        /* finit_module: path components, leaf first */
	struct str_ref params;      /* module parameters string */
};

/* tamper_record.kind */
#define TAMPER_EXEC_UNLINKED   1   /* exec of a file with no links (memfd, O_TMPFILE, deleted) */
#define TAMPER_EXIT_UNLINKED   2   /* the image lost its last link while the process ran */

struct tamper_record {
	struct record_header hdr;
	struct process_ids ids;
	__u32 kind;                 /* TAMPER_* */
	__u32 nlink;
	__u64 ino;
	__u32 dev;                  /* kernel dev_t (MAJOR << 20 | MINOR) */
	__u32 _pad;
	struct str_ref exe;         /* path components, leaf first */
};

/* ---- dns family (driver/linux/dns.bpf.c, records 60-69) ---- */

#define DNS_MAX_PAYLOAD   512  /* bytes of a DNS message copied into a wire record */
#define DNS_MAX_NAME      256  /* bytes of the name passed to getaddrinfo/gethostbyname */
#define DNS_MAX_ADDRS     16   /* addresses copied from a libc result list */

/* dns_record.source */
#define DNS_SRC_UDP            1   /* RECORD_DNS_WIRE: response datagram from port 53 */
#define DNS_SRC_TCP            2   /* RECORD_DNS_WIRE: response read from a TCP connection to port 53 */
#define DNS_SRC_GETADDRINFO    3   /* RECORD_DNS_LIBC */
#define DNS_SRC_GETHOSTBYNAME  4   /* RECORD_DNS_LIBC: gethostbyname and gethostbyname2 */

/* record_header.flags of dns records */
#define RECORD_FLAG_DNS_TRUNCATED  (1u << 8)   /* payload or result list cut */

/* One address of a libc result list (RECORD_DNS_LIBC payload is an array of these). */
struct dns_addr {
	__u16 family;      /* AF_INET or AF_INET6 */
	__u16 _pad;
	struct ip_addr16 addr; /* network order; IPv4 in the first 4 bytes */
};

struct dns_record {
	struct record_header hdr;   /* tgid/tid: the process and thread that asked */
	__u64 owner_start_boot_ns;  /* group leader's start_boottime (pid reuse check) */
	__u32 uid;                  /* real uid */
	__u16 source;               /* DNS_SRC_* */
	__u16 family;               /* WIRE: server address family (AF_INET/AF_INET6), 0 if unknown */
	__s32 status;               /* LIBC: getaddrinfo's return (0, EAI_*); gethostbyname: 0 or -1 (NULL) */
	__u16 server_port;          /* WIRE: host order */
	__u16 _pad;
	struct ip_addr16 server_addr; /* WIRE: the server the response came from */
	struct str_ref name;        /* LIBC: the node name as passed */
	/* WIRE: the DNS message (no TCP length prefix), at most DNS_MAX_PAYLOAD bytes;
	 * LIBC: struct dns_addr[] then, for gethostbyname, h_name (NUL-terminated) in `canon` */
	struct str_ref payload;
	struct str_ref canon;       /* LIBC: h_name / the first ai_canonname, when present */
};

/* ---- image family (driver/linux/image.bpf.c, records 70-89 but 71-72): ImageLoad (7) and
 * container context (cgroup migrations) ---- */
enum image_record_type {
	RECORD_IMAGE_LOAD = 70,     /* Sysmon 7: a file mapped executable (mmap PROT_EXEC, mprotect +X) */
	RECORD_CGROUP_ATTACH = 73,  /* a process moved into a cgroup (container context) */
};

/* image_record.how */
#define IMAGE_VIA_MMAP      1
#define IMAGE_VIA_MPROTECT  2

struct image_record {
	struct record_header hdr;
	__u64 cgroup_id;            /* bpf_get_current_cgroup_id(): the cgroup v2 id (kernfs ino) */
	__u32 how;                  /* IMAGE_VIA_* */
	__u32 prot;                 /* PROT_* the call asked for */
	__u64 ino;
	__u64 size;
	__s64 mtime_ns;             /* Unix ns */
	__u32 dev;                  /* kernel dev_t (MAJOR << 20 | MINOR) */
	__u32 mode;
	struct str_ref path;        /* path components of the mapped file, leaf first */
};

struct cgroup_record {
	struct record_header hdr;   /* tgid/tid: the task that was moved (not necessarily current) */
	__u64 cgroup_id;            /* the destination cgroup's id (kernfs ino) */
	__u64 start_boot_ns;        /* the moved task's group leader start_boottime */
	__u32 hierarchy_id;         /* 0: the cgroup v2 hierarchy; v1 hierarchies > 0 */
	__u32 threadgroup;          /* 1: the whole process moved */
	struct str_ref path;        /* destination path in its hierarchy, a plain string ("/a/b") */
};

/* ---- pipes family (driver/linux/pipes.bpf.c, records 71-72: the numbers they had in the
 * image family's range): PipeEvent (17 created, 18 connected) for FIFOs ---- */
enum pipe_record_type {
	RECORD_PIPE_CREATE = 71,    /* Sysmon 17: mknod/mknodat(S_IFIFO) that succeeded */
	RECORD_PIPE_OPEN = 72,      /* Sysmon 18: open/openat/openat2 of a FIFO that succeeded */
};

/* pipe_record.op */
#define PIPE_OP_MKNOD   1
#define PIPE_OP_OPEN    2

struct pipe_record {
	struct record_header hdr;
	__u64 cgroup_id;
	__u32 op;                   /* PIPE_OP_* */
	__u32 flags;                /* PIPE_OP_OPEN: the file's f_flags (O_RDONLY/O_WRONLY/...) */
	__u64 ino;                  /* PIPE_OP_OPEN: the FIFO's inode */
	/* as struct file_record: path = the file's own components when name.len == 0, otherwise
	 * the directory the name is relative to (dirfd or cwd); name = the name as passed */
	struct str_ref path;
	struct str_ref name;
};

/*
 * ---- Windows driver (driver/windows), records 200-239 ----
 *
 * The Windows driver writes the Linux records whose fields carry over unchanged
 * (exit_record 3 for Sysmon 5, access_record 40 for 10, inject_record 41 for 8,
 * tamper_record 44 for 25) and the records below for what Linux has no record for.
 * In records written on Windows:
 *  - record_header.boot_ns is interrupt time (100 ns units since boot, sleep included)
 *    * 100; tgid/tid are the process and thread ids of the caller.
 *  - process_ids: uid, euid, gid, auid are WIN_NO_ID (the user is the token's SID, sent in
 *    win_process_record); sessionid is the Windows session id; ppid the parent's pid
 *    (InheritedFromUniqueProcessId); start_boot_ns the process creation time as boot ns;
 *    end_code the process start key (PsGetProcessStartKey: Sysmon's ProcessGuid key, 0
 *    before Windows 10 1703); parent_* the same of the parent (0 when it is gone).
 *  - target_ids.uid is WIN_NO_ID; start_boot_ns/end_code as above.
 *  - access_record.granted is the handle's GrantedAccess, what Sysmon reports.
 *  - inject_record.request is 0; a new process's first thread, which its creator makes,
 *    is not reported (Sysmon does not report it either).
 *  - strings in the records below are UTF-16LE, not NUL-terminated, as the kernel holds
 *    them (NT paths such as \Device\HarddiskVolume3\Windows\...); SIDs are binary.
 *  - tamper_record.exe is empty (the image is in the win_process_record just before it).
 */
#define WIN_NO_ID 0xffffffffu

/* access_record.how for Windows handle operations (ObRegisterCallbacks, post-operation) */
#define ACCESS_VIA_WIN_OPEN       5   /* handle created */
#define ACCESS_VIA_WIN_DUPLICATE  6   /* handle duplicated */

/* win_process_record.flags */
#define WIN_PROC_FILE_OPEN_NAME       (1u << 0) /* image is the name the file was opened by */
#define WIN_PROC_SUBSYSTEM            (1u << 1) /* a subsystem (WSL pico) process */
#define WIN_PROC_IMAGE_DELETE_PENDING (1u << 2) /* the image file is marked for deletion */

struct win_process_record {
	struct record_header hdr;   /* tgid: the new process; tid: the creating thread */
	struct process_ids ids;     /* of the new process */
	__u64 create_time;          /* FILETIME (100 ns since 1601, UTC) */
	__u64 logon_id;             /* the token's authentication id (LUID) */
	__u32 integrity_rid;        /* the token's mandatory label RID (0x2000 medium, ...) */
	__u32 flags;                /* WIN_PROC_* */
	__u32 creating_pid;         /* CreatingThreadId (differs from ppid when re-parented) */
	__u32 creating_tid;
	struct str_ref image;       /* UTF-16LE NT path of the image */
	struct str_ref command_line; /* UTF-16LE */
	struct str_ref user_sid;    /* binary SID of the token's user */
};

struct win_image_record {
	struct record_header hdr;   /* tgid: the process the image maps into (0: kernel image) */
	__u64 image_base;
	__u64 image_size;
	__u32 properties;           /* IMAGE_INFO.Properties: SystemModeImage bit 8, signature
	                               level bits 12-15, signature type bits 16-18 */
	__u32 _pad;
	__u64 process_start_key;    /* of the process the image maps into */
	struct str_ref path;        /* UTF-16LE full image name */
};

/* win_file_record.op: the call */
#define WIN_FILE_OP_CREATE          1   /* IRP_MJ_CREATE */
#define WIN_FILE_OP_DISPOSITION     2   /* FileDispositionInformation(Ex) */
#define WIN_FILE_OP_DELETE_ON_CLOSE 3   /* opened with FILE_DELETE_ON_CLOSE */
#define WIN_FILE_OP_RENAME          4   /* FileRenameInformation(Ex) */
#define WIN_FILE_OP_BASIC_INFO      5   /* FileBasicInformation */

struct win_file_record {
	struct record_header hdr;
	__u32 op;                   /* WIN_FILE_OP_* */
	__u32 attributes;           /* FILE_ATTRIBUTE_* (0x10 directory), 0 when unknown */
	__u32 create_result;        /* IoStatus.Information of a create (FILE_CREATED 2, ...) */
	__u32 desired_access;       /* of a create */
	__u64 creation_time;        /* FILETIME: the file's creation time (FILE_TIME: the new one) */
	__u64 prev_creation_time;   /* FILE_TIME: the creation time before the call */
	__u64 process_start_key;
	struct str_ref path;        /* UTF-16LE normalized NT name, stream included */
	struct str_ref new_path;    /* RENAME: the new name; STREAM: the stream name */
};

struct win_reg_record {
	struct record_header hdr;
	__u32 op;                   /* the REG_NOTIFY_CLASS: RegNtPostCreateKeyEx 27,
	                               RegNtPreDeleteKey 0, RegNtPostSetValueKey 16,
	                               RegNtPreDeleteValueKey 2, RegNtPreRenameKey 4 */
	__u32 value_type;           /* REG_SZ 1, REG_EXPAND_SZ 2, REG_BINARY 3, REG_DWORD 4, ... */
	__u32 data_size;            /* bytes of the value's data (may exceed what is sent) */
	__u32 _pad;
	__u64 process_start_key;
	struct str_ref key;         /* UTF-16LE full key name (\REGISTRY\MACHINE\...) */
	struct str_ref value;       /* UTF-16LE value name */
	struct str_ref data;        /* the data's first bytes (at most WIN_REG_DATA_MAX) */
	struct str_ref new_name;    /* RENAME: UTF-16LE new key name */
};
#define WIN_REG_DATA_MAX 1024

/*
 * The caller's user-mode return addresses when a record was made (for access_record:
 * Sysmon's CallTrace; the service names them module+offset from the image loads it saw).
 * Written right after the record it belongs to, with the same boot_ns, tgid and tid.
 */
#define WIN_STACK_MAX 32
struct win_stack_record {
	struct record_header hdr;
	__u32 for_type;             /* the record type it belongs to (RECORD_PROCESS_ACCESS) */
	__u32 _pad;
	struct str_ref frames;      /* u64 return addresses, innermost first */
};

/*
 * The ring in the section the Windows driver shares with the service: the Linux ring's
 * layout (u64 positions, 8-byte record headers with BUSY/DISCARD, 8-byte alignment), its
 * consumer and producer pages in a 64 KiB header so that the data area starts on a mapping
 * granularity boundary. Section = WIN_RING_HEADER_BYTES + data_size bytes, mapped once
 * (a record that wraps is joined by the reader).
 */
#define WIN_RING_MAGIC          0x53544d53u /* "SMTS" */
#define WIN_RING_HEADER_BYTES   65536u
#define WIN_RING_CONSUMER_OFF   0u          /* u64 consumer_pos (the service writes it) */
#define WIN_RING_PRODUCER_OFF   4096u       /* struct win_ring_producer (the driver writes it) */
#define WIN_RING_BUSY           (1u << 31)
#define WIN_RING_DISCARD        (1u << 30)

struct win_ring_producer {
	__u64 producer_pos;
	__u64 dropped;              /* records that found no room: counted, never silent */
	__u32 magic;                /* WIN_RING_MAGIC */
	__u32 abi_version;          /* EVENTS_ABI_VERSION */
	__u64 data_size;            /* bytes in the data area: a power of two, >= 64 KiB */
};

/* DeviceIoControl(\\.\SysmonTs, IOCTL_SYSMON_TS_GET_RING) -> win_ring_info, its section
 * handle opened in the caller's process (SECTION_MAP_READ | SECTION_MAP_WRITE | SECTION_QUERY).
 * CTL_CODE(SYSMON_TS_DEVICE_TYPE, 0x801, METHOD_BUFFERED, FILE_READ_DATA | FILE_WRITE_DATA) */
#define SYSMON_TS_DEVICE_TYPE     0x8537u
#define IOCTL_SYSMON_TS_GET_RING  0x8537e004u

struct win_ring_info {
	__u64 section_handle;
	__u64 data_size;
	__u32 header_bytes;         /* WIN_RING_HEADER_BYTES */
	__u32 abi_version;          /* EVENTS_ABI_VERSION */
};

#endif
