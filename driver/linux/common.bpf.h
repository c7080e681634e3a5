/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by every *.bpf.c: the ring, the drop counter, scratch space, path walking. */
#ifndef SYSMON_TS_COMMON_BPF_H
#define SYSMON_TS_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "../include/events.h"
#include "syscalls.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#ifndef AT_FDCWD
#define AT_FDCWD -100
#endif

/* The reader polls the producer position on a timer, so no record ever wakes it. */
#define RB_FLAGS BPF_RB_NO_WAKEUP

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024);
} events SEC(".maps");

/* Records lost because the ring was full or scratch space was missing: never silent. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/*
 * One scratch record per CPU. Plain array (not per-CPU: those cap values at 32 KiB);
 * the loader sets max_entries to the number of possible CPUs before load.
 * Layout: fixed part | string area; SCRATCH_STR_MASK bounds every write position.
 */
#define SCRATCH_STR_MASK   0xffff
#define SCRATCH_BYTES      (512 * 1024) /* >= SCRATCH_STR_MASK + 1 + MAX_ARGS_BYTES, a power of two */

struct scratch { __u8 b[SCRATCH_BYTES]; };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* The empty asm hides the value from clang so it cannot drop the mask the verifier needs. */
static __always_inline __u32 str_pos(__u32 pos)
{
	asm volatile("" : "+r"(pos));
	return pos & SCRATCH_STR_MASK;
}

static __always_inline void count_drop(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&drops, &zero);
	if (n)
		__sync_fetch_and_add(n, 1);
}

static __always_inline __u8 *scratch_buf(void)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct scratch *s = bpf_map_lookup_elem(&scratch, &cpu);
	return s ? s->b : 0;
}

/* The scratch area for building a record; a miss loses that record, so it is counted. */
static __always_inline __u8 *scratch_or_drop(void)
{
	__u8 *buf = scratch_buf();
	if (!buf)
		count_drop();
	return buf;
}

/* 0 when the record is in the ring; a record lost to a full ring is counted */
static __always_inline int emit(void *rec, __u32 size)
{
	/* a mask, not a compare: the verifier keeps the bound through any register shuffle */
	if (bpf_ringbuf_output(&events, rec, size & (SCRATCH_BYTES - 1), RB_FLAGS)) {
		count_drop();
		return 1;
	}
	return 0;
}

/* A record of `size` bytes built in the scratch area (its string area masked for the verifier). */
static __always_inline void emit_sized(void *r, __u32 size)
{
	if (bpf_ringbuf_output(&events, r, str_pos(size), RB_FLAGS))
		count_drop();
}

static __always_inline void fill_header(struct record_header *h, __u16 type, struct task_struct *task)
{
	h->type = type;
	h->flags = 0;
	h->size = 0;
	h->boot_ns = bpf_ktime_get_boot_ns();
	h->tgid = BPF_CORE_READ(task, tgid);
	h->tid = BPF_CORE_READ(task, pid);
}

static __always_inline void fill_ids(struct process_ids *ids, struct task_struct *task)
{
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);
	struct task_struct *parent = BPF_CORE_READ(task, real_parent);
	struct task_struct *parent_leader = BPF_CORE_READ(parent, group_leader);

	ids->uid = BPF_CORE_READ(task, real_cred, uid.val);
	ids->euid = BPF_CORE_READ(task, real_cred, euid.val);
	ids->gid = BPF_CORE_READ(task, real_cred, gid.val);
	ids->auid = 0xffffffff;
	ids->sessionid = 0xffffffff;
	if (bpf_core_field_exists(task->loginuid)) {
		ids->auid = BPF_CORE_READ(task, loginuid.val);
		ids->sessionid = BPF_CORE_READ(task, sessionid);
	}
	ids->ppid = BPF_CORE_READ(parent, tgid);
	ids->start_boot_ns = BPF_CORE_READ(leader, start_boottime);
	ids->end_code = BPF_CORE_READ(task, mm, end_code);
	ids->parent_start_boot_ns = BPF_CORE_READ(parent_leader, start_boottime);
	ids->parent_end_code = BPF_CORE_READ(parent_leader, mm, end_code);
}

/* inode mtime in ns across the layouts of 6.11+, 6.7-6.10 and older kernels */
struct inode___pre611 { struct timespec64 i_mtime; };
struct inode___pre67 { struct timespec64 __i_mtime; };

static __always_inline __s64 inode_mtime_ns(struct inode *inode)
{
	if (bpf_core_field_exists(inode->i_mtime_sec))
		return BPF_CORE_READ(inode, i_mtime_sec) * 1000000000ll + BPF_CORE_READ(inode, i_mtime_nsec);
	struct inode___pre611 *o = (void *)inode;
	if (bpf_core_field_exists(o->i_mtime))
		return BPF_CORE_READ(o, i_mtime.tv_sec) * 1000000000ll + BPF_CORE_READ(o, i_mtime.tv_nsec);
	struct inode___pre67 *p = (void *)inode;
	return BPF_CORE_READ(p, __i_mtime.tv_sec) * 1000000000ll + BPF_CORE_READ(p, __i_mtime.tv_nsec);
}

static __always_inline struct task_struct *current_task(void)
{
	return (struct task_struct *)bpf_get_current_task();
}

/* the struct file behind fd in task's table (0 when out of range or closed) */
static __always_inline struct file *fd_file(struct task_struct *task, long fd)
{
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt || fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	struct file **fda = BPF_CORE_READ(fdt, fd);
	struct file *f = 0;
	bpf_probe_read_kernel(&f, sizeof(f), &fda[fd]);
	return f;
}

struct path_walk {
	__u32 pos;
	__u32 start;
	__u16 truncated;
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
};

/*
 * The walk's state lives in a per-CPU map, not on the stack: values loaded from a map are
 * unknown to the verifier, so bpf_loop's callback is verified once instead of once per
 * possible position (which exceeds the verifier's budget).
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_walk);
} walk_state SEC(".maps");

/* One step of the walk: one component, or one mount crossing. */
static long path_step(__u64 index, void *unused)
{
	__u32 zero = 0;
	struct path_walk *w = bpf_map_lookup_elem(&walk_state, &zero);
	__u8 *buf = scratch_buf();
	if (!buf || !w)
		return 1;
	/* plain locals: CO-RE relocations must apply to kernel types only, not to path_walk */
	struct dentry *dentry = w->dentry;
	struct vfsmount *vfsmnt = w->vfsmnt;
	struct mount *mnt = w->mnt;
	struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);

	if (dentry != mnt_root && dentry == parent && w->pos == w->start) {
		/* a pseudo file with no place in any tree (memfd, anon inode): only its name */
		const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
		__u32 pos = w->pos;
		long n = bpf_probe_read_kernel_str(buf + (pos & SCRATCH_STR_MASK), MAX_NAME_BYTES, name);
		if (n > 0)
			w->pos = pos + n;
		w->truncated = 0;
		return 1;
	}
	if (dentry == mnt_root || dentry == parent) {
		struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
		if (mnt_parent == mnt || !mnt_parent) {
			w->truncated = 0;
			return 1;
		}
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = mnt_parent;
		w->vfsmnt = (void *)mnt_parent + bpf_core_field_offset(struct mount, mnt);
		return 0;
	}
	const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
	__u32 pos = w->pos;
	long n = bpf_probe_read_kernel_str(buf + str_pos(pos), MAX_NAME_BYTES, name);
	if (n <= 0)
		return 1;
	w->pos = pos + n;
	if (w->pos - w->start > MAX_PATH_BYTES - MAX_NAME_BYTES)
		return 1;
	w->dentry = parent;
	return 0;
}

/*
 * Writes the components of a path, leaf first, each NUL-terminated, at the scratch
 * buffer's *pos, crossing mount points up to the root of the mount namespace.
 * Returns the bytes written.
 */
static __always_inline __u32 write_path(__u32 *pos, struct dentry *dentry, struct vfsmount *vfsmnt,
					__u16 *flags, __u16 trunc_flag)
{
	__u32 zero = 0;
	struct path_walk *w = bpf_map_lookup_elem(&walk_state, &zero);
	if (!w) {
		*flags |= trunc_flag;
		return 0;
	}
	w->pos = *pos;
	w->start = *pos;
	w->truncated = 1;
	w->dentry = dentry;
	w->vfsmnt = vfsmnt;
	w->mnt = (void *)vfsmnt - bpf_core_field_offset(struct mount, mnt);
	/* depth counts components plus mount crossings */
	bpf_loop(MAX_PATH_DEPTH + 16, path_step, 0, 0);
	if (w->truncated)
		*flags |= trunc_flag;
	__u32 len = w->pos - w->start;
	if (len > MAX_PATH_BYTES)
		len = 0;
	*pos += len;
	return len;
}


/*
 * For a relative name: writes the directory it is relative to (the cwd for AT_FDCWD, else
 * the directory open at dirfd), leaf first like write_path. Returns the bytes written, or
 * -1 when dirfd names no open file.
 */
static __always_inline long write_dir_path(struct task_struct *task, long dirfd, __u32 *pos,
					   __u16 *flags, __u16 trunc_flag)
{
	struct dentry *dentry;
	struct vfsmount *mnt;
	if (dirfd == AT_FDCWD) {
		struct fs_struct *fs = BPF_CORE_READ(task, fs);
		dentry = BPF_CORE_READ(fs, pwd.dentry);
		mnt = BPF_CORE_READ(fs, pwd.mnt);
	} else {
		struct file *dir = fd_file(task, dirfd);
		if (!dir)
			return -1;
		dentry = BPF_CORE_READ(dir, f_path.dentry);
		mnt = BPF_CORE_READ(dir, f_path.mnt);
	}
	return write_path(pos, dentry, mnt, flags, trunc_flag);
}

#define NAME_BYTES 4096   /* PATH_MAX */

/*
 * A name as a call passed it, written at buf + at (a constant: where the record's fixed part
 * ends), then, for a relative name, the components of the directory it is relative to (dirfd
 * or the cwd) after it; fills the record's name and path refs and sets *pos past them.
 * from_user: the name is a syscall argument in user memory, else a kernel copy (struct
 * filename). Returns -1 when there is nothing to report (no name, or dirfd names no open file).
 */
static __always_inline int write_name_in_dir(__u8 *buf, __u32 at, __u32 *pos, const void *src, int from_user,
					     struct task_struct *task, long dirfd, struct str_ref *name,
					     struct str_ref *path, __u16 *flags, __u16 name_trunc_flag,
					     __u16 path_trunc_flag)
{
	name->off = at;
	long n = from_user ? bpf_probe_read_user_str(buf + at, NAME_BYTES, src)
			   : bpf_probe_read_kernel_str(buf + at, NAME_BYTES, src);
	if (n <= 1)
		return -1;
	if (n == NAME_BYTES)
		*flags |= name_trunc_flag;
	name->len = n - 1;
	*pos = at + n - 1;
	path->off = *pos;
	path->len = 0;
	if (buf[at] != '/') {
		long len = write_dir_path(task, dirfd, pos, flags, path_trunc_flag);
		if (len < 0)
			return -1;
		path->len = len;
	}
	return 0;
}


/*
 * A tracepoint program on a syscall's exit that hands (nr, ret) to fn; named PREFIX_x_SYS,
 * the name its family's descriptor (src/families/<family>/index.ts) knows it by.
 */
#define SYSCALL_EXIT_PROG(prefix, sys, fn, nr)                                    \
	SEC("tracepoint/syscalls/sys_exit_" #sys)                                  \
	int prefix##_x_##sys(struct trace_event_raw_sys_exit *ctx)                 \
	{                                                                          \
		return fn(nr, ctx->ret);                                           \
	}

#endif
