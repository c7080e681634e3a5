// SPDX-License-Identifier: GPL-2.0
/* Process family: exec (Sysmon 1), fork (process state), exit (Sysmon 5). */
#include "common.bpf.h"
#include "verdict.bpf.h"

SEC("tp_btf/sched_process_exec")
int BPF_PROG(process_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u8 *buf = scratch_or_drop();
	if (!buf)
		return 0;
	struct exec_record *r = (void *)buf;
	__u32 pos = sizeof(*r);

	fill_header(&r->hdr, RECORD_PROCESS_EXEC, task);
	fill_ids(&r->ids, task);

	struct file *file = BPF_CORE_READ(bprm, file);
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	r->cgroup_id = bpf_get_current_cgroup_id();
	r->exe_ino = BPF_CORE_READ(inode, i_ino);
	r->exe_size = BPF_CORE_READ(inode, i_size);
	r->exe_mtime_ns = inode_mtime_ns(inode);
	r->exe_dev = BPF_CORE_READ(inode, i_sb, s_dev);
	struct tty_struct *tty = BPF_CORE_READ(task, signal, tty);
	r->tty = tty ? ((__u32)BPF_CORE_READ(tty, driver, major) << 20) | ((__u32)BPF_CORE_READ(tty, index) & 0xfffff) : 0;
	/* the same css_set as the parent: the agent reuses the parent's container context
	 * instead of reading /proc/PID/cgroup (~60-140 us on a host with v1 hierarchies) */
	if (BPF_CORE_READ(task, cgroups) == BPF_CORE_READ(task, real_parent, cgroups))
		r->hdr.flags |= RECORD_FLAG_PARENT_CGROUPS;
	r->exe.off = pos;
	r->exe.len = write_path(&pos, BPF_CORE_READ(file, f_path.dentry),
				BPF_CORE_READ(file, f_path.mnt), &r->hdr.flags, RECORD_FLAG_EXE_TRUNCATED);

	struct fs_struct *fs = BPF_CORE_READ(task, fs);
	r->cwd.off = pos;
	r->cwd.len = write_path(&pos, BPF_CORE_READ(fs, pwd.dentry), BPF_CORE_READ(fs, pwd.mnt),
				&r->hdr.flags, RECORD_FLAG_CWD_TRUNCATED);

	r->comm.off = pos;
	long n = bpf_probe_read_kernel_str(buf + str_pos(pos), 16, __builtin_preserve_access_index(&task->comm));
	r->comm.len = n > 1 ? n - 1 : 0;
	pos += r->comm.len;

	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	__u64 arg_start = BPF_CORE_READ(mm, arg_start);
	__u64 arg_end = BPF_CORE_READ(mm, arg_end);
	__u64 len = arg_end > arg_start ? arg_end - arg_start : 0;
	if (len > MAX_ARGS_BYTES) {
		len = MAX_ARGS_BYTES;
		r->hdr.flags |= RECORD_FLAG_ARGS_TRUNCATED;
	}
	pos = str_pos(pos);
	r->args.off = pos;
	r->args.len = 0;
	if (len > 0 && bpf_probe_read_user(buf + pos, len, (void *)arg_start) == 0)
		r->args.len = len;

	r->hdr.size = pos + r->args.len;
	/* before the record is out: no verdict of the old image applies to what follows it */
	pv_on_exec(r->hdr.tgid, r->hdr.boot_ns);
	/* the image's verdict only with its record in the ring: a process whose exec user space
	 * never saw (a full ring, reported as RingDrops) is not judged by an image it does not know */
	if (emit(r, r->hdr.size) == 0)
		pv_exec_by_image(r, buf);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(process_fork, struct task_struct *parent, struct task_struct *child)
{
	/* threads share their process's identity: only new thread groups matter */
	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0;
	struct fork_record r = {};
	fill_header(&r.hdr, RECORD_PROCESS_FORK, child);
	fill_ids(&r.ids, child);
	r.hdr.size = sizeof(r);
	if (bpf_ringbuf_output(&events, &r, sizeof(r), RB_FLAGS))
		count_drop();
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(process_exit, struct task_struct *task)
{
	/* one event per process: when its last thread is gone */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	struct exit_record r = {};
	fill_header(&r.hdr, RECORD_PROCESS_EXIT, task);
	fill_ids(&r.ids, task);
	r.exit_code = BPF_CORE_READ(task, exit_code);
	r.hdr.size = sizeof(r);
	pv_on_exit(r.hdr.tgid);
	if (bpf_ringbuf_output(&events, &r, sizeof(r), RB_FLAGS))
		count_drop();
	return 0;
}

/* Never used at run time: puts the record layouts in the object's BTF so the layout test
 * can compare them with the generated layouts (`structs` in src/families/process/index.ts). */
struct exec_record *layout_exec_record __attribute__((unused));
struct fork_record *layout_fork_record __attribute__((unused));
struct exit_record *layout_exit_record __attribute__((unused));
