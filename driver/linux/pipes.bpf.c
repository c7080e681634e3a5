// SPDX-License-Identifier: GPL-2.0
/*
 * Pipes family: PipeEvent (Sysmon 17 created, 18 connected) for FIFOs, Linux's named pipes.
 *
 * Hooks: per-syscall tracepoints, attached only while the config logs their event
 * (`programs` in src/families/pipes/index.ts):
 *   pipe_e_mknod(at) / pipe_x_mknod(at) mkfifo (mknodat S_IFIFO) that succeeded
 *   pipe_x_open(at,at2)                 an open that returned a fd to a FIFO
 */
#include "common.bpf.h"

#define S_IFMT          00170000
#define S_IFIFO         0010000
#define PIPEFS_MAGIC    0x50495045

/* A mknod of a FIFO between its entry and its exit, by thread. */
struct pipe_pending {
	__u64 name;          /* user pointer to the name */
	__s32 dirfd;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct pipe_pending);
} pipe_pending SEC(".maps");

static __always_inline void remember(__s32 dirfd, __u64 name)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct pipe_pending p = {};
	p.name = name;
	p.dirfd = dirfd;
	bpf_map_update_elem(&pipe_pending, &id, &p, BPF_ANY);
}

/* The pending entry of this thread, removed; 0 when there is none. */
static __always_inline int take(struct pipe_pending *out)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct pipe_pending *p = bpf_map_lookup_elem(&pipe_pending, &id);
	if (!p)
		return 0;
	*out = *p;
	bpf_map_delete_elem(&pipe_pending, &id);
	return 1;
}

#define ARG(i) ((__u64)ctx->args[i])

/* ---- PipeEvent: 17 (mkfifo) ---- */

static __always_inline int pipe_create_exit(struct trace_event_raw_sys_exit *ctx)
{
	struct pipe_pending e;
	if (!take(&e) || ctx->ret != 0)
		return 0;
	__u8 *buf = scratch_or_drop();
	if (!buf)
		return 0;
	struct task_struct *task = current_task();
	struct pipe_record *r = (void *)buf;
	fill_header(&r->hdr, RECORD_PIPE_CREATE, task);
	r->cgroup_id = bpf_get_current_cgroup_id();
	r->op = PIPE_OP_MKNOD;
	r->flags = 0;
	r->ino = 0;
	__u32 pos = sizeof(*r);
	if (write_name_in_dir(buf, sizeof(*r), &pos, (void *)e.name, 1, task, e.dirfd, &r->name, &r->path,
			      &r->hdr.flags, 0, RECORD_FLAG_EXE_TRUNCATED))
		return 0;
	r->hdr.size = pos;
	emit_sized(r, pos);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_mknod")
int pipe_e_mknod(struct trace_event_raw_sys_enter *ctx)
{
	if ((ARG(1) & S_IFMT) == S_IFIFO)
		remember(AT_FDCWD, ARG(0));
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_mknodat")
int pipe_e_mknodat(struct trace_event_raw_sys_enter *ctx)
{
	if ((ARG(2) & S_IFMT) == S_IFIFO)
		remember(ARG(0), ARG(1));
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_mknod")
int pipe_x_mknod(struct trace_event_raw_sys_exit *ctx) { return pipe_create_exit(ctx); }

SEC("tracepoint/syscalls/sys_exit_mknodat")
int pipe_x_mknodat(struct trace_event_raw_sys_exit *ctx) { return pipe_create_exit(ctx); }

/* ---- PipeEvent: 18 (a FIFO opened) ---- */

static __always_inline int pipe_open_exit(struct trace_event_raw_sys_exit *ctx)
{
	long fd = ctx->ret;
	if (fd < 0)
		return 0;
	struct task_struct *task = current_task();
	struct file *file = fd_file(task, fd);
	if (!file)
		return 0;
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	__u16 mode = BPF_CORE_READ(inode, i_mode);
	if ((mode & S_IFMT) != S_IFIFO)
		return 0;
	/* anonymous pipes reopened through /proc/PID/fd or /dev/fd live on pipefs: no name */
	if (BPF_CORE_READ(inode, i_sb, s_magic) == PIPEFS_MAGIC)
		return 0;
	__u8 *buf = scratch_or_drop();
	if (!buf)
		return 0;
	struct pipe_record *r = (void *)buf;
	fill_header(&r->hdr, RECORD_PIPE_OPEN, task);
	r->cgroup_id = bpf_get_current_cgroup_id();
	r->op = PIPE_OP_OPEN;
	r->flags = BPF_CORE_READ(file, f_flags);
	r->ino = BPF_CORE_READ(inode, i_ino);
	__u32 pos = sizeof(*r);
	r->path.off = pos;
	r->path.len = write_path(&pos, BPF_CORE_READ(file, f_path.dentry), BPF_CORE_READ(file, f_path.mnt),
				 &r->hdr.flags, RECORD_FLAG_EXE_TRUNCATED);
	r->name.off = pos;
	r->name.len = 0;
	r->hdr.size = pos;
	emit_sized(r, pos);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_open")
int pipe_x_open(struct trace_event_raw_sys_exit *ctx) { return pipe_open_exit(ctx); }

SEC("tracepoint/syscalls/sys_exit_openat")
int pipe_x_openat(struct trace_event_raw_sys_exit *ctx) { return pipe_open_exit(ctx); }

SEC("tracepoint/syscalls/sys_exit_openat2")
int pipe_x_openat2(struct trace_event_raw_sys_exit *ctx) { return pipe_open_exit(ctx); }

/* Never used at run time: put the record layout in the object's BTF for the layout test. */
struct pipe_record *layout_pipe_record __attribute__((unused));
