// SPDX-License-Identifier: GPL-2.0
/*
 * Image family: ImageLoad (Sysmon 7) and the container context (cgroup migrations).
 *
 * Hooks: per-syscall tracepoints, so nothing runs for other syscalls, and every program is
 * attached only while the config logs its event (`programs` in src/families/image/index.ts):
 * with ImageLoad off (Sysmon's default) the mmap hooks cost nothing.
 *   image_e_mmap / image_x_mmap         mmap(PROT_EXEC) of a file (ld.so and dlopen map the
 *                                       text segment this way); reported when it succeeded
 *   image_e_mprotect / image_x_mprotect mprotect adding PROT_EXEC to a non-executable file
 *                                       mapping (bpf_find_vma on the start address)
 *   container_attach (tp_btf)           cgroup_attach_task: a process moved into a cgroup
 *                                       (docker/containerd/podman/nspawn do this before exec);
 *                                       always attached, it fires only on migrations
 */
#include "common.bpf.h"
#include "verdict.bpf.h"

#define PROT_EXEC       0x4
#define MAP_ANONYMOUS   0x20
#define VM_EXEC         0x4
#define CGROUP_PATH_BYTES 4096

/* An mmap/mprotect between its entry and its exit, by thread (pipes.bpf.c keeps its own:
 * a thread is in one syscall at a time, so the two never hold an entry for it at once). */
struct image_pending {
	struct file *file;   /* mprotect: the file of the mapping */
	__s32 fd;            /* mmap: the fd */
	__u32 prot;
	__u16 type;
	__u16 how;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct image_pending);
} image_pending SEC(".maps");


static __always_inline int remember(__u16 type, __u16 how, __s32 fd, __u32 prot, struct file *file)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct image_pending p = {};
	p.type = type;
	p.how = how;
	p.fd = fd;
	p.prot = prot;
	p.file = file;
	bpf_map_update_elem(&image_pending, &id, &p, BPF_ANY);
	return 0;
}

/* The pending entry of this thread, removed; 0 when there is none. */
static __always_inline int take(struct image_pending *out)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct image_pending *p = bpf_map_lookup_elem(&image_pending, &id);
	if (!p)
		return 0;
	*out = *p;
	bpf_map_delete_elem(&image_pending, &id);
	return 1;
}

/* ---- ImageLoad (7) ---- */

static __always_inline void emit_image(struct file *file, __u32 how, __u32 prot)
{
	if (!file)
		return;
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	if (!inode)
		return;
	struct task_struct *task = current_task();
	/* a verdict that drops this process's ImageLoads: no path walk, no ring space */
	__u32 ti;
	struct kf_table *t = kf_loaded_table(&ti);
	__u32 bits = t ? pv_bits(t, BPF_CORE_READ(task, tgid), BPF_CORE_READ(task, group_leader, start_boottime), PV_IMAGE) : 0;
	if (bits & PV_DROP_ALL) {
		kf_count(KF_STAT_PV_DROPPED);
		return;
	}
	__u8 *buf = scratch_or_drop();
	if (!buf)
		return;
	struct image_record *r = (void *)buf;
	fill_header(&r->hdr, RECORD_IMAGE_LOAD, task);
	if (t)
		kf_mark(&r->hdr, t);
	r->cgroup_id = bpf_get_current_cgroup_id();
	r->how = how;
	r->prot = prot;
	r->ino = BPF_CORE_READ(inode, i_ino);
	r->size = BPF_CORE_READ(inode, i_size);
	r->mtime_ns = inode_mtime_ns(inode);
	r->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	r->mode = BPF_CORE_READ(inode, i_mode);
	__u32 pos = sizeof(*r);
	r->path.off = pos;
	r->path.len = write_path(&pos, BPF_CORE_READ(file, f_path.dentry), BPF_CORE_READ(file, f_path.mnt),
				 &r->hdr.flags, RECORD_FLAG_EXE_TRUNCATED);
	r->hdr.size = pos;
	/* ... or drops them unless ImageLoaded may match an include filter on it */
	if ((bits & PV_DROP_UNLESS) && t && !(r->hdr.flags & RECORD_FLAG_EXE_TRUNCATED) &&
	    pv_quiet_path(t, buf, r->path.off, r->path.len)) {
		kf_count(KF_STAT_PV_DROPPED);
		return;
	}
	emit_sized(r, pos);
}

#define ARG(i) ((__u64)ctx->args[i])

static __always_inline int failed(long ret)
{
	return ret < 0 && ret > -4096;
}

SEC("tracepoint/syscalls/sys_enter_mmap")
int image_e_mmap(struct trace_event_raw_sys_enter *ctx)
{
	__u32 prot = ARG(2);
	__u32 flags = ARG(3);
	__s32 fd = ARG(4);
	if (!(prot & PROT_EXEC) || (flags & MAP_ANONYMOUS) || fd < 0)
		return 0;
	return remember(RECORD_IMAGE_LOAD, IMAGE_VIA_MMAP, fd, prot, 0);
}

SEC("tracepoint/syscalls/sys_exit_mmap")
int image_x_mmap(struct trace_event_raw_sys_exit *ctx)
{
	struct image_pending e;
	if (!take(&e) || e.type != RECORD_IMAGE_LOAD || failed(ctx->ret))
		return 0;
	emit_image(fd_file(current_task(), e.fd), IMAGE_VIA_MMAP, e.prot);
	return 0;
}

struct vma_probe { struct file *file; };

static long vma_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct vma_probe *v = data;
	unsigned long flags = BPF_CORE_READ(vma, vm_flags);
	if (!(flags & VM_EXEC))
		v->file = BPF_CORE_READ(vma, vm_file);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_mprotect")
int image_e_mprotect(struct trace_event_raw_sys_enter *ctx)
{
	__u32 prot = ARG(2);
	if (!(prot & PROT_EXEC))
		return 0;
	struct vma_probe v = {};
	bpf_find_vma(bpf_get_current_task_btf(), ARG(0), vma_cb, &v, 0);
	if (!v.file)
		return 0;
	return remember(RECORD_IMAGE_LOAD, IMAGE_VIA_MPROTECT, -1, prot, v.file);
}

SEC("tracepoint/syscalls/sys_exit_mprotect")
int image_x_mprotect(struct trace_event_raw_sys_exit *ctx)
{
	struct image_pending e;
	if (!take(&e) || e.type != RECORD_IMAGE_LOAD || ctx->ret != 0)
		return 0;
	emit_image(e.file, IMAGE_VIA_MPROTECT, e.prot);
	return 0;
}

/* ---- container context: a task moved into a cgroup ---- */

SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(container_attach, struct cgroup *dst_cgrp, const char *path, struct task_struct *task, bool threadgroup)
{
	__u8 *buf = scratch_or_drop();
	if (!buf)
		return 0;
	struct cgroup_record *r = (void *)buf;
	fill_header(&r->hdr, RECORD_CGROUP_ATTACH, task);
	r->cgroup_id = BPF_CORE_READ(dst_cgrp, kn, id);
	r->start_boot_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	r->hierarchy_id = BPF_CORE_READ(dst_cgrp, root, hierarchy_id);
	r->threadgroup = threadgroup;
	__u32 pos = sizeof(*r);
	r->path.off = pos;
	r->path.len = 0;
	if (path) {
		long n = bpf_probe_read_kernel_str(buf + pos, CGROUP_PATH_BYTES, path);
		if (n > 1) {
			r->path.len = n - 1;
			pos += n - 1;
		}
	}
	r->hdr.size = pos;
	emit_sized(r, pos);
	return 0;
}

/* Never used at run time: put the record layouts in the object's BTF for the layout test. */
struct image_record *layout_image_record __attribute__((unused));
struct cgroup_record *layout_cgroup_record __attribute__((unused));
